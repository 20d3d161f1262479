"""The user's path through the ERP Integrations tool, in a real browser."""

import re

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from erpsync.demo import generator
from erpsync.erp.models import StagedJob, StagedJobStatus
from erpsync.projects.models import Project

pytestmark = pytest.mark.django_db(transaction=True)


def job_row(page, job_code):
    return page.locator("#jobs tbody tr").filter(has=page.locator("td:first-child", has_text=re.compile(f"^{job_code}$")))


def test_a_project_manager_adds_a_cmic_job_as_a_project(demo, sign_in, screenshot):
    # Sign in as the project manager; navigate to the company's ERP Integrations tool.
    page = sign_in("pm", "demo-pm")
    page.get_by_role("link", name="ERP Integrations").click()
    # Click the Jobs subtab; in the filters, click Ready to Import.
    page.get_by_role("navigation", name="ERP Integrations").get_by_role("link", name="Jobs").click()
    page.get_by_role("link", name=re.compile("^Ready to Import")).click()
    screenshot("jobs-ready-to-import")
    # Review the job: the CMiC ID becomes the project number, the name the project title.
    row = job_row(page, "25102")
    expect(page.get_by_role("columnheader", name="CMiC ID")).to_be_visible()
    job = StagedJob.objects.get(job_code="25102")
    expect(row.locator("td").nth(1)).to_have_text("Ready")
    expect(row.locator("td").nth(2)).to_contain_text(job.name)
    # Pick a project template, then Add.
    row.get_by_label("Project template for 25102").select_option(label="Healthcare")
    row.get_by_role("button", name="Add").click()
    message = page.locator("#messages")
    expect(message).to_contain_text(f"Job 25102 was added as project 25102 {job.name}")
    expect(job_row(page, "25102")).to_have_count(0)
    # Find the project with its cost codes, cost types and job costs.
    message.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"25102 · {job.name}")
    project = Project.objects.get(project_number="25102")
    assert project.template.name == "Healthcare" and project.cost_codes.exists()
    first_leaf = project.cost_codes.filter(parent__isnull=False, sub_job=None).order_by("code").first()
    tree = page.locator("#cost-codes")
    division = first_leaf
    while division.parent_id:
        division = division.parent
    tree.locator(f"#division-{division.pk} summary").click()  # a division opens to show its cost codes
    expect(tree).to_contain_text(f"{first_leaf.code} {first_leaf.description}")
    cost_type = first_leaf.budget_lines.first().cost_type
    expect(tree.locator(".badge", has_text=f"{cost_type.code} {cost_type.name}").first).to_be_visible()
    expect(page.locator("table.job-costs tr.total")).to_contain_text("Project total")
    page.locator(f"#costs-{division.pk} a").click()  # and a division's job costs, line by line
    expect(page.locator(f"#costs-{division.pk}")).to_contain_text(first_leaf.code)
    screenshot("project")
    page.get_by_role("link", name="ERP Integrations").click()
    page.get_by_role("link", name="Job Costs").click()
    page.get_by_label("Synced job").select_option(label=f"25102 {job.name}")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("svg.chart")).to_be_visible()
    screenshot("job-costs")


def test_a_job_with_a_cost_code_without_cost_type_cannot_be_added(demo, sign_in, screenshot):
    page = sign_in("pm", "demo-pm")
    page.goto("/erp/jobs/?q=" + generator.JOB_WITHOUT_CATEGORY)
    row = job_row(page, generator.JOB_WITHOUT_CATEGORY)
    expect(row).to_contain_text("3 cost codes have no cost type")
    expect(row.get_by_role("button", name="Add")).to_be_disabled()
    expect(row.get_by_role("button", name="Add")).to_have_accessible_description(re.compile("^3 cost codes have no cost type"))
    screenshot("blocked-job")


def test_archive_asks_then_restore_brings_the_job_back(demo, sign_in):
    page = sign_in("pm", "demo-pm")
    page.goto("/erp/jobs/")
    page.once("dialog", lambda dialog: dialog.accept())
    job_row(page, "25103").get_by_role("link", name="Archive job 25103").click()
    expect(page.locator("#messages")).to_contain_text("Job 25103 was archived")
    expect(job_row(page, "25103")).to_have_count(0)
    assert StagedJob.objects.get(job_code="25103").status == StagedJobStatus.ARCHIVED
    page.get_by_role("link", name=re.compile("^Archived")).click()
    job_row(page, "25103").get_by_role("button", name="Restore").click()
    expect(page.locator("#messages")).to_contain_text("Job 25103 is back in Ready to Import")
    assert StagedJob.objects.get(job_code="25103").status == StagedJobStatus.READY


def test_dismissing_the_archive_question_keeps_the_job(demo, sign_in):
    page = sign_in("pm", "demo-pm")
    page.goto("/erp/jobs/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    job_row(page, "25104").get_by_role("link", name="Archive job 25104").click()
    expect(job_row(page, "25104")).to_have_count(1)
    assert StagedJob.objects.get(job_code="25104").status == StagedJobStatus.READY


def test_the_project_limit_banner_disables_add(demo, sign_in):
    from erpsync.companies.models import Company

    company = Company.objects.get(slug="demo-builders")
    company.project_limit = company.projects.count()
    company.save()
    page = sign_in("pm", "demo-pm")
    page.goto("/erp/jobs/")
    expect(page.get_by_role("alert")).to_contain_text(f"has reached its project limit: {company.project_limit} of {company.project_limit} projects")
    expect(job_row(page, "25102").get_by_role("button", name="Add")).to_be_disabled()


def test_a_read_only_user_sees_why_add_archive_and_refresh_are_disabled(demo, sign_in):
    page = sign_in("viewer", "demo-viewer")
    page.goto("/erp/jobs/")
    row = job_row(page, "25102")
    expect(row.get_by_role("button", name="Add")).to_be_disabled()
    expect(row.get_by_role("button", name="Add")).to_have_accessible_description(re.compile("Adding a job as a project needs"))
    expect(row.get_by_role("button", name="✕ Archive")).to_be_disabled()
    expect(row.get_by_label("Project template for 25102")).to_be_disabled()
    refresh = page.get_by_role("button", name=re.compile("^Refresh"))
    expect(refresh).to_be_disabled()
    expect(refresh).to_have_accessible_description(re.compile("^Refreshing from the ERP needs"))


def test_refresh_shows_its_progress_and_updates_the_list(demo, sign_in, export_root, screenshot):
    from conftest import ExportBuilder
    from erpsync.erp.models import ErpConnection

    export = ExportBuilder(export_root / "demo-builders" / "refresh-test")

    export.standard_job("26001", "New Harbor Pier")
    export.company_code = "DB01"
    for rows in export.rows.values():
        for row in rows:
            row["company_code"] = "DB01"
    export.write()
    ErpConnection.objects.update(settings={"folder": export.folder.name})
    page = sign_in("accountant", "demo-accountant")
    page.goto("/erp/jobs/")
    page.get_by_role("button", name="Refresh from CMiC").click()
    panel = page.locator("#refresh-progress")
    expect(panel).to_contain_text("Refreshing CMiC (demo export)")
    expect(panel.locator("progress")).to_be_visible()
    screenshot("refresh-progress")
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    expect(job_row(page, "26001")).to_contain_text("New Harbor Pier")
    expect(page.locator("#refresh-progress")).to_contain_text("1 job, 1 new")

"""Linking the demo job whose number a hand-typed project already uses, from the suggestion erpsync makes."""

import re

from playwright.sync_api import expect


def test_an_admin_links_the_blocked_demo_job_to_the_project_typed_in_by_hand(demo, sign_in, screenshot):
    from erpsync.erp.models import StagedJob
    from erpsync.projects.models import CostCode, Project

    projects = Project.objects.count()
    by_hand = Project.objects.get(project_number="25124")
    job = StagedJob.objects.get(job_code="25124", controlling_code="")
    page = sign_in("admin", "demo-admin")
    page.goto("/erp/jobs/")
    page.get_by_role("link", name="25124", exact=True).click()
    expect(page.locator("#problems")).to_contain_text("already used by project 25124 Warehouse bid (entered by hand)")
    page.get_by_role("link", name="Link to existing project").click()

    suggestion = page.locator("#suggestions li").first
    expect(suggestion).to_contain_text("Warehouse bid (entered by hand)")
    expect(suggestion).to_contain_text("Project number 25124 is the job code")
    screenshot("link-suggestions")
    suggestion.get_by_role("link").click()

    expect(page.get_by_role("heading", level=2)).to_contain_text("to project 25124 Warehouse bid (entered by hand)")
    expect(page.get_by_text(re.compile(r"To add: \d+ cost codes?\s+and \d+ cost type assignments?"))).to_be_visible()
    screenshot("link-preview")
    page.get_by_role("button", name="Link job 25124 to project 25124").click()

    expect(page.locator("#messages")).to_contain_text("Job 25124 is linked to project 25124 Warehouse bid (entered by hand)")
    expect(page.locator(".job-title .status")).to_have_text("Synced")
    job.refresh_from_db()
    assert (job.status, job.project_id) == ("synced", by_hand.pk)
    assert Project.objects.count() == projects  # no project was made
    assert CostCode.objects.filter(project=by_hand, sub_job=None).count() == job.cost_code_count

    page.locator("#messages").get_by_role("link", name="25124 Warehouse bid (entered by hand)").click()
    expect(page.get_by_text("ERP job")).to_be_visible()
    expect(page.locator("main")).to_contain_text("25124 (DB01)")

import json

import pytest
from django.core.management import CommandError, call_command

from erpsync.erp.models import StagedJob, StagedJobStatus
from erpsync.projects.models import Project, ProjectTemplate


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def refreshed(connection):
    run("erp_refresh")
    return connection


def test_erp_refresh_reports_counts(connection):
    assert run("erp_refresh") == "Refreshed CMiC: 1 job (1 new, 0 changed), 3 cost codes, 3 budget lines.\n"


def test_erp_refresh_as_a_user_checks_their_permissions(connection, pm):
    with pytest.raises(CommandError, match="needs Standard or Admin on ERP Integrations and the Can Push to Accounting"):
        run("erp_refresh", "--user", "pm")


def test_erp_jobs_json_lists_jobs_with_their_problems(refreshed, export):
    rows = json.loads(run("erp_jobs", "--json"))
    assert [(r["job_code"], r["kind"], r["cost_codes"], r["problems"], r["sub_jobs"]) for r in rows] == [("24001", "job", 3, [], [])]
    assert json.loads(run("erp_jobs", "--status", "synced", "--json")) == []


def test_erp_jobs_lists_sub_jobs_under_their_control_job_as_the_jobs_page_does(connection, export):
    export.job("24001-01", "Site work", controlling="24001").phase("24001-01", "01", "General")
    export.write()
    run("erp_refresh")
    (row,) = json.loads(run("erp_jobs", "--json"))
    (sub,) = row["sub_jobs"]
    assert (row["job_code"], sub["job_code"], sub["kind"], sub["control_job"]) == ("24001", "24001-01", "sub job", "24001")
    assert row["problems"] == ["Sub job 24001-01: 1 cost code has no cost type: 01. Assign a category to each in the ERP, then refresh."]
    text = run("erp_jobs")
    assert "  sub job 24001-01" in text and text.endswith("1 job.\n")


def test_erp_import_with_a_template_then_sync_job_costs(refreshed, company, pm):
    ProjectTemplate.objects.create(company=company, name="Commercial", office="Boston")
    result = json.loads(run("erp_import", "24001", "--user", "pm", "--template", "Commercial", "--json"))
    assert (result["project_number"], result["template"]) == ("24001", "Commercial")
    assert Project.objects.get().office == "Boston"
    assert "24001: succeeded" in run("erp_sync_job_costs", "24001")


def test_erp_import_names_the_templates_when_one_is_unknown(refreshed, company, pm):
    ProjectTemplate.objects.create(company=company, name="Commercial")
    with pytest.raises(CommandError, match="has no template 'Nope'; templates: Commercial."):
        run("erp_import", "24001", "--user", "pm", "--template", "Nope")


def test_erp_import_refusals_are_one_line_messages(refreshed, viewer):
    with pytest.raises(CommandError, match="^Adding a job as a project needs"):
        run("erp_import", "24001", "--user", "viewer", "--no-template")
    with pytest.raises(CommandError, match="has no ERP job '99999'"):
        run("erp_import", "99999", "--user", "viewer", "--no-template")


def test_archive_and_unarchive(refreshed, pm):
    assert run("erp_archive", "24001", "--user", "pm") == "Job 24001 is now Archived.\n"
    assert StagedJob.objects.get().status == StagedJobStatus.ARCHIVED
    assert json.loads(run("erp_unarchive", "24001", "--user", "pm", "--json")) == {"job_code": "24001", "status": "ready"}


def test_a_user_of_several_companies_names_the_company(refreshed, pm, other_company):
    from erpsync.companies.models import Membership

    Membership.objects.create(user=pm, company=other_company)
    with pytest.raises(CommandError, match="Name the company with --company."):
        run("erp_archive", "24001", "--user", "pm")
    assert "Archived" in run("erp_archive", "24001", "--user", "pm", "--company", "acme")
    with pytest.raises(CommandError, match="There is no company 'nope' that pm belongs to."):
        run("erp_archive", "24001", "--user", "pm", "--company", "nope")


def test_erp_jobs_shows_an_added_job_with_its_project_not_what_would_block_adding_it(refreshed, export, pm):
    run("erp_import", "24001", "--user", "pm", "--no-template")
    export.phase("24001", "03-500", "Grout", "03").write()  # a new leaf without a cost type, after the job was added
    run("erp_refresh")
    text = run("erp_jobs", "--status", "synced")
    assert "project 24001" in text and "blocked" not in text and "no cost type" not in text


def test_a_job_code_two_connections_stage_is_picked_by_connection(connection, export, company, pm):
    from erpsync.erp.models import ErpConnection

    run("erp_refresh")
    ErpConnection.objects.create(company=company, name="Second", kind="cmic_files", settings={"folder": export.folder.name})
    run("erp_refresh", "--connection", "Second")
    with pytest.raises(CommandError, match="exists in more than one ERP company or connection; name the connection with --connection"):
        run("erp_import", "24001", "--user", "pm", "--no-template")
    assert "Job 24001 is project 24001" in run("erp_import", "24001", "--user", "pm", "--no-template", "--connection", "Second")
    assert StagedJob.objects.get(connection__name="Second", job_code="24001").status == StagedJobStatus.SYNCED

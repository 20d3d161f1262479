"""erp_link, erp_unlink and erp_refresh_cost_codes: what a user at a terminal sees and gets."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from erpsync.erp.models import StagedJob, StagedJobStatus
from erpsync.erp.services import erp_refresh
from erpsync.projects.models import CostCode, Project


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


@pytest.fixture
def by_hand(refreshed, company):
    project = Project.objects.create(company=company, project_number="24001", name="Harbor office (bid)")
    CostCode.objects.create(project=project, code="03", description="Concrete works")
    return project


def test_erp_link_without_a_project_lists_the_suggestions(by_hand, admin):
    listed = json.loads(run("erp_link", "24001", "--user", "admin", "--json"))
    assert [(s["project_number"], s["reasons"][0]) for s in listed] == [("24001", "Project number 24001 is the job code")]
    assert "24001\tHarbor office (bid)\t" in run("erp_link", "24001", "--user", "admin")


def test_erp_link_dry_run_prints_the_preview_and_changes_nothing(by_hand, admin):
    out = run("erp_link", "24001", "24001", "--user", "admin", "--dry-run")
    assert "rename cost code 03: 'Concrete works' → 'Concrete'" in out and "add cost code 03-300" in out
    preview = json.loads(run("erp_link", "24001", "24001", "--user", "admin", "--dry-run", "--json"))
    assert preview["cost_codes_renamed"] == [{"job": "24001", "code": "03", "from": "Concrete works", "to": "Concrete"}]
    assert StagedJob.objects.get(job_code="24001").status == StagedJobStatus.READY
    assert CostCode.objects.get(project=by_hand, code="03").description == "Concrete works"


def test_erp_link_links_then_erp_unlink_archives(by_hand, admin, pm):
    assert "is linked to project 24001 Harbor office (bid)" in run("erp_link", "24001", "24001", "--user", "admin")
    assert CostCode.objects.filter(project=by_hand).count() == 3
    out = json.loads(run("erp_unlink", "24001", "--user", "pm", "--archive", "--json"))
    assert out == {"job_code": "24001", "status": "archived", "project_number": "24001"}


def test_erp_link_refusals_are_one_line(by_hand, pm, viewer):
    with pytest.raises(CommandError, match="^Linking a job to an existing project needs Admin on ERP Integrations.$"):
        run("erp_link", "24001", "--user", "viewer")  # not even the suggestions
    with pytest.raises(CommandError, match="^Linking a job to an existing project needs Admin on ERP Integrations.$"):
        run("erp_link", "24001", "24001", "--user", "pm")
    with pytest.raises(CommandError, match="has no project 'nope'"):
        run("erp_link", "24001", "nope", "--user", "pm")


def test_erp_refresh_cost_codes_dry_run_then_apply(refreshed, export, connection, pm, accountant):
    run("erp_import", "24001", "--user", "pm", "--no-template")
    export.phase("24001", "03-500", "Formwork", "03").line("24001", "03-500", "L", "250.50").write()
    erp_refresh(connection=connection)
    assert StagedJob.objects.get(job_code="24001").new_cost_codes == 1
    assert "project 24001, 1 new cost code in the ERP" in run("erp_jobs", "--status", "synced")
    dry = json.loads(run("erp_refresh_cost_codes", "24001", "--user", "accountant", "--dry-run", "--json"))
    assert dry["applied"] is False and dry["cost_codes_to_add"] == [{"job": "24001", "code": "03-500", "name": "Formwork"}]
    assert not CostCode.objects.filter(code="03-500").exists()
    assert "add cost code 03-500 Formwork" in run("erp_refresh_cost_codes", "24001", "--user", "accountant")
    assert CostCode.objects.filter(code="03-500").exists() and StagedJob.objects.get(job_code="24001").new_cost_codes == 0
    assert "nothing to change" in run("erp_refresh_cost_codes", "24001", "--user", "accountant", "--dry-run")


def test_a_dry_run_that_would_be_refused_fails_and_an_existing_link_is_said(by_hand, admin, connection, export):
    export.phase("24001", "03-500", "Formwork", "03").write()
    erp_refresh(connection=connection)
    with pytest.raises(CommandError, match="cannot be linked yet"):
        run("erp_link", "24001", "24001", "--user", "admin", "--dry-run")
    export.rows["cost_codes"].pop()
    export.write()
    erp_refresh(connection=connection)
    run("erp_link", "24001", "24001", "--user", "admin")
    assert "is linked to project 24001 Harbor office (bid) already" in run("erp_link", "24001", "24001", "--user", "admin")

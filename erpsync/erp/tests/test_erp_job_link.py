"""Linking an ERP job to a project typed in before the integration, unlinking it, and refreshing its cost codes."""

from datetime import date
from decimal import Decimal

import pytest

from erpsync.erp.models import AuditEvent, ErpSettings, StagedJob, StagedJobStatus, SyncRun
from erpsync.erp.services import (
    cost_codes_preview,
    cost_codes_refresh,
    erp_job_import,
    erp_job_link,
    erp_job_unlink,
    erp_refresh,
    job_costs_sync,
    link_preview,
    link_suggestions,
)
from erpsync.errors import ApplicationError, ImportBlocked, PermissionRefused
from erpsync.projects.models import BudgetLine, CostCode, CostTransaction, CostType, JobCost, Project


@pytest.fixture
def job(refreshed):
    return StagedJob.objects.select_related("connection", "company").get(job_code="24001")


@pytest.fixture
def by_hand(company):
    """A project typed in by hand before the integration: the job's number, a code of its own and one the ERP names otherwise."""
    project = Project.objects.create(company=company, project_number="24001", name="Harbor office (bid)", city="Boston", state="MA")
    labor = CostType.objects.create(company=company, code="L", name="Labour (hand)")
    concrete = CostCode.objects.create(project=project, code="03", description="Concrete works")
    cast = CostCode.objects.create(project=project, code="03-300", description="Cast in place (hand)", parent=concrete)
    CostCode.objects.create(project=project, code="99", description="Owner allowance")
    line = BudgetLine.objects.create(project=project, cost_code=cast, cost_type=labor)
    JobCost.objects.create(budget_line=line, as_of="2025-01-01T00:00Z", original_budget=Decimal("777.77"), approved_changes=0,
                           revised_budget=Decimal("777.77"), committed_cost=0, job_to_date_cost=Decimal("5.00"),
                           job_to_date_units=0, month_to_date_cost=0, percent_complete=0)
    CostTransaction.objects.create(budget_line=line, erp_key="HAND-1", date="2025-01-15", amount=Decimal("5.00"), units=0)
    return project


def figures(project):
    return {(bl.cost_code.code, bl.cost_type.code): (bl.job_cost.original_budget, bl.job_cost.revised_budget, bl.job_cost.job_to_date_cost)
            for bl in BudgetLine.objects.filter(project=project).select_related("cost_code", "cost_type", "job_cost")}


def test_the_project_with_the_jobs_number_is_suggested_first_with_its_reasons(job, by_hand, company):
    Project.objects.create(company=company, project_number="31990", name="Harbour Office Building", city="Boston", state="MA",
                           start_date=date(2025, 3, 1))
    Project.objects.create(company=company, project_number="77777", name="Unrelated warehouse", city="Denver", state="CO")
    suggestions = link_suggestions(job)
    assert [s.project.project_number for s in suggestions] == ["24001", "31990"]
    assert "Project number 24001 is the job code" in suggestions[0].reasons
    assert any(r.startswith("Name") for r in suggestions[1].reasons) and "Same start date" in suggestions[1].reasons


def test_a_project_linked_to_a_job_is_never_suggested(job, company, pm, connection, export):
    export.standard_job("24002", "Harbor Office Building II").write()
    erp_refresh(connection=connection)
    erp_job_import(job=StagedJob.objects.get(job_code="24002"), template=None, user=pm)
    assert [s.project.project_number for s in link_suggestions(job)] == []


def test_the_preview_lists_what_linking_changes(job, by_hand, admin):
    preview = link_preview(job=job, project=by_hand, user=admin)
    plan = preview.plan
    assert plan.problems == []
    assert plan.renamed == [("24001", "03", "Concrete works", "Concrete"), ("24001", "03-300", "Cast in place (hand)", "Cast-in-Place")]
    assert plan.codes_to_add == [("24001", "03-400", "Precast")]
    assert plan.lines_to_add == [("24001", "03-300", "M"), ("24001", "03-400", "S")]
    assert plan.lines_taken_over == [("24001", "03-300", "L")]
    assert plan.types_to_add == [("M", "Material"), ("S", "Subcontract")]
    assert plan.types_renamed == [("L", "Labour (hand)", "Labor")]
    assert plan.only_in_project == 1
    assert plan.moved == []
    assert (plan.kept_lines, plan.kept_budget, plan.kept_cost) == (0, 0, 0)  # its one line is the ERP's too
    assert CostCode.objects.get(project=by_hand, code="03").description == "Concrete works"  # a preview writes nothing


def test_linking_merges_the_job_without_counting_anything_twice(job, by_hand, admin, company):
    projects = Project.objects.count()
    project = erp_job_link(job=job, project=by_hand, user=admin)
    assert project.pk == by_hand.pk and Project.objects.count() == projects
    job.refresh_from_db()
    assert (job.status, job.project_id, job.problems) == (StagedJobStatus.SYNCED, by_hand.pk, [])
    project.refresh_from_db()
    assert (project.erp_kind, project.erp_company_code, project.erp_job_code, project.name) == (
        "cmic_files", "AC01", "24001", "Harbor office (bid)")  # the project keeps its own number and name
    assert CostType.objects.get(company=company, code="L").name == "Labor"  # the ERP's category name
    codes = {c.code: (c.description, c.active, c.from_erp) for c in CostCode.objects.filter(project=project)}
    assert codes == {"03": ("Concrete", True, True), "03-300": ("Cast-in-Place", True, True), "03-400": ("Precast", True, True),
                     "99": ("Owner allowance", True, False)}
    # The hand-typed labor line is the ERP's now: its figures are the ERP's, not added to them.
    assert figures(project) == {
        ("03-300", "L"): (Decimal("12500.10"), Decimal("13000.10"), Decimal("3000.15")),
        ("03-300", "M"): (Decimal("40000.00"), Decimal("40000.00"), Decimal("0.00")),
        ("03-400", "S"): (Decimal("99999.99"), Decimal("99999.99"), Decimal("0.01")),
    }
    # The hand-typed posted cost stays on record, but no longer counts: the line's costs are the ERP's.
    assert CostTransaction.objects.filter(budget_line__project=project, from_erp=True).count() == 3
    assert CostTransaction.objects.filter(budget_line__project=project, from_erp=False).get().erp_key == "HAND-1"
    event = AuditEvent.objects.get(action="erp_job.linked")
    assert {k: event.before[k] for k in ("erp_job", "procore_id", "job_status")} == {"erp_job": None, "procore_id": None, "job_status": "ready"}
    assert event.before["replaced_figures"] == [{"code": "03-300", "cost_type": "L", "original_budget": "777.77", "approved_changes": "0.00",
                                                 "revised_budget": "777.77", "committed_cost": "0.00", "job_to_date_cost": "5.00",
                                                 "percent_complete": "0.00"}]
    assert event.after["erp_job"] == "24001" and {"code": "03-300", "from": "Cast in place (hand)", "to": "Cast-in-Place"} in event.after["renamed"]
    assert SyncRun.objects.get(kind="link").outcome == "succeeded"


def test_linking_twice_changes_nothing_more_and_a_job_cost_sync_agrees(job, by_hand, admin, accountant):
    erp_job_link(job=job, project=by_hand, user=admin)
    before = figures(by_hand)
    assert erp_job_link(job=job, project=by_hand, user=admin).pk == by_hand.pk
    run = job_costs_sync(project=by_hand, user=accountant)
    assert figures(by_hand) == before and run.counts["job_costs_changed"] == 0
    assert CostTransaction.objects.filter(budget_line__project=by_hand).count() == 4  # 3 from the ERP, once each, and the hand one
    assert AuditEvent.objects.filter(action="erp_job.linked").count() == 1


def test_linking_needs_admin_on_erp_integrations(job, by_hand, pm):
    with pytest.raises(PermissionRefused, match="Admin on ERP Integrations"):
        erp_job_link(job=job, project=by_hand, user=pm)
    job.refresh_from_db()
    assert job.status == StagedJobStatus.READY


def test_a_project_linked_to_another_job_is_refused_naming_the_job(job, admin, pm, connection, export):
    export.standard_job("24002", "Riverside Clinic").write()
    erp_refresh(connection=connection)
    other = erp_job_import(job=StagedJob.objects.get(job_code="24002"), template=None, user=pm)
    with pytest.raises(ImportBlocked, match="already linked to job 24002 Riverside Clinic"):
        erp_job_link(job=job, project=other, user=admin)
    assert CostCode.objects.filter(project=other).count() == 3


def test_a_job_with_a_leaf_without_cost_type_cannot_be_linked(connection, export, by_hand, admin):
    export.phase("24001", "03-500", "Formwork", "03").write()
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24001")
    with pytest.raises(ImportBlocked, match="03-500"):
        erp_job_link(job=job, project=by_hand, user=admin)
    assert not CostCode.objects.filter(project=by_hand, code="03-400").exists()


def test_unlink_keeps_the_project_and_stops_job_cost_syncing(job, by_hand, admin, accountant, pm):
    erp_job_link(job=job, project=by_hand, user=admin)
    kept = figures(by_hand)
    job = erp_job_unlink(job=job, user=pm)
    assert (job.status, job.project_id) == (StagedJobStatus.READY, None)
    by_hand.refresh_from_db()
    assert by_hand.erp_job_code == "" and figures(by_hand) == kept
    with pytest.raises(ApplicationError, match="not linked to an ERP job"):
        job_costs_sync(project=by_hand, user=accountant)
    # Its number is the hand project's again: the job says so, and can be linked again.
    assert [p["code"] for p in job.problems] == ["number_taken"]
    erp_job_link(job=job, project=by_hand, user=admin)
    assert AuditEvent.objects.filter(action="erp_job.unlinked").get().after["status"] == "ready"


def test_after_unlink_the_job_can_be_added_as_a_new_project(job, company, admin, pm):
    elsewhere = Project.objects.create(company=company, project_number="H-17", name="Harbor office")
    erp_job_link(job=job, project=elsewhere, user=admin)
    erp_job_unlink(job=job, user=pm)
    project = erp_job_import(job=StagedJob.objects.get(pk=job.pk), template=None, user=pm)
    assert project.project_number == "24001" and project.pk != elsewhere.pk
    assert CostCode.objects.filter(project=elsewhere).count() == CostCode.objects.filter(project=project).count() == 3


def test_unlink_can_archive_the_job(job, by_hand, admin, pm):
    erp_job_link(job=job, project=by_hand, user=admin)
    assert erp_job_unlink(job=job, user=pm, archive=True).status == StagedJobStatus.ARCHIVED


def test_a_viewer_cannot_unlink(job, by_hand, admin, viewer):
    erp_job_link(job=job, project=by_hand, user=admin)
    with pytest.raises(PermissionRefused):
        erp_job_unlink(job=job, user=viewer)
    job.refresh_from_db()
    assert job.status == StagedJobStatus.SYNCED


@pytest.fixture
def imported(job, pm):
    return erp_job_import(job=job, template=None, user=pm)


def test_refresh_cost_codes_adds_renames_and_retires_from_the_erp(imported, export, accountant):
    export.rows["cost_codes"] = [r for r in export.rows["cost_codes"] if r["code"] != "03-400"]
    export.rows["budget_lines"] = [r for r in export.rows["budget_lines"] if r["phase_code"] != "03-400"]
    export.rows["cost_transactions"] = [r for r in export.rows["cost_transactions"] if r["phase_code"] != "03-400"]
    next(r for r in export.rows["cost_codes"] if r["code"] == "03-300")["name"] = "Cast-in-Place Concrete"
    export.phase("24001", "03-500", "Formwork", "03").line("24001", "03-500", "L", "250.50")
    export.posted("24001", "03-500", "L", "24001-T9", "2025-07-01", "100.25")
    export.write()
    plan = cost_codes_preview(project=imported, user=accountant)
    assert plan.codes_to_add == [("24001", "03-500", "Formwork")]
    assert plan.renamed == [("24001", "03-300", "Cast-in-Place", "Cast-in-Place Concrete")]
    assert plan.gone == [("24001", "03-400", "Precast")]
    assert CostCode.objects.get(project=imported, code="03-300").description == "Cast-in-Place"  # preview only
    cost_codes_refresh(project=imported, user=accountant)
    codes = {c.code: (c.description, c.active) for c in CostCode.objects.filter(project=imported)}
    assert codes == {"03": ("Concrete", True), "03-300": ("Cast-in-Place Concrete", True), "03-400": ("Precast", False),
                     "03-500": ("Formwork", True)}
    assert figures(imported)[("03-500", "L")] == (Decimal("250.50"), Decimal("250.50"), Decimal("100.25"))
    # A retired code has no budget in the ERP any more; what was posted to it still counts.
    assert figures(imported)[("03-400", "S")] == (Decimal("0.00"), Decimal("0.00"), Decimal("0.01"))
    retired = AuditEvent.objects.get(action="erp_job.cost_codes_refreshed").before["replaced_figures"]
    assert retired == [{"code": "03-400", "cost_type": "S", "why": "no longer in the ERP", "original_budget": "99999.99",
                        "approved_changes": "0.00", "revised_budget": "99999.99", "committed_cost": "99999.99", "percent_complete": "0.00"}]
    assert AuditEvent.objects.get(action="erp_job.cost_codes_refreshed").after["cost_codes_to_add"] == [
        {"job": "24001", "code": "03-500", "name": "Formwork"}]


def test_refresh_cost_codes_refuses_a_new_leaf_without_a_cost_type(imported, export, accountant):
    export.phase("24001", "03-500", "Formwork", "03").write()
    assert "03-500" in " ".join(cost_codes_preview(project=imported, user=accountant).problems)
    with pytest.raises(ImportBlocked, match="03-500"):
        cost_codes_refresh(project=imported, user=accountant)
    assert not CostCode.objects.filter(project=imported, code="03-500").exists()


def test_refresh_cost_codes_says_what_is_wrong_with_the_erps_answer(imported, export, accountant):
    export.line("24001", "03-300", "L", "1.00").write()  # the same job category twice
    with pytest.raises(ApplicationError, match="given twice. Nothing was changed"):
        cost_codes_refresh(project=imported, user=accountant)


def test_refresh_cost_codes_needs_an_accounting_approver(imported, pm):
    with pytest.raises(PermissionRefused, match="Can Push to Accounting"):
        cost_codes_preview(project=imported, user=pm)


def test_a_refresh_counts_new_cost_codes_and_the_setting_adds_them(imported, export, connection, company):
    export.phase("24001", "03-500", "Formwork", "03").line("24001", "03-500", "L", "250.50")
    export.phase("24001", "05", "Metals").phase("24001", "05-100", "Framing", "05").line("24001", "05-100", "M", "1.00").write()
    erp_refresh(connection=connection, full=True)
    assert StagedJob.objects.get(job_code="24001").new_cost_codes == 3
    ErpSettings.objects.create(company=company, auto_add_cost_codes=True)
    export.phase("24001", "05-200", "Decking", "05").line("24001", "05-200", "M", "2.00").write()
    erp_refresh(connection=connection, full=True)
    assert set(CostCode.objects.filter(project=imported).values_list("code", flat=True)) >= {"03-500", "05", "05-100", "05-200"}
    assert StagedJob.objects.get(job_code="24001").new_cost_codes == 0
    (run,) = SyncRun.objects.filter(kind="cost_codes", outcome="succeeded")
    assert run.started_by is None and run.counts["automatic"] is True


def test_a_company_at_its_project_limit_can_still_link(job, by_hand, admin, company):
    company.project_limit = Project.objects.filter(company=company).count()
    company.save()
    erp_job_link(job=job, project=by_hand, user=admin)
    assert StagedJob.objects.get(pk=job.pk).status == StagedJobStatus.SYNCED


def test_auto_add_leaves_a_job_whose_new_phases_break_a_rule_and_says_why(imported, export, connection, company):
    ErpSettings.objects.create(company=company, auto_add_cost_codes=True)
    export.phase("24001", "03-500", "Formwork", "03").write()  # a leaf without a cost type
    erp_refresh(connection=connection, full=True)
    assert not CostCode.objects.filter(project=imported, code="03-500").exists()
    assert StagedJob.objects.get(job_code="24001").new_cost_codes == 1
    (run,) = SyncRun.objects.filter(kind="cost_codes")
    assert run.outcome == "failed" and "03-500" in run.error
    assert SyncRun.objects.filter(kind="refresh").latest("pk").outcome == "succeeded"


def test_sync_history_tells_the_link_and_the_unlink(job, by_hand, admin, pm, signed_in):
    from django.urls import reverse

    erp_job_link(job=job, project=by_hand, user=admin)
    erp_job_unlink(job=job, user=pm, archive=True)
    page = signed_in(admin).get(reverse("erp:history")).content.decode()
    assert "Linked job" in page and "to the existing project 24001 Harbor office (bid) (the ERP's names taken: " in page
    assert "03-300 Cast in place (hand) → Cast-in-Place" in page
    assert "the company's cost types: added M Material, S Subcontract; renamed L Labour (hand) → Labor" in page
    assert "Unlinked job" in page and "the job went to Archived" in page
    assert "1 cost code and 2 budget lines added, 2 cost codes renamed, 1 budget line already in the project now following the ERP" in page


def test_suggestions_weigh_words_and_places_not_numbers_that_merely_look_alike(job, company):
    Project.objects.create(company=company, project_number="HOB-1", name="Building Harbor Office", city="Boston", state="MA")
    Project.objects.create(company=company, project_number="24011", name="Warehouse bid (entered by hand)", city="Newark", state="NJ")
    Project.objects.create(company=company, project_number="24001-OLD", name="Old bid", city="Boston", state="MA")
    suggestions = {s.project.project_number: s for s in link_suggestions(job)}
    assert list(suggestions) == ["HOB-1", "24001-OLD"]  # 24011 is another job's number, in another city
    assert suggestions["HOB-1"].reasons == ["The same words in the name", "Same city (Boston)"]
    assert suggestions["24001-OLD"].reasons[0] == "Project number 24001-OLD contains the job code 24001"


def test_a_project_linked_to_another_job_after_an_unlink_counts_only_that_jobs_costs(job, company, admin, pm, connection, export):
    export.standard_job("24002", "Harbor Office Building (rebid)").write()
    erp_refresh(connection=connection)
    project = Project.objects.create(company=company, project_number="H-1", name="Harbor office")
    erp_job_link(job=job, project=project, user=admin)
    once = figures(project)
    erp_job_unlink(job=job, user=pm)
    other = StagedJob.objects.get(job_code="24002")
    assert link_preview(job=other, project=project, user=admin).plan.kept_lines == 0  # 24002 has every line 24001 had
    erp_job_link(job=other, project=project, user=admin)
    assert figures(project) == once  # the same budgets and posted amounts, under 24002's keys: not twice
    assert CostTransaction.objects.filter(budget_line__project=project, from_erp=True).count() == 3
    assert CostTransaction.objects.filter(budget_line__project=project).count() == 6  # 24001's stay on record


def test_a_hand_typed_posted_cost_under_the_erps_key_is_replaced_and_audited(job, by_hand, admin):
    line = BudgetLine.objects.get(project=by_hand, cost_code__code="03-300")
    CostTransaction.objects.create(budget_line=line, erp_key="24001-T1", date="2025-04-01", amount=Decimal("99999.99"), units=0,
                                   reference="typed")
    erp_job_link(job=job, project=by_hand, user=admin)
    assert CostTransaction.objects.get(budget_line=line, erp_key="24001-T1").amount == Decimal("1000.10")
    assert figures(by_hand)[("03-300", "L")][2] == Decimal("3000.15")
    event = AuditEvent.objects.get(action="erp_job.linked")
    assert event.before["replaced_posted_costs"] == [{"budget_line": line.pk, "erp_key": "24001-T1", "date": "2025-04-01",
                                                      "amount": "99999.99", "reference": "typed"}]


def test_a_hand_typed_code_goes_under_the_erps_division(job, company, admin):
    project = Project.objects.create(company=company, project_number="H-2", name="Harbor")
    CostCode.objects.create(project=project, code="03-400", description="Precast")  # typed in at the top level
    preview = link_preview(job=job, project=project, user=admin)
    assert preview.plan.moved == [("24001", "03-400", "", "03")]
    erp_job_link(job=job, project=project, user=admin)
    assert CostCode.objects.get(project=project, code="03-400").parent.code == "03"


def test_a_full_refresh_counts_codes_a_project_lacks_even_when_the_erp_did_not_change(imported, connection):
    CostCode.objects.filter(project=imported, code="03-400").delete()  # gone from the project, say by an old version
    erp_refresh(connection=connection, full=True)
    assert StagedJob.objects.get(job_code="24001").new_cost_codes == 1


def test_sync_history_tells_a_link_that_changed_no_cost_type(job, company, admin, signed_in):
    from django.urls import reverse

    for code, name in (("L", "Labor"), ("M", "Material"), ("S", "Subcontract")):
        CostType.objects.create(company=company, code=code, name=name)
    project = Project.objects.create(company=company, project_number="H-3", name="Harbor")
    erp_job_link(job=job, project=project, user=admin)
    client = signed_in(admin)
    assert "to the existing project H-3 Harbor." in client.get(reverse("erp:history")).content.decode()
    assert client.get(reverse("erp:job_detail", args=[job.pk])).status_code == 200


def test_a_second_confirm_of_the_same_link_changes_nothing_and_fails_nothing(job, by_hand, admin, monkeypatch):
    from erpsync.erp.services import linking

    erp_job_link(job=job, project=by_hand, user=admin)
    before = figures(by_hand)
    # The other tab passed the first check before this one committed: it finds the link made, inside its transaction.
    monkeypatch.setattr(linking, "_check_link_permission", lambda job, user: None)
    stale = StagedJob.objects.get(pk=job.pk)
    stale.status, stale.project_id = StagedJobStatus.READY, None
    monkeypatch.setattr(StagedJob.objects, "select_related", lambda *a: type("Q", (), {"get": lambda self, pk: stale})())
    assert erp_job_link(job=stale, project=by_hand, user=admin, expected="an older preview").pk == by_hand.pk
    assert figures(by_hand) == before
    assert SyncRun.objects.filter(kind="link").order_by("-pk").first().counts == {"linked_already": True}


def test_a_code_the_erp_marks_inactive_is_made_inactive(imported, export, accountant):
    next(r for r in export.rows["cost_codes"] if r["code"] == "03-400")["active"] = "N"
    export.write()
    assert cost_codes_preview(project=imported, user=accountant).deactivated == [("24001", "03-400")]
    cost_codes_refresh(project=imported, user=accountant)
    assert CostCode.objects.get(project=imported, code="03-400").active is False


def test_the_preview_says_how_much_the_lines_the_job_lacks_still_count(job, by_hand, admin, company):
    other = CostCode.objects.create(project=by_hand, code="99-100", description="Allowance")
    line = BudgetLine.objects.create(project=by_hand, cost_code=other, cost_type=CostType.objects.get(company=company, code="L"))
    JobCost.objects.create(budget_line=line, as_of="2025-01-01T00:00Z", original_budget=Decimal("10.00"), approved_changes=0,
                           revised_budget=Decimal("10.00"), committed_cost=0, job_to_date_cost=Decimal("2.50"),
                           job_to_date_units=0, month_to_date_cost=0, percent_complete=0)
    plan = link_preview(job=job, project=by_hand, user=admin).plan
    assert (plan.kept_lines, plan.kept_budget, plan.kept_cost) == (1, Decimal("10.00"), Decimal("2.50"))

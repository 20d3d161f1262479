from decimal import Decimal

import pytest

from erpsync.companies.models import AccessLevel, Membership
from erpsync.erp.models import AuditEvent, ErpSettings, StagedJob, StagedJobStatus, SyncRun
from erpsync.erp.services import erp_job_archive, erp_job_import, erp_refresh
from erpsync.errors import ImportBlocked, NotFound, PermissionRefused, ProjectLimitReached, SourceFailed
from erpsync.projects.models import (
    BaseType,
    BudgetLine,
    CostCode,
    CostTransaction,
    CostType,
    JobCost,
    Project,
    ProjectStage,
    ProjectTemplate,
    TemplateTeamMember,
)


@pytest.fixture
def job(connection):
    erp_refresh(connection=connection)
    return StagedJob.objects.get(job_code="24001")


@pytest.fixture
def template(company, pm):
    t = ProjectTemplate.objects.create(company=company, name="Commercial", stage=ProjectStage.COURSE_OF_CONSTRUCTION,
                                       project_type="Office", office="Boston", time_zone="America/Chicago")
    TemplateTeamMember.objects.create(template=t, user=pm, role="Project Manager")
    return t


def test_it_creates_the_project_with_the_jobs_data_and_the_templates_defaults(job, template, pm):
    project = erp_job_import(job=job, template=template, user=pm)
    assert (project.project_number, project.name, project.address, project.city, project.state, project.zip) == (
        "24001", "Harbor Office Building", "1 Main St", "Boston", "MA", "02110")
    assert str(project.start_date) == "2025-03-01" and str(project.completion_date) == "2026-09-30"
    assert (project.stage, project.project_type, project.office, project.time_zone, project.template) == (
        ProjectStage.COURSE_OF_CONSTRUCTION, "Office", "Boston", "America/Chicago", template)
    assert [(m.user, m.role) for m in project.team.all()] == [(pm, "Project Manager")]
    assert (project.erp_kind, project.erp_company_code, project.erp_job_code, project.created_by) == ("cmic_files", "AC01", "24001", pm)
    job.refresh_from_db()
    assert (job.status, job.project) == (StagedJobStatus.SYNCED, project)


def test_it_creates_cost_codes_under_their_divisions(job, pm):
    project = erp_job_import(job=job, template=None, user=pm)
    tree = {c.code: (c.parent.code if c.parent else None, c.description) for c in CostCode.objects.filter(project=project)}
    assert tree == {"03": (None, "Concrete"), "03-300": ("03", "Cast-in-Place"), "03-400": ("03", "Precast")}
    assert project.template is None


def test_it_creates_the_company_cost_types_with_their_base_types(job, pm, company):
    ErpSettings.objects.create(company=company, base_type_mapping={"S": BaseType.COMMITMENT})
    erp_job_import(job=job, template=None, user=pm)
    assert set(CostType.objects.filter(company=company).values_list("code", "name", "base_type")) == {
        ("L", "Labor", BaseType.LABOR), ("M", "Material", BaseType.MATERIALS), ("S", "Subcontract", BaseType.COMMITMENT)}


def test_job_costs_are_exact_sums_of_budgets_and_posted_costs(job, pm):
    project = erp_job_import(job=job, template=None, user=pm)
    costs = {
        (jc.budget_line.cost_code.code, jc.budget_line.cost_type.code): jc
        for jc in JobCost.objects.filter(budget_line__project=project).select_related("budget_line__cost_code", "budget_line__cost_type")
    }
    labor = costs[("03-300", "L")]
    assert (labor.original_budget, labor.approved_changes, labor.revised_budget, labor.committed_cost) == (
        Decimal("12500.10"), Decimal("500.00"), Decimal("13000.10"), Decimal("8000.00"))
    assert (labor.job_to_date_cost, labor.job_to_date_units) == (Decimal("3000.15"), Decimal("32"))
    assert costs[("03-400", "S")].job_to_date_cost == Decimal("0.01")
    assert costs[("03-300", "M")].job_to_date_cost == Decimal("0")
    assert BudgetLine.objects.filter(project=project).count() == 3
    assert sorted(CostTransaction.objects.filter(budget_line__project=project).values_list("erp_key", "amount")) == [
        ("24001-T1", Decimal("1000.10")), ("24001-T2", Decimal("2000.05")), ("24001-T3", Decimal("0.01"))]


def test_it_audits_the_import_and_records_a_sync_run(job, pm):
    project = erp_job_import(job=job, template=None, user=pm)
    event = AuditEvent.objects.get(action="erp_job.imported")
    assert (event.actor, event.object_id) == (pm, str(project.pk))
    assert event.after["cost_codes"] == 3 and event.after["cost_transactions"] == 3
    run = SyncRun.objects.get(kind="import")
    assert (run.outcome, run.project, run.started_by) == ("succeeded", project, pm)


def test_importing_a_synced_job_again_returns_the_same_project(job, pm):
    first = erp_job_import(job=job, template=None, user=pm)
    again = erp_job_import(job=StagedJob.objects.get(pk=job.pk), template=None, user=pm)
    stale = erp_job_import(job=job, template=None, user=pm)  # an old copy still saying "ready"
    assert first == again == stale
    assert Project.objects.count() == 1 and CostCode.objects.count() == 3


def test_it_refuses_a_job_with_a_cost_code_without_cost_type_and_names_the_codes(connection, export, pm):
    export.phase("24001", "05", "Metals").phase("24001", "05-110", "Steel", "05")
    export.write()
    erp_refresh(connection=connection)
    with pytest.raises(ImportBlocked, match=r"1 cost code has no cost type: 05-110\.") as info:
        erp_job_import(job=StagedJob.objects.get(), template=None, user=pm)
    assert info.value.extra["problems"][0]["items"] == ["05-110"]
    assert not Project.objects.exists() and not CostType.objects.exists()
    assert StagedJob.objects.get().status == StagedJobStatus.READY
    assert SyncRun.objects.get(kind="import").outcome == "failed"


def test_it_refuses_an_archived_job(job, pm):
    erp_job_archive(job=job, user=pm)
    with pytest.raises(ImportBlocked, match="is archived; restore it"):
        erp_job_import(job=StagedJob.objects.get(pk=job.pk), template=None, user=pm)


@pytest.mark.parametrize(
    "levels",
    [
        dict(erp_level=AccessLevel.READ_ONLY, can_create_project=True, directory_level=AccessLevel.ADMIN),
        dict(erp_level=AccessLevel.NONE, can_create_project=True),
        dict(erp_level=AccessLevel.STANDARD, can_create_project=False, directory_level=AccessLevel.STANDARD),
    ],
    ids=["read-only-erp", "no-erp", "standard-without-create-privilege"],
)
def test_it_refuses_users_without_the_import_permissions(job, django_user_model, company, levels):
    user = django_user_model.objects.create_user("someone")
    Membership.objects.create(user=user, company=company, **levels)
    with pytest.raises(PermissionRefused, match="needs Standard or Admin on ERP Integrations"):
        erp_job_import(job=job, template=None, user=user)
    assert not Project.objects.exists()


def test_directory_admins_may_import_without_the_create_privilege(job, django_user_model, company):
    user = django_user_model.objects.create_user("director")
    Membership.objects.create(user=user, company=company, erp_level=AccessLevel.STANDARD, directory_level=AccessLevel.ADMIN)
    assert erp_job_import(job=job, template=None, user=user).project_number == "24001"


def test_users_of_another_company_cannot_import(job, outsider, viewer):
    for user in (outsider, viewer):
        with pytest.raises(PermissionRefused):
            erp_job_import(job=job, template=None, user=user)


def test_it_refuses_another_companys_template(job, pm, other_company):
    theirs = ProjectTemplate.objects.create(company=other_company, name="Theirs")
    with pytest.raises(NotFound):
        erp_job_import(job=job, template=theirs, user=pm)


def test_it_never_exceeds_the_project_limit(job, pm, company):
    company.project_limit = 1
    company.save()
    Project.objects.create(company=company, project_number="OLD-1", name="Existing")
    with pytest.raises(ProjectLimitReached, match="has reached its limit of 1 projects"):
        erp_job_import(job=job, template=None, user=pm)
    assert Project.objects.count() == 1
    assert StagedJob.objects.get(pk=job.pk).status == StagedJobStatus.READY


def test_a_posted_cost_on_an_unknown_budget_line_changes_nothing(connection, export, pm):
    erp_refresh(connection=connection)
    export.posted("24001", "03-400", "L", "X-1", "2025-07-01", "5.00")
    export.write()
    with pytest.raises(SourceFailed, match=r"jcdetailposted.csv row 5: posted cost X-1 is on cost code 03-400 × category L"):
        erp_job_import(job=StagedJob.objects.get(), template=None, user=pm)
    assert not Project.objects.exists() and not CostCode.objects.exists()


def test_a_broken_export_at_import_time_changes_nothing(connection, export, pm):
    erp_refresh(connection=connection)
    export.rows["cost_transactions"][0]["amount"] = "ten"
    export.write()
    with pytest.raises(SourceFailed, match="field JcdtAmt: 'ten' is not a number"):
        erp_job_import(job=StagedJob.objects.get(), template=None, user=pm)
    assert not Project.objects.exists()


def test_sub_jobs_come_with_their_control_job(connection, export, pm):
    export.job("24001-01", "Site work", controlling="24001")
    export.phase("24001-01", "03", "Concrete").phase("24001-01", "03-300", "Footings", "03").line("24001-01", "03-300", "L", "10.00")
    export.posted("24001-01", "03-300", "L", "S-1", "2025-05-05", "4.00")
    export.write()
    erp_refresh(connection=connection)
    sub = StagedJob.objects.get(job_code="24001-01")
    with pytest.raises(ImportBlocked, match="is a sub job of 24001"):
        erp_job_import(job=sub, template=None, user=pm)
    project = erp_job_import(job=StagedJob.objects.get(job_code="24001"), template=None, user=pm)
    assert list(project.sub_jobs.values_list("code", "name")) == [("24001-01", "Site work")]
    footings = CostCode.objects.get(project=project, sub_job__code="24001-01", code="03-300")
    assert footings.parent.code == "03" and footings.parent.sub_job.code == "24001-01"
    assert JobCost.objects.get(budget_line__cost_code=footings).job_to_date_cost == Decimal("4.00")
    assert CostCode.objects.filter(project=project, sub_job=None).count() == 3
    assert StagedJob.objects.get(job_code="24001-01").status == StagedJobStatus.SYNCED


def test_a_tree_carried_by_controlling_codes_or_by_the_codes_alone_is_the_same_tree(connection, export, pm):
    """Many CMiC tenants give every phase the controlling code ALL and carry the tree in the codes."""
    export.phase("24001", "03-400-10", "Planks", "03-400").phase("24001", "05", "Metals").phase("24001", "05-110", "Steel", "05")
    export.line("24001", "03-400-10", "M", "2.00")
    export.job("24002", "Same job, flat phases")
    for code, name in (("03", "Concrete"), ("03-300", "Cast-in-Place"), ("03-400", "Precast"), ("03-400-10", "Planks"),
                       ("05", "Metals"), ("05-110", "Steel")):
        export.phase("24002", code, name, "ALL")
    export.line("24002", "03-300", "L", "1.00").line("24002", "03-400-10", "M", "2.00")
    export.write()
    erp_refresh(connection=connection)
    jobs = {j.job_code: j for j in StagedJob.objects.all()}
    assert [p["items"] for p in jobs["24001"].problems] == [p["items"] for p in jobs["24002"].problems] == [["05-110"]]

    for job_code in ("24001", "24002"):  # give the leaf its cost type in both, then add them
        export.line(job_code, "05-110", "S", "3.00")
    export.write()
    erp_refresh(connection=connection)
    trees = {}
    for job_code in ("24001", "24002"):
        project = erp_job_import(job=StagedJob.objects.get(job_code=job_code), template=None, user=pm)
        trees[job_code] = sorted(CostCode.objects.filter(project=project).values_list("code", "parent__code"))
    assert trees["24001"] == trees["24002"] == [
        ("03", None), ("03-300", "03"), ("03-400", "03"), ("03-400-10", "03-400"), ("05", None), ("05-110", "05")]

from decimal import Decimal

import pytest

from erpsync.erp.models import StagedJob, SyncRun
from erpsync.erp.services import erp_job_import, erp_refresh, job_costs_sync
from erpsync.errors import ApplicationError, SourceFailed
from erpsync.projects.models import CostTransaction, JobCost, Project


@pytest.fixture
def project(connection, pm):
    erp_refresh(connection=connection)
    return erp_job_import(job=StagedJob.objects.get(job_code="24001"), template=None, user=pm)


def labor(project):
    return JobCost.objects.get(budget_line__project=project, budget_line__cost_code__code="03-300", budget_line__cost_type__code="L")


def test_it_updates_changed_budgets_and_adds_new_posted_costs(project, export):
    export.rows["budget_lines"][0]["committed_cost"] = "9100.45"
    export.posted("24001", "03-300", "L", "24001-T9", "2025-08-01", "99.99", units="1")
    export.write()
    run = job_costs_sync(project=project)
    assert run.counts == {"job_costs_changed": 1, "cost_transactions_added": 1, "budget_lines_not_in_project": 0, "incremental": False, "pushed_to_procore": 0}
    cost = labor(project)
    assert (cost.committed_cost, cost.job_to_date_cost, cost.job_to_date_units) == (Decimal("9100.45"), Decimal("3100.14"), Decimal("33"))
    assert CostTransaction.objects.filter(budget_line__project=project).count() == 4
    assert StagedJob.objects.get(job_code="24001").last_job_cost_sync_at is not None


def test_a_sync_with_nothing_new_changes_nothing(project):
    before = labor(project).as_of
    run = job_costs_sync(project=project)
    assert run.counts == {"job_costs_changed": 0, "cost_transactions_added": 0, "budget_lines_not_in_project": 0, "incremental": False, "pushed_to_procore": 0}
    assert labor(project).as_of == before


def test_sums_are_exact_so_a_second_sync_changes_nothing(connection, export, pm):
    """Posted costs whose sum a binary float cannot hold (0.10 + 0.20 + …) give their exact sum, every time."""
    for n, amount in enumerate(["12345678.91", "0.15", "-12345678.91", "1234567.89", "0.07", "-1234567.89"]):
        export.posted("24001", "03-400", "S", f"24001-F{n}", "2025-07-01", amount, units="0.1")
    export.write()
    erp_refresh(connection=connection)
    project = erp_job_import(job=StagedJob.objects.get(job_code="24001"), template=None, user=pm)
    job_costs_sync(project=project)
    cost = JobCost.objects.get(budget_line__project=project, budget_line__cost_code__code="03-400")
    assert cost.job_to_date_cost == Decimal("0.23")  # these and the standard job's 0.01
    assert job_costs_sync(project=project).counts["job_costs_changed"] == 0


def test_a_failing_source_records_the_reason_and_keeps_the_figures(project, export):
    export.rows["cost_transactions"][0]["posted_on"] = "yesterday"
    export.write()
    with pytest.raises(SourceFailed):
        job_costs_sync(project=project)
    run = SyncRun.objects.filter(kind="job_costs").get()
    assert run.outcome == "failed" and "field JcdtPostDate: 'yesterday' is not a date" in run.error
    assert labor(project).job_to_date_cost == Decimal("3000.15")


def test_it_counts_budget_lines_the_project_does_not_have(project, export):
    export.phase("24001", "03-500", "New section", "03").line("24001", "03-500", "L", "5.00")
    export.write()
    assert job_costs_sync(project=project).counts["budget_lines_not_in_project"] == 1


def test_a_project_not_from_the_erp_has_nothing_to_sync(company):
    project = Project.objects.create(company=company, project_number="P-1", name="Manual")
    with pytest.raises(ApplicationError, match="is not linked to an ERP job"):
        job_costs_sync(project=project)

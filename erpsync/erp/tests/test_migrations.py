"""Upgrading keeps what staging held."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor.loader.project_state([target]).apps


@pytest.fixture(autouse=True)
def back_to_the_latest_schema():
    """Each test starts from an older schema; the tests after it need the latest."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_staged_phase_and_category_rows_become_each_jobs_structure():
    old = migrate(("erp", "0002_initial"))
    company = old.get_model("companies", "Company").objects.create(name="Acme", slug="acme")
    erp_connection = old.get_model("erp", "ErpConnection").objects.create(company=company, name="CMiC", kind="cmic_files", settings={})
    job = old.get_model("erp", "StagedJob").objects.create(
        company=company, connection=erp_connection, erp_company_code="AC01", job_code="24001", name="Harbor", pulled_at=timezone.now())
    codes = old.get_model("erp", "StagedCostCode")
    codes.objects.create(job=job, code="03-300", name="Cast-in-Place", parent_code="03", active=True)
    codes.objects.create(job=job, code="03", name="Concrete", parent_code="", active=True)
    old.get_model("erp", "StagedBudgetLine").objects.create(
        job=job, phase_code="03-300", category_code="5000", active=False, original_budget=Decimal("1234.56"),
        approved_changes=Decimal("-10.00"), budget_units=Decimal("12.5"), committed_cost=Decimal("99.99"), percent_complete=Decimal("40"))

    new = migrate(("erp", "0003_staged_job_structure"))
    structure = new.get_model("erp", "StagedJobStructure").objects.get(job_id=job.pk)
    assert structure.cost_codes == [["03", "Concrete", "", True], ["03-300", "Cast-in-Place", "03", True]]
    (line,) = structure.budget_lines
    assert line[:3] == ["03-300", "5000", False]
    assert [Decimal(amount) for amount in line[3:]] == [Decimal("1234.56"), Decimal("-10"), Decimal("12.5"), Decimal("99.99"), Decimal("40")]


@pytest.mark.django_db(transaction=True)
def test_only_the_newest_of_several_active_refreshes_of_a_connection_stays_active():
    old = migrate(("erp", "0004_staged_job_fewer_indexes"))
    company = old.get_model("companies", "Company").objects.create(name="Acme", slug="acme")
    erp_connection = old.get_model("erp", "ErpConnection").objects.create(company=company, name="CMiC", kind="cmic_files", settings={})
    runs = old.get_model("erp", "SyncRun")
    stuck, newest = (runs.objects.create(company=company, connection=erp_connection, kind="refresh", outcome=outcome)
                     for outcome in ("running", "queued"))
    other_kind = runs.objects.create(company=company, connection=erp_connection, kind="job_costs", outcome="running")

    new = migrate(("erp", "0005_one_active_refresh"))
    outcomes = dict(new.get_model("erp", "SyncRun").objects.values_list("pk", "outcome"))
    assert outcomes == {stuck.pk: "failed", newest.pk: "queued", other_kind.pk: "running"}


@pytest.mark.django_db(transaction=True)
def test_a_connections_refresh_watermark_becomes_one_per_erp_company():
    old = migrate(("erp", "0006_run_leases"))
    company = old.get_model("companies", "Company").objects.create(name="Acme", slug="acme")
    erp_connection = old.get_model("erp", "ErpConnection").objects.create(
        company=company, name="CMiC", kind="cmic", settings={"company_codes": ["DB01", "DB02"]})
    when = timezone.now()
    old.get_model("erp", "ErpWatermark").objects.create(connection=erp_connection, resource="refresh", value=when)

    new = migrate(("erp", "0007_watermarks_per_company"))
    marks = dict(new.get_model("erp", "ErpWatermark").objects.values_list("resource", "value"))
    assert marks == {"refresh:DB01": when, "refresh:DB02": when}

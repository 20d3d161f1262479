import pytest

from erpsync.erp.models import AuditEvent, StagedJob, StagedJobStatus, StagedJobStructure, SyncRun
from erpsync.erp.services import erp_job_archive, erp_refresh
from erpsync.errors import PermissionRefused, SourceFailed


def staging_snapshot(connection):
    return (
        sorted(StagedJob.objects.filter(connection=connection).values_list("job_code", "name", "status", "problems")),
        sorted(StagedJobStructure.objects.filter(job__connection=connection).values_list("job__job_code", "cost_codes", "budget_lines")),
    )


def test_it_stages_new_jobs_as_ready_to_import(connection):
    run = erp_refresh(connection=connection)
    job = StagedJob.objects.get(connection=connection)
    assert (job.job_code, job.name, job.status, job.problems) == ("24001", "Harbor Office Building", StagedJobStatus.READY, [])
    assert job.cost_code_count == 3
    assert job.raw["JobName"] == "Harbor Office Building"
    assert run.outcome == "succeeded"
    assert run.counts == {"jobs": 1, "new": 1, "changed": 0, "unchanged": 0, "cost_codes": 3, "budget_lines": 3, "cost_types": 3, "incremental": False}
    assert AuditEvent.objects.get(action="erp_jobs.pulled").after == {"jobs": ["AC01/24001"]}


def test_a_second_refresh_updates_what_changed_and_audits_it(connection, export, accountant):
    erp_refresh(connection=connection)
    export.rows["jobs"][0]["name"] = "Harbor Office Tower"
    export.write()
    run = erp_refresh(connection=connection, user=accountant)
    job = StagedJob.objects.get(connection=connection)
    assert job.name == "Harbor Office Tower"
    assert (run.counts["new"], run.counts["changed"]) == (0, 1)
    event = AuditEvent.objects.get(action="erp_job.changed_in_erp")
    assert (event.actor, event.before, event.after) == (accountant, {"name": "Harbor Office Building"}, {"name": "Harbor Office Tower"})


def test_archived_jobs_stay_archived(connection, pm):
    erp_refresh(connection=connection)
    erp_job_archive(job=StagedJob.objects.get(), user=pm)
    erp_refresh(connection=connection)
    assert StagedJob.objects.get().status == StagedJobStatus.ARCHIVED


def test_a_broken_file_leaves_staging_exactly_as_it_was(connection, export):
    erp_refresh(connection=connection)
    before = staging_snapshot(connection)
    export.job("24002", "New job")
    export.rows["budget_lines"][1]["original_budget"] = "n/a"
    export.write()
    with pytest.raises(SourceFailed, match=r"jcjobcategory.csv row 3, field JcatOrigBudgetAmt: 'n/a' is not a number."):
        erp_refresh(connection=connection)
    assert staging_snapshot(connection) == before
    failed = SyncRun.objects.filter(outcome="failed").get()
    assert failed.error == "jcjobcategory.csv row 3, field JcatOrigBudgetAmt: 'n/a' is not a number."


def test_it_refuses_a_category_the_company_does_not_have(connection, export):
    export.line("24001", "03-400", "X")
    export.write()
    with pytest.raises(SourceFailed, match=r"jcjobcategory.csv row 5: category X is not one of the company's categories."):
        erp_refresh(connection=connection)
    assert not StagedJob.objects.exists()


def test_it_refuses_duplicate_rows_naming_both(connection, export):
    export.phase("24001", "03-300", "Cast-in-Place again", "03")
    export.write()
    with pytest.raises(SourceFailed, match=r"jcjobcostcodes.csv row 5 repeats the cost code 03-300 of job 24001 already given at jcjobcostcodes.csv row 3."):
        erp_refresh(connection=connection)


def test_it_refuses_a_cost_code_of_an_unknown_job(connection, export):
    export.phase("99999", "01", "General")
    export.write()
    with pytest.raises(SourceFailed, match="belongs to job 99999, which the jobs list does not have"):
        erp_refresh(connection=connection)


def test_it_fails_clearly_when_the_folder_is_gone(connection, export):
    connection.settings = {"folder": "nowhere"}
    connection.save()
    with pytest.raises(SourceFailed, match=r"^The export folder .*/nowhere does not exist\.$"):
        erp_refresh(connection=connection)


def test_it_shows_problems_before_anyone_clicks(connection, export):
    export.job("24002", "Gap job").phase("24002", "01", "General").phase("24002", "01-100", "Supervision", "01")
    export.write()
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24002")
    assert [p["message"] for p in job.problems] == [
        "1 cost code has no cost type: 01-100. Assign a category to each in the ERP, then refresh."
    ]


def test_only_accounting_approvers_may_refresh(connection, pm, viewer, outsider, accountant, admin):
    for user in (pm, viewer, outsider):
        with pytest.raises(PermissionRefused):
            erp_refresh(connection=connection, user=user)
    assert not StagedJob.objects.exists()
    erp_refresh(connection=connection, user=accountant)
    erp_refresh(connection=connection, user=admin)
    assert SyncRun.objects.filter(outcome="succeeded").count() == 2


def test_a_revised_budget_the_registry_cannot_hold_is_refused_naming_its_line(connection, export):
    export.rows["budget_lines"][0].update(original_budget="99999999999999.99", approved_changes="0.10")
    export.write()
    with pytest.raises(SourceFailed, match=r"^jcjobcategory.csv row 2 \(the revised budget, original plus approved changes\): "
                                           r"the amount 100000000000000.09 cannot be stored exactly"):
        erp_refresh(connection=connection)
    assert not StagedJob.objects.exists()


def test_a_decimal_comma_is_refused_not_read_as_thousands(connection, export):
    export.rows["budget_lines"][1]["original_budget"] = "1,5"
    export.write()
    with pytest.raises(SourceFailed, match=r"^jcjobcategory.csv row 3, field JcatOrigBudgetAmt: '1,5' is not a number \(a comma may only separate thousands\)\.$"):
        erp_refresh(connection=connection)


def test_a_job_counts_as_changed_when_its_tree_or_its_problems_change(connection, export):
    erp_refresh(connection=connection)
    export.phase("24001", "03-500", "Grout", "03")  # a new leaf without a cost type: the job is blocked now
    export.write()
    run = erp_refresh(connection=connection)
    assert (run.counts["new"], run.counts["changed"], run.counts["unchanged"]) == (0, 1, 0)
    assert StagedJob.objects.get().problems[0]["items"] == ["03-500"]
    run = erp_refresh(connection=connection)
    assert (run.counts["changed"], run.counts["unchanged"]) == (0, 1)

"""Refresh, import and job-cost sync against the fake CMiC, exactly as with the export files."""

from decimal import Decimal

from django.core.management import call_command
from django.db.models import Sum

import pytest

from erpsync.erp.models import ErpConnection, StagedJob, StagedJobStructure, SyncRun
from erpsync.erp.services import erp_job_import, erp_job_validate, erp_refresh, job_costs_sync
from erpsync.erp.tasks import erp_full_refresh_all
from erpsync.errors import SourceFailed
from erpsync.projects.models import CostTransaction, JobCost


def staged(connection):
    return (
        sorted(StagedJob.objects.filter(connection=connection).values_list("job_code", "name", "problems")),
        sorted(StagedJobStructure.objects.filter(job__connection=connection).values_list("job__job_code", "cost_codes", "budget_lines")),
    )


def test_the_secret_is_stored_encrypted_not_in_the_settings(cmic, fake):
    assert "password" not in cmic.settings and fake.password not in cmic.secrets_encrypted


@pytest.mark.parametrize("parallel_requests", [1, 2, 4])
def test_a_refresh_stages_what_the_files_connector_stages(cmic, company, small_export, fake, parallel_requests):
    cmic.settings["parallel_requests"] = parallel_requests
    cmic.save()
    erp_refresh(connection=cmic)
    assert sum(fake.requests.values()) == sum(-(-len(rows) // 100) or 1 for name, rows in fake.items.items()
                                             if name != "jcdetailposted")  # every page once, nothing more
    files = ErpConnection.objects.create(company=company, name="files", kind="cmic_files", settings={"folder": str(small_export)})
    erp_refresh(connection=files)
    rest_jobs, rest_structures = staged(cmic)
    file_jobs, file_structures = staged(files)
    assert rest_structures == file_structures and len(rest_structures) == len(rest_jobs)
    assert [(c, n) for c, n, _ in rest_jobs] == [(c, n) for c, n, _ in file_jobs]


def test_after_a_first_refresh_only_changed_rows_are_fetched(cmic, fake):
    erp_refresh(connection=cmic)
    fake.reset_counts()
    changed_jobs = fake.touch("jcjob", lambda r: r["JobCode"] in ("25101", "25102"), JobName="Renamed in CMiC")
    changed_codes = fake.touch("jcjobcostcodes", lambda r: r["GjjpJobCode"] == "25103" and r["GjjpCtrlCode"] != "ALL",
                               GjjpName="Renamed phase")
    run = erp_refresh(connection=cmic)
    assert run.counts["incremental"] is True
    assert fake.rows_served["jcjob"] == changed_jobs == 2
    assert fake.rows_served["jcjobcostcodes"] == changed_codes
    assert fake.rows_served["jcjobcategory"] == 0
    assert (run.counts["jobs"], run.counts["changed"]) == (2, 3)  # two renamed, and 25103 whose phases were
    assert set(StagedJob.objects.filter(name="Renamed in CMiC").values_list("job_code", flat=True)) == {"25101", "25102"}
    codes = StagedJobStructure.objects.get(job__job_code="25103").cost_codes
    assert sum(1 for _, name, _, _ in codes if name == "Renamed phase") == changed_codes


def test_an_incremental_refresh_keeps_the_staged_phases_and_checks_jobs_as_validation_does(cmic, fake):
    erp_refresh(connection=cmic)
    job = StagedJob.objects.get(job_code="25102")
    staged_codes = [code for code, *_ in job.structure.cost_codes]
    template = next(r for r in fake.items["jcjobcostcodes"] if r["GjjpJobCode"] == "25102" and r["GjjpCtrlCode"] != "ALL")
    added = f"{template['GjjpCtrlCode']}-999"
    with fake.lock:
        fake.items["jcjobcostcodes"].append({**template, "GjjpCode": added, "GjjpName": "Added in CMiC",
                                             "GjjpIuUpdateDate": "2099-01-01T00:00:00+00:00"})
        fake._selections.clear()
    run = erp_refresh(connection=cmic)
    assert (run.counts["incremental"], run.counts["cost_codes"]) == (True, 1)
    job.refresh_from_db()
    assert [code for code, *_ in job.structure.cost_codes] == sorted([*staged_codes, added])
    assert job.cost_code_count == len(staged_codes) + 1
    assert job.problems == erp_job_validate(job=job)
    assert [(p["code"], p["items"]) for p in job.problems] == [("cost_code_without_cost_type", [added])]


def test_a_lasting_failure_records_the_reason_and_changes_nothing(cmic, fake):
    erp_refresh(connection=cmic)
    before = staged(cmic)
    fake.touch("jcjob", lambda r: r["JobCode"] == "25101", JobName="Never staged")
    fake.faults.status_on_page[("jcjob", 0)] = [503, 99]
    with pytest.raises(SourceFailed, match="CMiC kept answering HTTP 503"):
        erp_refresh(connection=cmic)
    assert staged(cmic) == before
    assert SyncRun.objects.filter(outcome="failed").get().error.startswith("Reading jcjob at offset 0: CMiC kept answering HTTP 503")


def test_import_and_job_cost_sync_over_rest(cmic, fake, pm):
    erp_refresh(connection=cmic)
    project = erp_job_import(job=StagedJob.objects.get(job_code="25101"), template=None, user=pm)
    assert CostTransaction.objects.filter(budget_line__project=project).count() == sum(
        1 for r in fake.items["jcdetailposted"] if r["JcdtJobCode"] in ("25101", "25101-01"))
    line = fake.items["jcjobcategory"][0]
    assert line["JcatJobCode"] == "25101"
    fake.touch("jcjobcategory", lambda r: r is line, JcatCommittedAmt="12345.67")
    run = job_costs_sync(project=project)
    assert run.counts["job_costs_changed"] == 1
    cost = JobCost.objects.get(budget_line__project=project, budget_line__cost_code__code=line["JcatPhsCode"],
                               budget_line__cost_type__code=line["JcatCode"], budget_line__cost_code__sub_job=None)
    assert cost.committed_cost == Decimal("12345.67")


def test_a_job_cost_sync_after_the_first_reads_only_new_postings(cmic, fake, pm):
    erp_refresh(connection=cmic)
    project = erp_job_import(job=StagedJob.objects.get(job_code="25102"), template=None, user=pm)
    before = JobCost.objects.filter(budget_line__project=project).aggregate(total=Sum("job_to_date_cost"))["total"]
    template = next(r for r in fake.items["jcdetailposted"] if r["JcdtJobCode"] == "25102")
    with fake.lock:
        fake.items["jcdetailposted"].append({**template, "JcdtTrnNum": "NEW-1", "JcdtAmt": "100.01",
                                             "JcdtIuUpdateDate": "2099-01-01T00:00:00+00:00"})
        fake._selections.clear()
    fake.reset_counts()
    run = job_costs_sync(project=project)
    assert fake.rows_served["jcdetailposted"] == 1
    assert run.counts["cost_transactions_added"] == 1
    after = JobCost.objects.filter(budget_line__project=project).aggregate(total=Sum("job_to_date_cost"))["total"]
    assert after - before == Decimal("100.01")


@pytest.mark.django_db(transaction=True)
def test_the_nightly_full_refresh_lets_phases_deleted_in_cmic_leave_staging(cmic, fake, django_capture_on_commit_callbacks):
    erp_refresh(connection=cmic)
    job = StagedJob.objects.get(job_code="25101")
    phase = next(code for code, _, parent, _ in job.structure.cost_codes if parent)
    fake.delete("jcjobcategory", lambda r: (r["JcatJobCode"], r["JcatPhsCode"]) == ("25101", phase))
    assert fake.delete("jcjobcostcodes", lambda r: (r["GjjpJobCode"], r["GjjpCode"]) == ("25101", phase)) == 1

    erp_refresh(connection=cmic)  # incremental: a deletion leaves no audit date to find
    assert phase in {code for code, _, _, _ in StagedJob.objects.get(job_code="25101").structure.cost_codes}

    with django_capture_on_commit_callbacks(execute=True):
        erp_full_refresh_all.call()
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    run = SyncRun.objects.filter(kind="refresh").latest("pk")
    assert (run.outcome, run.counts["incremental"], run.started_by) == ("succeeded", False, None)
    assert phase not in {code for code, _, _, _ in StagedJob.objects.get(job_code="25101").structure.cost_codes}


def test_the_nightly_full_refresh_leaves_export_folders_alone(connection, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as queued:
        erp_full_refresh_all.call()
    assert not queued and not SyncRun.objects.exists()


def test_a_company_added_to_the_connection_is_read_in_full_the_others_only_for_what_changed(cmic, fake):
    erp_refresh(connection=cmic)
    code = fake.items["jcjob"][0]["JobCode"]
    with fake.lock:  # the ERP's second company: rows last changed long ago
        for resource, company, job in (("jcjob", "JobCompCode", "JobCode"), ("jcjobcostcodes", "GjjpCompCode", "GjjpJobCode"),
                                       ("jcjobcategory", "JcatCompCode", "JcatJobCode")):
            fake.items[resource] += [{**r, company: "DB02"} for r in fake.items[resource] if r[job] == code]
        fake.items["jcmastercategories"] += [{**r, "CatCompCode": "DB02"} for r in fake.items["jcmastercategories"]]
        fake._selections.clear()
    cmic.settings["company_codes"] = ["DB01", "DB02"]
    cmic.save()
    fake.reset_counts()
    run = erp_refresh(connection=cmic)
    assert run.counts["incremental"] is True and (run.counts["jobs"], run.counts["new"]) == (1, 1)
    assert fake.rows_served["jcjob"] == 1  # DB02's one job; nothing of DB01 changed
    copied = StagedJob.objects.get(erp_company_code="DB02", job_code=code)
    assert copied.problems == [] and copied.cost_code_count == StagedJob.objects.get(erp_company_code="DB01", job_code=code).cost_code_count

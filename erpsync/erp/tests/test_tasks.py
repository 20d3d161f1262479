"""Background work through the database queue and a real db_worker run."""

import pytest
from django.core.management import call_command

from erpsync.erp.models import StagedJob, SyncRun
from erpsync.erp.services import erp_job_import, erp_refresh, erp_refresh_enqueue
from erpsync.erp.tasks import job_costs_sync_all
from erpsync.errors import PermissionRefused

pytestmark = pytest.mark.django_db(transaction=True)


def work_the_queue():
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)


def test_a_queued_refresh_is_done_by_the_worker(connection, accountant):
    run = erp_refresh_enqueue(connection=connection, user=accountant)
    assert run.outcome == "queued" and not StagedJob.objects.exists()
    work_the_queue()
    run.refresh_from_db()
    assert (run.outcome, run.counts["jobs"], run.started_by) == ("succeeded", 1, accountant)
    assert StagedJob.objects.filter(job_code="24001").exists()


def test_a_second_refresh_request_follows_the_one_already_queued(connection, accountant, admin):
    first = erp_refresh_enqueue(connection=connection, user=accountant)
    assert erp_refresh_enqueue(connection=connection, user=admin) == first


def test_queuing_a_refresh_checks_permissions(connection, pm, viewer):
    for user in (pm, viewer):
        with pytest.raises(PermissionRefused):
            erp_refresh_enqueue(connection=connection, user=user)
    assert not SyncRun.objects.exists()


def test_a_failed_background_refresh_leaves_its_reason(connection, export, accountant):
    (export.folder / "jcjob.csv").write_text("")
    run = erp_refresh_enqueue(connection=connection, user=accountant)
    work_the_queue()
    run.refresh_from_db()
    assert (run.outcome, run.error) == ("failed", "jcjob.csv is empty.")


def test_the_schedule_syncs_job_costs_of_every_synced_project(connection, export, pm):
    export.standard_job("24002", "Second")
    export.write()
    erp_refresh(connection=connection)
    for code in ("24001", "24002"):
        erp_job_import(job=StagedJob.objects.get(job_code=code), template=None, user=pm)
    job_costs_sync_all.call()
    work_the_queue()
    runs = SyncRun.objects.filter(kind="job_costs")
    assert sorted(runs.values_list("project__project_number", "outcome")) == [("24001", "succeeded"), ("24002", "succeeded")]

"""Processes die at any line: a refresh whose worker or command is killed ends interrupted, and the next one completes."""

import signal

import pytest
from django.core.management import call_command
from django.db import connection
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from erpsync.erp.models import StagedJob, SyncRun
from erpsync.erp.services import erp_refresh_enqueue
from erpsync.erp.services.runs import sync_runs_reap
from erpsync.testing import manage, until

pytestmark = pytest.mark.django_db(transaction=True)


def killed_while_reading(process, run_of) -> SyncRun:
    """Kill -9 `process` once the run it does (`run_of()`, when there is one) is reading from the ERP."""
    try:
        run = until(run_of)
        until(lambda: reading(run))
        process.send_signal(signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return run


@pytest.fixture
def slow_cmic(cmic, fake, settings):
    """A CMiC connection whose answers take a while, so a refresh is caught in the middle; leases of a second."""
    settings.RUN_LEASE_SECONDS = 1
    fake.latency = 0.2
    cmic.settings["page_size"] = 10
    cmic.save()
    return cmic


def reading(run: SyncRun) -> bool:
    run.refresh_from_db()
    return run.outcome == "running" and run.progress_label.startswith("Reading")


def no_pull_tables_left() -> bool:
    """The killed process's scratch tables went with its database session."""
    if connection.vendor != "postgresql":
        return True  # SQLite's TEMP tables live in files unlinked when opened: a dead process leaves none
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_class WHERE relpersistence = 't' AND relname LIKE 'pull\\_%%'")
        return cursor.fetchone()[0] == 0


def test_a_refresh_whose_worker_is_killed_ends_interrupted_and_the_next_one_completes(slow_cmic, fake, accountant):
    worker = manage("db_worker", "--no-startup-delay", "--no-reload", "--interval", "0.1", ERPSYNC_RUN_LEASE_SECONDS="1")
    queued = erp_refresh_enqueue(connection=slow_cmic, user=accountant)
    run = killed_while_reading(worker, lambda: queued)
    (reaped,) = until(lambda: sync_runs_reap(connection=slow_cmic))
    run.refresh_from_db()
    assert reaped.pk == run.pk and run.outcome == "interrupted"
    assert run.error == "The worker doing it stopped while reading from the ERP; nothing was changed. Start the refresh again."
    assert DBTaskResult.objects.get(id=run.task_id).status == TaskResultStatus.FAILED
    assert not StagedJob.objects.exists()
    until(no_pull_tables_left)

    fake.latency = 0
    again = erp_refresh_enqueue(connection=slow_cmic, user=accountant)
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    again.refresh_from_db()
    assert again.outcome == "succeeded"
    staged = list(StagedJob.objects.values_list("erp_company_code", "job_code"))
    assert len(staged) == len(set(staged)) == len(fake.items["jcjob"])


def test_a_refresh_command_killed_from_outside_ends_interrupted_and_the_next_one_completes(slow_cmic, fake):
    command = manage("erp_refresh", ERPSYNC_RUN_LEASE_SECONDS="1")
    run = killed_while_reading(command, lambda: SyncRun.objects.filter(kind="refresh").first())
    until(lambda: sync_runs_reap(connection=slow_cmic))
    run.refresh_from_db()
    assert (run.outcome, run.task_id) == ("interrupted", "")
    assert run.error == "The process doing it stopped while reading from the ERP; nothing was changed. Start the refresh again."
    fake.latency = 0
    call_command("erp_refresh")
    assert StagedJob.objects.count() == len(fake.items["jcjob"])
    assert list(SyncRun.objects.order_by("pk").values_list("outcome", flat=True)) == ["interrupted", "succeeded"]

"""One refresh of a connection at a time, whoever asks: the web, the command line or the schedule."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections

from erpsync.connectors.files.source import CmicExportSource
from erpsync.erp.models import StagedJob, SyncRun
from erpsync.erp.services import erp_refresh, erp_refresh_enqueue
from erpsync.erp.services.refresh import erp_refresh_queue_full
from erpsync.errors import RefreshBusy

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def held(monkeypatch):
    """Refreshes of export folders read their jobs only once `release` is set; `reading` says one has begun."""
    reading, release = threading.Event(), threading.Event()
    jobs = CmicExportSource.jobs

    def held_jobs(self, **kwargs):
        reading.set()
        assert release.wait(30), "the test never released the refresh"
        yield from jobs(self, **kwargs)

    monkeypatch.setattr(CmicExportSource, "jobs", held_jobs)
    return reading, release


def in_thread(work):
    def run():
        try:
            return work()
        finally:
            connections.close_all()

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(run)
    pool.shutdown(wait=False)
    return future


def test_while_a_refresh_runs_a_second_one_is_told_or_joins_it(connection, accountant, held):
    reading, release = held
    first = in_thread(lambda: erp_refresh(connection=connection, user=accountant))
    try:
        assert reading.wait(30)
        running = SyncRun.objects.get(kind="refresh")
        with pytest.raises(RefreshBusy, match=r"^A refresh of CMiC is already running \(since \d\d:\d\d by accountant\); "
                                              r"wait for it to finish\.$"):
            erp_refresh(connection=connection)
        with pytest.raises(CommandError, match="A refresh of CMiC is already running"):
            call_command("erp_refresh")
        assert erp_refresh_enqueue(connection=connection, user=accountant) == running  # the web follows the running one
        assert erp_refresh_queue_full(connection=connection) is None
    finally:
        release.set()
    run = first.result(timeout=60)
    assert (run.pk, run.outcome) == (running.pk, "succeeded")
    assert list(SyncRun.objects.values_list("outcome", flat=True)) == ["succeeded"]
    assert list(StagedJob.objects.values_list("job_code", flat=True)) == ["24001"]
    erp_refresh(connection=connection)  # once it has ended, the next one runs
    assert SyncRun.objects.filter(outcome="succeeded").count() == 2


def test_requests_arriving_together_make_one_run(connection, accountant):
    barrier = threading.Barrier(6)

    def ask():
        barrier.wait(30)
        return erp_refresh_enqueue(connection=connection, user=accountant).pk

    runs = {future.result(timeout=60) for future in [in_thread(ask) for _ in range(6)]}
    assert len(runs) == 1 and SyncRun.objects.count() == 1


def test_refreshes_started_together_stage_each_job_once(connection, export):
    for n in range(2, 6):
        export.standard_job(f"2400{n}", f"Job {n}")
    export.write()
    barrier = threading.Barrier(4)

    def refresh():
        barrier.wait(30)
        try:
            return erp_refresh(connection=connection).outcome
        except RefreshBusy:
            return "busy"

    outcomes = [future.result(timeout=60) for future in [in_thread(refresh) for _ in range(4)]]
    assert "succeeded" in outcomes and set(outcomes) <= {"succeeded", "busy"}
    assert StagedJob.objects.count() == 5
    assert SyncRun.objects.filter(outcome="succeeded").count() == outcomes.count("succeeded")

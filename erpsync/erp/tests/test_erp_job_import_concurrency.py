"""Imports racing each other, on real concurrent database connections."""

from concurrent.futures import ThreadPoolExecutor
import threading
from threading import Barrier, BrokenBarrierError

import pytest
from django.db import connections

from erpsync.erp.models import StagedJob
from erpsync.erp.services import erp_job_import, erp_refresh, importing
from erpsync.errors import ProjectLimitReached
from erpsync.projects.models import CostCode, Project

pytestmark = pytest.mark.django_db(transaction=True)


def race(count: int, work):
    """Run `work(i)` in `count` threads released at the same moment; return results or errors."""
    barrier = Barrier(count)

    def run(i):
        try:
            barrier.wait()
            return work(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects what each racer got
            return exc
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_twenty_imports_of_the_same_job_make_one_project(connection, pm):
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24001")
    results = race(20, lambda i: erp_job_import(job=StagedJob.objects.get(pk=job.pk), template=None, user=pm))
    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert {r.pk for r in results} == {Project.objects.get().pk}
    assert CostCode.objects.count() == 3


def test_imports_racing_past_the_project_limit_never_exceed_it(connection, export, company, pm, monkeypatch):
    for n in range(2, 8):
        export.standard_job(f"2400{n}", f"Job {n}")
    export.write()
    erp_refresh(connection=connection)
    company.project_limit = 3
    company.save()
    Project.objects.create(company=company, project_number="OLD-1", name="Existing")
    jobs = list(StagedJob.objects.order_by("job_code"))
    # The worst interleaving: every racer counts the projects before any of them writes. If the
    # service serialises imports (as it must), the racers cannot all meet here, and the meeting
    # point gives up after a moment and lets each one through in turn.
    meeting = Barrier(len(jobs), timeout=2)
    counted = importing.project_limit_reached

    def count_together(company):
        try:
            meeting.wait()
        except BrokenBarrierError:
            pass
        return counted(company)

    monkeypatch.setattr(importing, "project_limit_reached", count_together)
    results = race(len(jobs), lambda i: erp_job_import(job=StagedJob.objects.get(pk=jobs[i].pk), template=None, user=pm))
    assert Project.objects.filter(company=company).count() == 3
    assert sum(isinstance(r, Project) for r in results) == 2
    assert all(isinstance(r, (Project, ProjectLimitReached)) for r in results), results


def test_an_import_and_a_refresh_touching_the_same_job_both_finish(connection, export, pm, monkeypatch):
    """The refresh holds the job's row while it audits; the import holds the company while it waits for the row."""
    from django.db import connection as db

    from erpsync.erp.services import refresh
    from erpsync.testing import until

    if db.vendor != "postgresql":
        pytest.skip("SQLite runs one writer at a time; row locks that could deadlock are PostgreSQL's")
    erp_refresh(connection=connection)
    job = StagedJob.objects.get(job_code="24001")
    export.rows["jobs"][0]["name"] = "Harbor Office Tower"
    export.write()
    holding, go_on = threading.Event(), threading.Event()
    audit = refresh.AuditEvent.objects.bulk_create

    def audit_later(events, **kwargs):  # the refresh has updated the job's row and is about to audit it
        holding.set()
        assert go_on.wait(30)
        return audit(events, **kwargs)

    monkeypatch.setattr(refresh.AuditEvent.objects, "bulk_create", audit_later)
    with ThreadPoolExecutor(max_workers=2) as pool:
        refreshing = pool.submit(lambda: (erp_refresh(connection=connection), connections.close_all()))
        assert holding.wait(30)
        importing_ = pool.submit(lambda: (erp_job_import(job=job, template=None, user=pm), connections.close_all()))
        until(lambda: db.cursor().execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        ).fetchone()[0] >= 1)  # the import waits for the job's row
        go_on.set()
        refreshing.result(timeout=60)
        importing_.result(timeout=60)
    assert Project.objects.get().name == "Harbor Office Tower"

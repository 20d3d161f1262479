"""Sync runs: every refresh, import, job-cost sync and publish leaves one, with its outcome.

A running run holds a lease: the process doing it renews `heartbeat_at` every few seconds
from a thread of its own. Any process can die at any line; a run whose lease has lapsed is
interrupted by the reaper (`sync_runs_reap`), which says in plain words what that left behind.
"""

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.db.models import Q
from django.utils import timezone

from erpsync.connectors.base import ConnectorError
from erpsync.erp.models import PublishStatus, StagedJob, SyncRun, SyncRunKind, SyncRunOutcome
from erpsync.errors import ApplicationError, SourceFailed

logger = logging.getLogger(__name__)

def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive_here(worker: str) -> bool:
    """Whether `worker` ("host:pid") is a process of this machine that is still there.

    A lease cannot always be renewed in time (on SQLite, another connection's long write
    transaction holds it back); a process of this very machine is asked directly instead.
    """
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # there, but another user's
        return True
    return True


# The id of the background task doing the work in this context (set by erp/tasks.py), stored on the run it starts.
current_task_id: ContextVar[str] = ContextVar("current_task_id", default="")


class RunProgress:
    """Reports progress of a run to its row (throttled) and to an optional callback."""

    def __init__(self, run: SyncRun, callback=None):
        self.run = run
        self.callback = callback
        self._last_write = 0.0

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if self.callback:
            self.callback(done, total, label)
        now = time.monotonic()
        if now - self._last_write < 0.5 and done < total:
            return
        self._last_write = now
        if transaction.get_connection().in_atomic_block:
            return  # the row would only be seen after commit; the final figures are written then
        SyncRun.objects.filter(pk=self.run.pk).update(progress_done=done, progress_total=total, progress_label=label[:120])


def sync_run_enqueue(run: SyncRun, task, *args, **kwargs) -> None:
    """Queue `task` for `run` once the transaction commits, and note the task on the run."""
    def enqueue():
        result = task.enqueue(*args, **kwargs)
        SyncRun.objects.filter(pk=run.pk).update(task_id=str(result.id))

    transaction.on_commit(enqueue)


def sync_run_queue(*, company, kind, connection=None, user=None, project=None, job=None) -> SyncRun:
    return SyncRun.objects.create(
        company=company, connection=connection, kind=kind, started_by=user if getattr(user, "pk", None) else None, project=project,
        job=job,
    )


@contextmanager
def sync_run_recording(*, company, kind, connection=None, user=None, project=None, run: SyncRun | None = None, progress=None,
                       job=None):
    """Yields (run, progress); records success, or failure with a plain reason, and re-raises.

    Connector errors and unexpected errors are turned into SourceFailed / ApplicationError so
    callers and users see a sentence, never a traceback; the traceback goes to the log.
    """
    if run is None:
        run = sync_run_queue(company=company, kind=kind, connection=connection, user=user, project=project, job=job)
    run.outcome = SyncRunOutcome.RUNNING
    run.started_at = run.heartbeat_at = timezone.now()
    run.task_id = current_task_id.get() or run.task_id
    run.worker = this_process()
    run.save(update_fields=["outcome", "started_at", "heartbeat_at", "task_id", "worker"])
    reporter = RunProgress(run, progress)
    lease = Lease(run)
    try:
        yield run, reporter
    except ApplicationError as exc:
        _finish(run, SyncRunOutcome.FAILED, exc.message)
        raise
    except ConnectorError as exc:
        _finish(run, SyncRunOutcome.FAILED, exc.message)
        raise SourceFailed(exc.message) from exc
    except Exception as exc:
        logger.exception("sync run %s failed", run.pk)
        # Only a publish changes another system as it goes; every other run changes ours all at once, or not at all.
        changed = "" if run.kind == SyncRunKind.PUBLISH else "; nothing was changed"
        message = (f"An unexpected error stopped the {run.get_kind_display().lower()} ({type(exc).__name__}){changed}. "
                   "The details are in the server log.")
        _finish(run, SyncRunOutcome.FAILED, message)
        raise ApplicationError(message) from exc
    else:
        _finish(run, SyncRunOutcome.SUCCEEDED, "")
    finally:
        lease.end()


def _finish(run: SyncRun, outcome: str, error: str) -> None:
    run.outcome = outcome
    run.error = error
    run.finished_at = timezone.now()
    if outcome == SyncRunOutcome.SUCCEEDED and run.progress_total:
        run.progress_done = run.progress_total
    run.save(update_fields=["outcome", "error", "finished_at", "counts", "progress_done", "progress_total", "progress_label", "project"])


class Lease:
    """Renews a running run's lease from a thread of its own until ended.

    The thread has a database connection of its own, so each renewal commits at once, outside
    any transaction the run's work holds open.
    """

    def __init__(self, run: SyncRun):
        self.run_pk = run.pk
        self.ended = threading.Event()
        self.thread = threading.Thread(target=self._renew, name=f"lease-of-run-{run.pk}", daemon=True)
        self.thread.start()

    def _renew(self) -> None:
        interval = max(0.2, settings.RUN_LEASE_SECONDS / 6)
        try:
            while not self.ended.wait(interval):
                try:
                    SyncRun.objects.filter(pk=self.run_pk, outcome=SyncRunOutcome.RUNNING).update(heartbeat_at=timezone.now())
                except DatabaseError as exc:  # a busy database: the next renewal tries again
                    logger.warning("could not renew the lease of run %s: %s", self.run_pk, exc)
        finally:
            connections.close_all()  # this thread's own connections

    def end(self) -> None:
        self.ended.set()
        self.thread.join(timeout=30)


_STEPS = {  # a run's last progress label → what it was doing, in words
    "reading": "reading from the ERP", "checking": "checking what it read", "saving": "saving",
    "checking jobs": "checking the jobs", "reading job costs": "reading the job's costs",
    "creating project": "creating the project", "reading budgets": "reading budgets",
    "reading posted costs": "reading posted costs", "updating job costs": "updating job costs",
}


def _interrupted_reason(run: SyncRun) -> str:
    who = "worker" if run.task_id else "process"
    label = run.progress_label.split(":")[0].strip().lower()
    while_ = f" while {_STEPS.get(label, label or 'starting')}" if run.outcome == SyncRunOutcome.RUNNING else " before it started"
    stopped = f"The {who} doing it stopped{while_}"
    if run.kind == SyncRunKind.REFRESH:
        return f"{stopped}; nothing was changed. Start the refresh again."
    if run.kind == SyncRunKind.IMPORT:
        return (f"{stopped}. An import is all or nothing: the job is either under Synced with its whole project, "
                "or still ready to import and can be added again.")
    if run.kind == SyncRunKind.JOB_COSTS:
        return f"{stopped}; the next scheduled job-cost sync does it again."
    return (f"{stopped}; Procore may already have part of it. "
            "Retry finishes it without making anything twice.")


def sync_runs_reap(*, now=None, **scope) -> list[SyncRun]:
    """Interrupt the runs (within `scope`, e.g. connection=…) whose process has stopped.

    A running run has lost its process when its lease has lapsed; a queued one, when it is
    older than the lease and its task is no longer waiting for a worker (or it has none).
    The dead worker's task is settled as failed, and an interrupted publish can be retried.
    """
    from django_tasks_db.models import DBTaskResult
    from django.tasks import TaskResultStatus

    now = now or timezone.now()
    lapsed = now - timedelta(seconds=settings.RUN_LEASE_SECONDS)
    candidates = SyncRun.objects.filter(**scope).filter(
        Q(outcome=SyncRunOutcome.RUNNING, heartbeat_at__lt=lapsed) | Q(outcome=SyncRunOutcome.QUEUED, created_at__lt=lapsed))
    reaped = []
    for run in candidates.select_related("job"):
        if run.outcome == SyncRunOutcome.RUNNING and _alive_here(run.worker):
            continue
        if run.outcome == SyncRunOutcome.QUEUED and run.task_id and DBTaskResult.objects.filter(
                id=run.task_id, status=TaskResultStatus.READY).exists():
            continue  # its task is waiting for a worker
        job = run.job if run.kind == SyncRunKind.PUBLISH else None
        reason = _interrupted_reason(run)
        with transaction.atomic():
            if not SyncRun.objects.filter(pk=run.pk, outcome=run.outcome).update(  # it ended when last seen alive
                    outcome=SyncRunOutcome.INTERRUPTED, error=reason, finished_at=run.heartbeat_at or now):
                continue  # it finished, or another reaper was quicker
            if job is not None and job.publish_status == PublishStatus.PUBLISHING:
                StagedJob.objects.filter(pk=job.pk).update(publish_status=PublishStatus.INTERRUPTED, publish_error=reason)
        _settle_task(run.task_id, reason)
        logger.warning("run %s (%s) interrupted: %s", run.pk, run.kind, reason)
        reaped.append(run)
    return reaped


class WorkerStopped(Exception):
    """What a dead worker's task row records: its worker stopped before the task finished."""


def _settle_task(task_id: str, reason: str) -> None:
    from django_tasks_db.models import DBTaskResult
    from django.tasks import TaskResultStatus

    if not task_id:
        return
    with transaction.atomic():
        task = DBTaskResult.objects.select_for_update().filter(id=task_id, status=TaskResultStatus.RUNNING).first()
        if task is not None:
            task.set_failed(WorkerStopped(reason))

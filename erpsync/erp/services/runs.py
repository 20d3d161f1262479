"""Sync runs: every refresh, import and job-cost sync leaves one, with its outcome."""

import logging
import time
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from erpsync.connectors.base import ConnectorError
from erpsync.erp.models import SyncRun, SyncRunOutcome
from erpsync.errors import ApplicationError, SourceFailed

logger = logging.getLogger(__name__)


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


def sync_run_queue(*, company, kind, connection=None, user=None, project=None) -> SyncRun:
    return SyncRun.objects.create(
        company=company, connection=connection, kind=kind, started_by=user if getattr(user, "pk", None) else None, project=project
    )


@contextmanager
def sync_run_recording(*, company, kind, connection=None, user=None, project=None, run: SyncRun | None = None, progress=None):
    """Yields (run, progress); records success, or failure with a plain reason, and re-raises.

    Connector errors and unexpected errors are turned into SourceFailed / ApplicationError so
    callers and users see a sentence, never a traceback; the traceback goes to the log.
    """
    if run is None:
        run = sync_run_queue(company=company, kind=kind, connection=connection, user=user, project=project)
    run.outcome = SyncRunOutcome.RUNNING
    run.started_at = timezone.now()
    run.save(update_fields=["outcome", "started_at"])
    reporter = RunProgress(run, progress)
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
        message = f"An unexpected error stopped the {run.get_kind_display().lower()} ({type(exc).__name__}); nothing was changed. The details are in the server log."
        _finish(run, SyncRunOutcome.FAILED, message)
        raise ApplicationError(message) from exc
    else:
        _finish(run, SyncRunOutcome.SUCCEEDED, "")


def _finish(run: SyncRun, outcome: str, error: str) -> None:
    run.outcome = outcome
    run.error = error
    run.finished_at = timezone.now()
    if outcome == SyncRunOutcome.SUCCEEDED and run.progress_total:
        run.progress_done = run.progress_total
    run.save(update_fields=["outcome", "error", "finished_at", "counts", "progress_done", "progress_total", "progress_label", "project"])

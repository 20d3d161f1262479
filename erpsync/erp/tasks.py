"""Background work. Tasks are thin: load by id, call the service.

Each task that starts a sync run notes its own id on the run (see services/runs.py), so a run
whose worker died can settle that task too.
"""

import logging
from contextlib import contextmanager

from crontask import cron
from django.conf import settings
from django.tasks import task

from erpsync.erp.models import ErpConnection, StagedJob, StagedJobStatus, SyncRun
from erpsync.erp.services.runs import current_task_id
from erpsync.errors import ApplicationError

logger = logging.getLogger(__name__)


@contextmanager
def doing(context):
    token = current_task_id.set(str(context.task_result.id))
    try:
        yield
    finally:
        current_task_id.reset(token)


@task(takes_context=True)
def erp_refresh_task(context, connection_id: int, run_id: int, user_id: int | None = None, full: bool = False) -> None:
    from django.contrib.auth import get_user_model

    from erpsync.erp.services import erp_refresh

    connection = ErpConnection.objects.get(pk=connection_id)
    user = get_user_model().objects.get(pk=user_id) if user_id else None
    try:
        with doing(context):
            erp_refresh(connection=connection, user=user, run=SyncRun.objects.get(pk=run_id), full=full)
    except ApplicationError as exc:
        logger.warning("refresh of connection %s failed: %s", connection_id, exc.message)


@task(takes_context=True)
def job_costs_sync_task(context, project_id: int, run_id: int | None = None) -> None:
    from erpsync.erp.services import job_costs_sync
    from erpsync.projects.models import Project

    try:
        with doing(context):
            job_costs_sync(project=Project.objects.get(pk=project_id), run=SyncRun.objects.filter(pk=run_id).first())
    except ApplicationError as exc:
        logger.warning("job-cost sync of project %s failed: %s", project_id, exc.message)


@task(takes_context=True)
def procore_publish_task(context, job_id: int, run_id: int | None = None) -> None:
    from erpsync.erp.services.publish import procore_publish

    try:
        with doing(context):
            procore_publish(job=StagedJob.objects.select_related("company", "connection", "project").get(pk=job_id),
                            run=SyncRun.objects.filter(pk=run_id).first())
    except ApplicationError as exc:
        logger.warning("publishing job %s to Procore failed: %s", job_id, exc.message)


@cron(settings.RUN_REAPER_SCHEDULE)
@task
def sync_runs_reap_all() -> None:
    """Interrupt the runs whose process has stopped, so nothing stays "running" for ever."""
    from erpsync.erp.services.runs import sync_runs_reap

    sync_runs_reap()


@cron(settings.JOB_COST_SYNC_SCHEDULE)
@task
def job_costs_sync_all() -> None:
    """Queue a job-cost sync for every synced project; each runs (and fails) on its own."""
    project_ids = (
        StagedJob.objects.filter(status=StagedJobStatus.SYNCED, controlling_code="", project__isnull=False)
        .values_list("project_id", flat=True).distinct()
    )
    for project_id in project_ids:
        job_costs_sync_task.enqueue(project_id)


@cron(settings.FULL_REFRESH_SCHEDULE)
@task
def erp_full_refresh_all() -> None:
    """Queue a full refresh of every connection that is otherwise refreshed incrementally.

    Incremental refreshes see what CMiC changed, not what it deleted; the full one (nightly by
    default) lets phases and categories deleted in the ERP leave staging too.
    """
    from erpsync.erp.services.refresh import erp_refresh_queue_full

    for connection in ErpConnection.objects.select_related("company"):
        erp_refresh_queue_full(connection=connection)

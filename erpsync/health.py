"""/healthz: whether this deployment can do its work, for load balancers and monitors.

Unauthenticated, so it tells ages and counts only: no names, no data.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max, Q
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

_migrated = False  # once every migration is applied it stays so until the next deploy restarts us


def _migrations_applied() -> bool:
    global _migrated
    if not _migrated:
        executor = MigrationExecutor(connection)
        _migrated = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrated


def _age(when, now) -> int | None:
    return round((now - when).total_seconds()) if when else None


@require_GET
@never_cache
@login_not_required
def healthz(request):
    from django_tasks_db.models import DBTaskResult

    from erpsync.erp.models import ErpConnection, SyncRun, SyncRunKind, SyncRunOutcome

    now = timezone.now()
    try:
        connection.ensure_connection()
    except DatabaseError:
        return JsonResponse({"status": "failing", "database": False}, status=503)
    try:
        migrated = _migrations_applied()
        if not migrated:  # the tables below may not be there yet
            return JsonResponse({"status": "failing", "database": True, "migrations_applied": False}, status=503)
        oldest = DBTaskResult.objects.ready().order_by("enqueued_at").first()
        succeeded = Q(sync_runs__outcome=SyncRunOutcome.SUCCEEDED)
        connections = ErpConnection.objects.order_by("pk").annotate(
            refresh=Max("sync_runs__finished_at", filter=succeeded & Q(sync_runs__kind=SyncRunKind.REFRESH)),
            job_costs=Max("sync_runs__finished_at", filter=succeeded & Q(sync_runs__kind=SyncRunKind.JOB_COSTS)),
        ).values_list("refresh", "job_costs")
        body = {
            "database": True,
            "migrations_applied": migrated,
            "oldest_queued_task_age_seconds": _age(oldest.enqueued_at, now) if oldest else None,
            "interrupted_runs_last_day": SyncRun.objects.filter(outcome=SyncRunOutcome.INTERRUPTED,
                                                                finished_at__gte=now - timedelta(days=1)).count(),
            "connections": [{"last_refresh_age_seconds": _age(refresh, now), "last_job_cost_sync_age_seconds": _age(job_costs, now)}
                            for refresh, job_costs in connections],
        }
    except DatabaseError:
        return JsonResponse({"status": "failing", "database": False}, status=503)
    stuck = body["oldest_queued_task_age_seconds"] is not None and body["oldest_queued_task_age_seconds"] > settings.HEALTH_QUEUE_SECONDS
    healthy = migrated and not stuck
    return JsonResponse({"status": "ok" if healthy else "failing", **body}, status=200 if healthy else 503)


"""Reads for the ERP Integrations pages: each a fixed number of queries, whatever the size."""

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.formats import date_format

from erpsync.erp.models import AuditEvent, StagedJob, StagedJobStatus, SyncRun, SyncRunKind, SyncRunOutcome

JOB_SORTS = {
    "id": "job_code",
    "name": "name",
    "start": "start_date",
    "end": "end_date",
    "codes": "cost_code_count",
}


def staged_job_counts(company) -> dict[str, int]:
    counts = StagedJob.objects.filter(company=company, controlling_code="").aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in StagedJobStatus.values}
    )
    return counts


def staged_job_list(company, *, status: str, query: str = "", sort: str = "id", descending: bool = False):
    jobs = StagedJob.objects.filter(company=company, controlling_code="", status=status)
    if query:
        jobs = jobs.filter(Q(job_code__icontains=query) | Q(name__icontains=query))
    field = JOB_SORTS.get(sort, "job_code")
    order = [f"-{field}" if descending else field]
    if field != "job_code":
        order.append("job_code")
    return jobs.select_related("project", "connection").only(
        "job_code", "name", "erp_status", "city", "state", "start_date", "end_date", "cost_code_count", "sub_job_count",
        "problems", "status", "last_job_cost_sync_at", "erp_company_code", "controlling_code",
        "publish_status", "publish_step", "publish_error", "new_cost_codes",
        "project__project_number", "project__name", "connection__kind",
    ).order_by(*order)


def refresh_runs_active(company):
    return SyncRun.objects.filter(
        company=company, kind=SyncRunKind.REFRESH, outcome__in=[SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]
    ).select_related("connection").order_by("created_at")


def refresh_run_latest(company):
    return SyncRun.objects.filter(company=company, kind=SyncRunKind.REFRESH).select_related("started_by").order_by("-created_at").first()


def job_moved_by(job: StagedJob, *, user) -> str:
    """What moved the job out of Ready to Import, who did it and when, in one sentence ("" if it is ready).

    Said to a user whose action found the job already moved, so that they know it was not their doing.
    """
    if job.status == StagedJobStatus.ARCHIVED:
        event = AuditEvent.objects.filter(action="erp_job.archived", object_type="stagedjob", object_id=str(job.pk))
        done = "was archived"
    elif job.status == StagedJobStatus.READY:
        event = AuditEvent.objects.filter(action="erp_job.restored", object_type="stagedjob", object_id=str(job.pk))
        done = "was restored to Ready to Import"
    elif job.status == StagedJobStatus.SYNCED and job.project_id:
        event = AuditEvent.objects.filter(action="erp_job.imported", object_type="project", object_id=str(job.project_id))
        done = f"was added as project {job.project.project_number}"
    else:
        return ""
    event = event.select_related("actor").order_by("-created_at").first()
    if event is None:
        return "" if job.status == StagedJobStatus.READY else f"Job {job.job_code} {done} already."
    who = "you" if event.actor_id == user.pk else (event.actor.get_full_name() or event.actor.username) if event.actor else "erpsync"
    when = timezone.localtime(event.created_at)
    at = date_format(when, "H:i") if timezone.localdate() == when.date() else date_format(when, "M j, Y H:i")
    return f"Job {job.job_code} {done} by {who} at {at}."

"""Reads for the ERP Integrations pages: each a fixed number of queries, whatever the size."""

from django.db.models import Count, Q

from erpsync.erp.models import StagedJob, StagedJobStatus, SyncRun, SyncRunKind, SyncRunOutcome

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
        "publish_status", "publish_step", "publish_error",
        "project__project_number", "project__name", "connection__kind",
    ).order_by(*order)


def refresh_runs_active(company):
    return SyncRun.objects.filter(
        company=company, kind=SyncRunKind.REFRESH, outcome__in=[SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]
    ).select_related("connection").order_by("created_at")


def refresh_run_latest(company):
    return SyncRun.objects.filter(company=company, kind=SyncRunKind.REFRESH).select_related("started_by").order_by("-created_at").first()

from django.core.paginator import Paginator
from django.db.models import Q

from erpsync.erp.models import AuditEvent, StagedJob, SyncRun, SyncRunKind, SyncRunOutcome
from erpsync.erp.narrative import event_sentence, run_sentence
from erpsync.erp.views.common import can_view, erp_page


@can_view
def history(request):
    company = request.membership.company
    kind = request.GET.get("kind", "")
    outcome = request.GET.get("outcome", "")
    job_code = request.GET.get("job", "").strip()[:60]
    runs = SyncRun.objects.filter(company=company).select_related("started_by", "project", "connection", "job").order_by("-created_at")
    events = AuditEvent.objects.filter(company=company).select_related("actor").order_by("-created_at")
    if kind in SyncRunKind.values:
        runs = runs.filter(kind=kind)
    if outcome in SyncRunOutcome.values:
        runs = runs.filter(outcome=outcome)
    if job_code:
        jobs = StagedJob.objects.filter(company=company, job_code=job_code)
        project_ids = [pk for pk in jobs.values_list("project_id", flat=True) if pk]
        runs = runs.filter(Q(job__in=jobs) | Q(project_id__in=project_ids))
        events = events.filter(
            Q(object_type="stagedjob", object_id__in=[str(pk) for pk in jobs.values_list("pk", flat=True)])
            | Q(object_type="project", object_id__in=[str(pk) for pk in project_ids])
            | Q(action="erp_jobs.pulled", after__jobs__icontains=f"/{job_code}\"")
        )
    known_job = not job_code or StagedJob.objects.filter(company=company, job_code=job_code).exists()
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    return erp_page(request, "erp/history.html", "history", {
        "page": page, "kind": kind, "outcome": outcome, "job": job_code, "known_job": known_job,
        "runs": [(run, run_sentence(run)) for run in page],
        "events": [(event, event_sentence(event)) for event in events[:50]],
        "kinds": SyncRunKind.choices, "outcomes": SyncRunOutcome.choices,
    })

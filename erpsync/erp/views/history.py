from django.core.paginator import Paginator

from erpsync.erp.models import AuditEvent, SyncRun, SyncRunKind, SyncRunOutcome
from erpsync.erp.views.common import can_view, erp_page


@can_view
def history(request):
    company = request.membership.company
    kind = request.GET.get("kind", "")
    outcome = request.GET.get("outcome", "")
    runs = SyncRun.objects.filter(company=company).select_related("started_by", "project", "connection").order_by("-created_at")
    if kind in SyncRunKind.values:
        runs = runs.filter(kind=kind)
    if outcome in SyncRunOutcome.values:
        runs = runs.filter(outcome=outcome)
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    events = AuditEvent.objects.filter(company=company).select_related("actor").order_by("-created_at")[:50]
    return erp_page(request, "erp/history.html", "history", {
        "page": page, "events": events, "kind": kind, "outcome": outcome,
        "kinds": SyncRunKind.choices, "outcomes": SyncRunOutcome.choices,
    })

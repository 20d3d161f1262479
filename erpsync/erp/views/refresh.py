from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from erpsync.companies import permissions
from erpsync.erp.selectors import refresh_run_latest, refresh_runs_active
from erpsync.erp.services import erp_refresh_enqueue
from erpsync.erp.views.common import can_view, require
from erpsync.errors import ApplicationError


@require_POST
@require(permissions.can_refresh_erp, permissions.REFRESH_REQUIREMENT)
def refresh(request):
    company = request.membership.company
    connections = list(company.erp_connections.all())
    if not connections:
        messages.error(request, "There is no ERP connection yet; an ERP admin can add one under Settings.")
        return redirect("erp:jobs")
    try:
        for connection in connections:
            erp_refresh_enqueue(connection=connection, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("erp:jobs")
    if request.htmx:
        return progress(request)
    messages.info(request, "The refresh has started; this page shows its progress.")
    return redirect("erp:jobs")


@can_view
def progress(request):
    """The refresh panel. While a refresh runs htmx polls it; when it ends the page reloads."""
    company = request.membership.company
    active = list(refresh_runs_active(company))
    was_active = request.GET.get("watching") == "1"
    response = render(request, "erp/refresh_progress.html", {
        "active": active,
        "latest": None if active else refresh_run_latest(company),
        "finished_now": was_active and not active,
    })
    if was_active and not active and request.htmx:
        response["HX-Refresh"] = "true"
    return response

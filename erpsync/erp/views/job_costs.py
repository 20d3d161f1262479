from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from erpsync.companies import permissions
from erpsync.erp.services import job_costs_sync_enqueue
from erpsync.erp.views.common import require
from erpsync.errors import ApplicationError

from erpsync.erp.models import StagedJob, StagedJobStatus
from erpsync.erp.views.common import can_view, erp_page
from erpsync.projects.models import Project
from erpsync.projects.reports import job_cost_report, job_cost_report_csv, job_cost_summary


def _synced_projects(company):
    ids = StagedJob.objects.filter(company=company, status=StagedJobStatus.SYNCED, controlling_code="").values("project_id")
    return Project.objects.filter(company=company, pk__in=ids).only("project_number", "name").order_by("project_number")


@can_view
def job_costs(request):
    company = request.membership.company
    projects = list(_synced_projects(company))
    chosen = request.GET.get("project", "")
    project = next((p for p in projects if str(p.pk) == chosen), projects[0] if projects else None)
    report = job_cost_summary(project) if project else None  # divisions with totals; each opens on demand
    return erp_page(request, "erp/job_costs.html", "job_costs", {
        "projects": projects, "project": project, "report": report, "chart": report.chart() if report else None,
    })


@can_view
def job_costs_csv(request, pk):
    project = get_object_or_404(_synced_projects(request.membership.company), pk=pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-costs-{project.project_number}.csv"'
    job_cost_report_csv(job_cost_report(project), response)
    return response


@require_POST
@require(permissions.can_refresh_erp, permissions.SYNC_REQUIREMENT)
def job_costs_sync_now(request, pk):
    project = get_object_or_404(_synced_projects(request.membership.company), pk=pk)
    try:
        job_costs_sync_enqueue(project=project, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, f"The job costs of {project.project_number} are being synced; Sync History shows the outcome.")
    return redirect(reverse("erp:job_costs") + f"?project={project.pk}")

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from erpsync.companies import permissions
from erpsync.erp.forms import ImportForm
from erpsync.erp.models import ErpSettings, StagedJob, StagedJobStatus
from erpsync.erp.selectors import JOB_SORTS, refresh_run_latest, refresh_runs_active, staged_job_counts, staged_job_list
from erpsync.erp.services import erp_job_archive, erp_job_import, erp_job_unarchive
from erpsync.erp.views.common import can_view, erp_page, require
from erpsync.errors import ApplicationError
from erpsync.projects.models import ProjectTemplate

PAGE_SIZE = 50
STATUS_PARAM = {"ready": StagedJobStatus.READY, "synced": StagedJobStatus.SYNCED, "archived": StagedJobStatus.ARCHIVED}


def _job(request, pk) -> StagedJob:
    return get_object_or_404(StagedJob.objects.select_related("connection", "company", "project"), pk=pk, company=request.membership.company)


def _templates(company):
    templates = list(ProjectTemplate.objects.filter(company=company).order_by("name"))
    settings = ErpSettings.objects.filter(company=company).only("default_template_id").first()
    return templates, settings.default_template_id if settings else None


@can_view
def job_list(request):
    company = request.membership.company
    status_key = request.GET.get("status", "ready")
    status = STATUS_PARAM.get(status_key, StagedJobStatus.READY)
    query = request.GET.get("q", "").strip()[:60]
    sort = request.GET.get("sort", "id")
    sort = sort if sort.lstrip("-") in JOB_SORTS else "id"
    jobs = staged_job_list(company, status=status, query=query, sort=sort.lstrip("-"), descending=sort.startswith("-"))
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    templates, default_template = _templates(company) if status == StagedJobStatus.READY else ([], None)
    connection = company.erp_connections.only("kind").first()
    context = {
        "status": status,
        "status_key": status_key if status_key in STATUS_PARAM else "ready",
        "counts": staged_job_counts(company),
        "page": page,
        "query": query,
        "sort": sort,
        "templates": templates,
        "default_template": default_template,
        "erp_name": connection.erp_name if connection else "ERP",
        "has_connection": connection is not None,
        "active": list(refresh_runs_active(company)),
        "latest": refresh_run_latest(company),
        "columns": [("id", f"{connection.erp_name if connection else 'ERP'} ID"), ("name", "Name"), ("start", "Start"), ("end", "End"), ("codes", "Cost codes")],
    }
    return erp_page(request, "erp/jobs.html", "jobs", context)


def _row_response(request, job, *, error: str = "", status: int = 200):
    company = request.membership.company
    templates, default_template = _templates(company)
    context = {"job": job, "row_error": error, "templates": templates, "default_template": default_template,
               "erp_name": job.connection.erp_name, "limit_reached": _limit(company)}
    return render(request, "erp/jobs.html#job-row", context, status=status)


def _limit(company):
    from erpsync.erp.services import project_limit_reached

    return project_limit_reached(company)


def _removed_row(request, text: str) -> HttpResponse:
    """For htmx: the row goes away and the message appears at the top."""
    return render(request, "erp/jobs.html#row-removed", {"text": text})


def _back(request):
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/erp/") else reverse("erp:jobs"))


@require_POST
@require(permissions.can_import_erp_job, permissions.IMPORT_REQUIREMENT)
def job_add(request, pk):
    job = _job(request, pk)
    form = ImportForm(request.POST, company=job.company)
    if not form.is_valid():
        error = "Pick a project template, or “Do not apply a template”."
    else:
        try:
            project = erp_job_import(job=job, template=form.cleaned_data["template"], user=request.user)
        except ApplicationError as exc:
            error = exc.message
        else:
            link = reverse("projects:detail", args=[project.pk])
            text = format_html('Job {} was added as project <a href="{}">{} {}</a>.', job.job_code, link, project.project_number, project.name)
            if request.htmx:
                return _removed_row(request, text)
            messages.success(request, text)
            return _back(request)
    if request.htmx:
        job.refresh_from_db()
        return _row_response(request, job, error=error)
    messages.error(request, error)
    return _back(request)


def _change_status(request, job, service, done: str):
    try:
        service(job=job, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back(request)
    if request.htmx:
        return _removed_row(request, done)
    messages.success(request, done)
    return _back(request)


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_erp_jobs, permissions.MANAGE_REQUIREMENT)
def job_archive(request, pk):
    job = _job(request, pk)
    if request.method == "GET":
        return erp_page(request, "erp/job_archive_confirm.html", "jobs", {"job": job})
    return _change_status(request, job, erp_job_archive, f"Job {job.job_code} was archived. Find it under Archived to restore it.")


@require_POST
@require(permissions.can_manage_erp_jobs, permissions.MANAGE_REQUIREMENT)
def job_restore(request, pk):
    job = _job(request, pk)
    return _change_status(request, job, erp_job_unarchive, f"Job {job.job_code} is back in Ready to Import.")

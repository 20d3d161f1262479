from urllib.parse import urlparse

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from erpsync.companies import permissions
from erpsync.erp.forms import ImportForm
from erpsync.erp.models import ErpSettings, ProcoreConnection, StagedJob, StagedJobStatus
from erpsync.erp.selectors import (
    JOB_SORTS,
    job_moved_by,
    refresh_run_latest,
    refresh_runs_active,
    staged_job_counts,
    staged_job_list,
)
from erpsync.erp.services import erp_job_archive, erp_job_import, erp_job_unarchive, project_limit_reached
from erpsync.erp.services.publish import procore_publish_enqueue
from erpsync.erp.views.common import can_view, erp_page, require
from erpsync.errors import ApplicationError
from erpsync.search import search_query
from erpsync.projects.models import ProjectTemplate

PAGE_SIZE = 50
STATUS_PARAM = {"ready": StagedJobStatus.READY, "synced": StagedJobStatus.SYNCED, "archived": StagedJobStatus.ARCHIVED}


def _job(request, pk) -> StagedJob:
    return get_object_or_404(StagedJob.objects.select_related("connection", "company", "project"), pk=pk, company=request.membership.company)


def _procore(company):
    return ProcoreConnection.objects.filter(company=company).only("templates").first()


def _templates(company, procore):
    """The picker's choices as (value, name) and the default value; Procore's templates when connected."""
    settings = ErpSettings.objects.filter(company=company).select_related("default_template").first()
    default = settings.default_template if settings else None
    if procore is not None:
        choices = [(f"procore:{t['id']}", t["name"]) for t in procore.templates]
        chosen = next((value for value, name in choices if default and name == default.name), None)
        return choices, chosen
    choices = [(str(t.pk), t.name) for t in ProjectTemplate.objects.filter(company=company).order_by("name")]
    return choices, str(default.pk) if default else None


@can_view
def job_list(request):
    context, refused = _list_context(request, request.GET)
    if refused:
        messages.error(request, refused)
    return erp_page(request, "erp/jobs.html", "jobs", context)


def _list_context(request, params) -> tuple[dict, str]:
    """What the jobs list shows for these query parameters (status, q, sort, page); and why a search was not run."""
    company = request.membership.company
    status_key = params.get("status", "ready")
    status = STATUS_PARAM.get(status_key, StagedJobStatus.READY)
    query, refused = search_query(request, params)
    sort = params.get("sort", "id")
    sort = sort if sort.lstrip("-") in JOB_SORTS else "id"
    jobs = staged_job_list(company, status=status, query=query, sort=sort.lstrip("-"), descending=sort.startswith("-"))
    page = Paginator(jobs, PAGE_SIZE).get_page(params.get("page"))
    procore = _procore(company)
    templates, default_template = _templates(company, procore) if status == StagedJobStatus.READY else ([], None)
    connection = company.erp_connections.only("kind").first()
    erp_name = connection.erp_name if connection else "ERP"
    active = list(refresh_runs_active(company))
    context = {
        "status": status,
        "status_key": status_key if status_key in STATUS_PARAM else "ready",
        "counts": staged_job_counts(company),
        "page": page,
        "query": query,
        "sort": sort,
        "templates": templates,
        "default_template": default_template,
        "erp_name": erp_name,
        "has_connection": connection is not None,
        "active": active,
        "latest": None if active else refresh_run_latest(company),
        "procore": procore is not None,
        "columns": [("id", f"{erp_name} ID"), ("name", "Name"), ("start", "Start"), ("end", "End"), ("codes", "Cost codes")],
    }
    return context, refused


def _row_response(request, job, *, error: str = "", status: int = 200):
    company = request.membership.company
    procore = _procore(company)
    templates, default_template = _templates(company, procore)
    context = {"job": job, "row_error": error, "templates": templates, "default_template": default_template,
               "erp_name": job.connection.erp_name, "limit_reached": project_limit_reached(company), "procore": procore is not None,
               "focus_row": True}
    return render(request, "erp/jobs.html#row-replaced", context, status=status)  # and the last action's message goes


def _removed_row(request, text: str, *, kind: str = "success") -> HttpResponse:
    """For htmx: the message appears at the top and the list the user is looking at is shown anew (counts, rows, empty state)."""
    current = urlparse(request.htmx.current_url or "")
    params = QueryDict(current.query) if current.path == reverse("erp:jobs") else QueryDict("")
    context, _ = _list_context(request, params)
    return render(request, "erp/jobs.html#row-removed", {**context, "text": text, "kind": kind,
                                                          "limit_reached": project_limit_reached(request.membership.company)})


def _back(request):
    target = request.POST.get("next", "")
    return redirect(target if target.startswith(("/erp/", "/projects/")) else reverse("erp:jobs"))


@require_POST
@require(permissions.can_import_erp_job, permissions.IMPORT_REQUIREMENT)
def job_add(request, pk):
    job = _job(request, pk)
    if job.status != StagedJobStatus.READY:  # someone else moved it since this user's page was drawn
        return _moved(request, job)
    procore = _procore(job.company)
    form = ImportForm(request.POST, company=job.company, procore_templates=procore.templates if procore else ())
    if not form.is_valid():
        error = "Pick a project template, or “Do not apply a template”."
    else:
        try:
            project = erp_job_import(job=job, template=form.cleaned_data["template"], user=request.user,
                                     procore_template_id=form.procore_template_id)
        except ApplicationError as exc:
            error = exc.message
        else:
            moved = job_moved_by(job, user=request.user)
            if moved and " by you " not in moved:  # another user's add of the same job won
                return _moved(request, job)
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


def _moved(request, job) -> HttpResponse:
    """The job is no longer where this user saw it: say who moved it, and show the list as it is now."""
    job.refresh_from_db()
    text = job_moved_by(job, user=request.user) or f"Job {job.job_code} is no longer where it was; the list shows it as it is now."
    if request.htmx:
        return _removed_row(request, text, kind="warning")
    messages.warning(request, text)
    return _back(request)


def _change_status(request, job, service, done: str, *, source: str):
    if job.status != source:  # someone else moved it since this user's page was drawn
        return _moved(request, job)
    try:
        service(job=job, user=request.user)
    except ApplicationError as exc:
        job.refresh_from_db()
        if job.status != source:
            return _moved(request, job)
        messages.error(request, exc.message)
        return _back(request)
    if request.htmx:
        return _removed_row(request, done)
    messages.success(request, done)
    return _back(request)


@require_POST
@require(permissions.can_import_erp_job, permissions.IMPORT_REQUIREMENT)
def job_publish(request, pk):
    """Retry a publish to Procore that failed."""
    job = _job(request, pk)
    if job.status != StagedJobStatus.SYNCED:
        messages.error(request, f"Job {job.job_code} is not a project yet; add it first.")
    else:
        procore_publish_enqueue(job=job)
        messages.info(request, f"Job {job.job_code} is being published to Procore again.")
    return _back(request)


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_erp_jobs, permissions.MANAGE_REQUIREMENT)
def job_archive(request, pk):
    job = _job(request, pk)
    if request.method == "GET":
        return erp_page(request, "erp/job_archive_confirm.html", "jobs", {"job": job})
    return _change_status(request, job, erp_job_archive, f"Job {job.job_code} was archived. Find it under Archived to restore it.",
                          source=StagedJobStatus.READY)


@require_POST
@require(permissions.can_manage_erp_jobs, permissions.MANAGE_REQUIREMENT)
def job_restore(request, pk):
    job = _job(request, pk)
    return _change_status(request, job, erp_job_unarchive, f"Job {job.job_code} is back in Ready to Import.",
                          source=StagedJobStatus.ARCHIVED)

"""Link a job to an existing project (suggestions, search, preview, confirm), unlink it, and refresh a project's cost codes."""

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods

from erpsync.companies import permissions
from erpsync.erp.models import StagedJob, StagedJobStatus
from erpsync.erp.services import cost_codes_preview, cost_codes_refresh, erp_job_link, erp_job_unlink, link_preview, link_suggestions
from erpsync.erp.services.linking import project_search
from erpsync.erp.views.common import erp_page, require
from erpsync.errors import ApplicationError, PreviewOutdated
from erpsync.projects.models import Project
from erpsync.search import search_query

NEW_IN_PROCORE = "new"


def _job(request, pk) -> StagedJob:
    return get_object_or_404(StagedJob.objects.select_related("connection", "company", "project"), pk=pk,
                             company=request.membership.company)


def _linkable_job(request, job) -> str:
    """Why this job cannot be linked now, or ""."""
    if job.controlling_code:
        return f"Job {job.job_code} is a sub job; link its control job {job.controlling_code}."
    if job.status == StagedJobStatus.SYNCED:
        return f"Job {job.job_code} is already synced with project {job.project}; unlink it first to link it elsewhere."
    if job.status == StagedJobStatus.ARCHIVED:
        return f"Job {job.job_code} is archived; restore it before linking it."
    return ""


@require_http_methods(["GET"])
@require(permissions.can_administer_erp, permissions.LINK_REQUIREMENT)
def job_link(request, pk):
    """Suggested projects for the job, and a search of every project not linked to a job."""
    job = _job(request, pk)
    refused = _linkable_job(request, job)
    if refused:
        messages.error(request, refused)
        return redirect("erp:job_detail", pk=job.pk)
    query, bad_query = search_query(request)
    if bad_query:
        messages.error(request, bad_query)
    return erp_page(request, "erp/job_link.html", "jobs", {
        "job": job, "suggestions": link_suggestions(job, user=request.user), "query": query,
        "results": project_search(job, query) if query else None, "erp_name": job.connection.erp_name,
    })


class LinkForm(forms.Form):
    """The Procore project to link (when the company publishes to Procore): one Procore lists, or a new one."""

    procore_project = forms.ChoiceField(required=False, widget=forms.RadioSelect)

    def __init__(self, *args, preview, **kwargs):
        super().__init__(*args, **kwargs)
        self.preview = preview
        free = [p for p in preview.procore_projects if not p["linked_to"]]
        new = [] if preview.project.procore_id else [(NEW_IN_PROCORE, "A new Procore project")]  # it has its Procore project
        self.fields["procore_project"].choices = [*((str(p["id"]), f"{p['project_number']} {p['name']}") for p in free), *new]
        self.fields["procore_project"].required = preview.procore
        exact = [str(p["id"]) for p in free if p.get("ours") or p["project_number"] == preview.project.project_number]
        self.initial_choice = exact[0] if len(exact) == 1 else NEW_IN_PROCORE

    def procore_project_id(self) -> int | None:
        value = self.cleaned_data.get("procore_project") or NEW_IN_PROCORE
        return None if value == NEW_IN_PROCORE else int(value)


@require_http_methods(["GET", "POST"])
@require(permissions.can_administer_erp, permissions.LINK_REQUIREMENT)
def job_link_confirm(request, pk, project_pk):
    """What linking the job to this project changes; confirming links it."""
    job = _job(request, pk)
    if job.status == StagedJobStatus.SYNCED and job.project_id == project_pk:
        messages.info(request, f"Job {job.job_code} is linked to project {job.project} already.")
        return redirect("erp:job_detail", pk=job.pk)
    refused = _linkable_job(request, job)
    if refused:
        messages.error(request, refused)
        return redirect("erp:job_detail", pk=job.pk)
    project = get_object_or_404(Project, pk=project_pk, company=request.membership.company)
    try:
        preview = link_preview(job=job, project=project, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("erp:job_link", pk=job.pk)
    form = LinkForm(request.POST if request.method == "POST" else None, preview=preview)
    if request.method == "POST" and form.is_valid() and not preview.refusals:
        try:
            erp_job_link(job=job, project=project, user=request.user, procore_project_id=form.procore_project_id(),
                         expected=request.POST.get("expected", ""))
        except PreviewOutdated as exc:
            messages.warning(request, f"{exc.message} Here is what linking changes now.")
            return redirect("erp:job_link_confirm", pk=job.pk, project_pk=project.pk)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            link = reverse("projects:detail", args=[project.pk])
            messages.success(request, format_html(
                'Job {} is linked to project <a href="{}">{} {}</a>; its cost codes and job costs are in the project{}.',
                job.job_code, link, project.project_number, project.name,
                " and are being published to Procore" if preview.procore else ""))
            return redirect("erp:job_detail", pk=job.pk)
    return erp_page(request, "erp/job_link_preview.html", "jobs", {
        "job": job, "project": project, "preview": preview, "plan": preview.plan, "form": form,
        "chosen": request.POST.get("procore_project", form.initial_choice), "erp_name": job.connection.erp_name,
    })


class UnlinkForm(forms.Form):
    then = forms.ChoiceField(choices=[("ready", "Back to Ready to Import"), ("archived", "Archived")], widget=forms.RadioSelect,
                             initial="ready", error_messages={"required": "Choose where the job goes: Ready to Import or Archived."})


@require_http_methods(["GET", "POST"])
@require(permissions.can_manage_erp_jobs, permissions.UNLINK_REQUIREMENT)
def job_unlink(request, pk):
    job = _job(request, pk)
    if job.status != StagedJobStatus.SYNCED or job.project is None or job.controlling_code:
        messages.error(request, f"Job {job.job_code} is not linked to a project{' of its own; unlink its control job' if job.controlling_code else ''}.")
        return redirect("erp:job_detail", pk=job.pk)
    form = UnlinkForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        project = job.project
        try:
            job = erp_job_unlink(job=job, user=request.user, archive=form.cleaned_data["then"] == "archived")
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Job {job.job_code} is unlinked from project {project}; the project keeps its cost codes "
                             f"and job costs, which no longer sync. The job is {job.get_status_display()}"
                             + (f"; its number is still project {project.project_number}'s, so it can be linked again but not added"
                                if project.project_number == job.job_code else "")
                             + ("; restore it first to link or add it." if job.status == StagedJobStatus.ARCHIVED else "."))
            return redirect("erp:job_detail", pk=job.pk)
    number_free = not Project.objects.filter(company=job.company, project_number=job.job_code).exists()
    return erp_page(request, "erp/job_unlink_confirm.html", "jobs", {"job": job, "form": form, "number_free": number_free,
                                                                      "procore": job.project.procore_id is not None})


@require_http_methods(["GET", "POST"])
@require(permissions.can_refresh_erp, permissions.COST_CODES_REQUIREMENT)
def cost_codes(request, pk):
    """Refresh cost codes: what the ERP has now against the project (GET), applied on confirm (POST)."""
    project = get_object_or_404(Project, pk=pk, company=request.membership.company)
    job = StagedJob.objects.filter(project=project, status=StagedJobStatus.SYNCED, controlling_code="").select_related("connection").first()
    if job is None:
        messages.error(request, f"Project {project} is not linked to an ERP job, so it has no cost codes to refresh.")
        return redirect("projects:detail", pk=project.pk)
    try:
        if request.method == "POST":
            try:
                plan, _ = cost_codes_refresh(project=project, user=request.user, expected=request.POST.get("expected", ""))
            except PreviewOutdated as exc:
                messages.warning(request, f"{exc.message} Here is what refreshing changes now.")
                return redirect("erp:cost_codes", pk=project.pk)
            if plan.changes:
                messages.success(request, f"The cost codes of project {project} are up to date with {job.connection.erp_name}: "
                                 f"{_summary(plan)}.")
            else:
                messages.info(request, f"The cost codes of project {project} already match {job.connection.erp_name}; nothing changed.")
            return redirect("projects:detail", pk=project.pk)
        plan = cost_codes_preview(project=project, user=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("projects:detail", pk=project.pk)
    return erp_page(request, "erp/cost_codes_refresh.html", "jobs", {"project": project, "job": job, "plan": plan,
                                                                      "erp_name": job.connection.erp_name})


def _summary(plan) -> str:
    parts = [(len(plan.codes_to_add), "cost code", "added"), (len(plan.renamed), "cost code", "renamed"),
             (len(plan.gone), "cost code", "made inactive"), (len(plan.reactivated), "cost code", "made active again"),
             (len(plan.lines_to_add), "cost type assignment", "added"), (len(plan.types_to_add), "cost type", "added")]
    return ", ".join(f"{n:,} {what}{'s' if n != 1 else ''} {done}" for n, what, done in parts if n) or "nothing changed"

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render

from erpsync.companies.models import Membership
from erpsync.companies.permissions import can_import_erp_job, can_manage_templates, can_refresh_erp
from erpsync.errors import ApplicationError
from erpsync.search import search_query
from erpsync.projects.models import CostCode, Project, ProjectTemplate
from erpsync.projects.reports import job_cost_division, job_cost_summary
from erpsync.projects.services import TEMPLATE_REQUIREMENT, project_template_delete, project_template_save, project_template_snapshot

PAGE_SIZE = 50


def _company(request):
    if request.membership is None:
        raise PermissionDenied("You do not belong to any company yet; ask an administrator to add you.")
    return request.membership.company


def project_list(request):
    company = _company(request)
    query, refused = search_query(request)
    if refused:
        messages.error(request, refused)
    projects = Project.objects.filter(company=company).select_related("template").order_by("project_number")
    if query:
        projects = projects.filter(Q(project_number__icontains=query) | Q(name__icontains=query))
    page = Paginator(projects, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "projects/list.html", {"section": "projects", "page": page, "query": query})


CODES_SHOWN = 200  # cost codes a search lists at most


def project_detail(request, pk):
    """The project, its cost codes by division (each opened on demand) and its job costs by division.

    Large jobs have thousands of cost codes: the page lists divisions with their totals; a division's
    cost codes or job-cost lines come when asked for (htmx `part=codes|costs`, or `?division=` without script).
    """
    company = _company(request)
    project = get_object_or_404(Project.objects.select_related("template", "created_by"), pk=pk, company=company)
    division = request.GET.get("division", "")
    division = int(division) if division.isdigit() and len(division) < 19 else None
    part = request.GET.get("part", "")
    if request.htmx and part in ("codes", "costs", "costs-closed") and division is not None:
        return _division_part(request, project, division, part)
    report = job_cost_summary(project)
    query, refused = search_query(request)
    if refused:
        messages.error(request, refused)
    context = {
        "section": "projects", "project": project, "team": project.team.select_related("user"),
        "sub_jobs": project.sub_jobs.all(), "report": report, "chart": report.chart(), "query": query,
        "erp_jobs": project.erp_jobs.all(), "can_retry_publish": can_import_erp_job(request.membership),
        "can_refresh_cost_codes": can_refresh_erp(request.membership),
        "open_division": division,
    }
    if query:
        matches = (CostCode.objects.filter(project=project).filter(Q(code__icontains=query) | Q(description__icontains=query))
                   .select_related("sub_job").prefetch_related("budget_lines__cost_type").order_by("sub_job__code", "code"))
        context["matches"] = list(matches[:CODES_SHOWN + 1])
    if division is not None:  # without script: the page with one division open
        context["open_codes"] = _division_tree(project, division)
        context["open_costs"] = job_cost_division(project, division)
    return render(request, "projects/detail.html", context)


def _division_part(request, project, division: int, part: str):
    if part == "codes":
        tree = _division_tree(project, division)
        if tree is None:
            raise Http404("No such division")
        return render(request, "projects/detail.html#division-codes", {"project": project, "nodes": tree})
    found = job_cost_division(project, division)
    if found is None:
        raise Http404("No such division")
    found.line_count = len(found.lines)
    return render(request, "projects/job_cost_table.html#division-costs",
                  {"project": project, "d": found, "open": part == "costs", "focus": True})


def _division_tree(project, division: int) -> list | None:
    """The cost-code tree under one division, with each code's cost types (None if there is no such division)."""
    codes = list(CostCode.objects.filter(project=project).only("pk", "parent_id").values_list("pk", "parent_id"))
    children: dict = {}
    for pk, parent in codes:
        children.setdefault(parent, []).append(pk)
    if division not in children.get(None, []):
        return None
    wanted, frontier = {division}, [division]
    while frontier:
        frontier = [child for pk in frontier for child in children.get(pk, [])]
        wanted.update(frontier)
    loaded = {c.pk: c for c in CostCode.objects.filter(pk__in=wanted).prefetch_related("budget_lines__cost_type").order_by("code")}
    by_parent: dict = {}
    for c in loaded.values():
        by_parent.setdefault(c.parent_id, []).append(c)
    return [{"code": loaded[division], "children": _tree(by_parent, division)}]


def _tree(children: dict, parent_id, depth: int = 0) -> list:
    return [{"code": c, "children": _tree(children, c.pk, depth + 1) if depth < 20 else []} for c in children.get(parent_id, [])]


# --- templates ---------------------------------------------------------------------------


class TemplateForm(forms.ModelForm):
    class Meta:
        model = ProjectTemplate
        fields = ["name", "stage", "project_type", "office", "time_zone"]
        labels = {"project_type": "Project type"}


class TeamMemberForm(forms.Form):
    user = forms.ChoiceField(required=False)
    role = forms.CharField(max_length=80, required=False)

    def __init__(self, *args, users=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = [("", "—"), *users]

    def clean(self):
        data = super().clean()
        if data.get("user") and not data.get("role"):
            self.add_error("role", "Give the team member a project role.")
        return data


TeamFormSet = forms.formset_factory(TeamMemberForm, extra=3, max_num=30)


def _require_templates(request):
    company = _company(request)
    if not can_manage_templates(request.membership):
        raise PermissionDenied(TEMPLATE_REQUIREMENT)
    return company


def template_list(request):
    company = _require_templates(request)
    templates = ProjectTemplate.objects.filter(company=company).prefetch_related("team__user").order_by("name")
    return render(request, "projects/templates.html", {"section": "templates", "templates": templates})


def template_edit(request, pk=None):
    company = _require_templates(request)
    template = get_object_or_404(ProjectTemplate, pk=pk, company=company) if pk else ProjectTemplate(company=company)
    users = [(str(m.user_id), m.user.get_full_name() or m.user.username)
             for m in Membership.objects.filter(company=company).select_related("user").order_by("user__username")]
    initial_team = [{"user": str(m.user_id), "role": m.role} for m in template.team.all()] if pk else []
    if request.method == "POST":
        form = TemplateForm(request.POST, instance=template)
        team = TeamFormSet(request.POST, form_kwargs={"users": users}, prefix="team")
        if form.is_valid() and team.is_valid():
            before = project_template_snapshot(ProjectTemplate.objects.get(pk=pk)) if pk else None
            members = [(int(f.cleaned_data["user"]), f.cleaned_data["role"]) for f in team if f.cleaned_data.get("user")]
            try:
                project_template_save(template=form.save(commit=False), team=members, user=request.user, before=before)
            except ApplicationError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, f"The template {template.name} was saved.")
                return redirect("projects:templates")
    else:
        form = TemplateForm(instance=template)
        team = TeamFormSet(initial=initial_team, form_kwargs={"users": users}, prefix="team")
    return render(request, "projects/template_form.html", {"section": "templates", "form": form, "team": team, "template": template})


def template_delete(request, pk):
    company = _require_templates(request)
    template = get_object_or_404(ProjectTemplate, pk=pk, company=company)
    if request.method == "POST":
        project_template_delete(template=template, user=request.user)
        messages.success(request, f"The template {template.name} was deleted. Projects made from it keep their settings.")
        return redirect("projects:templates")
    return render(request, "projects/template_delete.html", {"section": "templates", "template": template,
                                                             "used_by": template.project_set.count()})

"""One ERP job in one place: what its project will be, its cost-code tree, every problem, its sub jobs and history."""

from django.db.models import Q
from django.http import Http404
from urllib.parse import urlencode

from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from erpsync.erp.models import AuditEvent, ErpSettings, StagedCostType, StagedJob, SyncRun
from erpsync.erp.narrative import event_sentence, run_sentence
from erpsync.erp.rules import resolved_parents
from erpsync.erp.services.validate import structure_of
from erpsync.erp.views.common import can_view, erp_page
from erpsync.erp.views.jobs import _procore, _templates
from erpsync.projects.models import Project


@can_view
def job_by_code(request, code):
    """A job named by its ERP code (as Sync History names jobs): its page, or the history of that code."""
    jobs = list(StagedJob.objects.filter(company=request.membership.company, job_code=code).values_list("pk", flat=True)[:2])
    if len(jobs) == 1:
        return redirect("erp:job_detail", pk=jobs[0])
    return redirect(f"{reverse('erp:history')}?{urlencode({'job': code})}")  # none, or one per connection


@can_view
def job_detail(request, pk):
    company = request.membership.company
    job = get_object_or_404(StagedJob.objects.select_related("connection", "project"), pk=pk, company=company)
    jobs = [job, *StagedJob.objects.filter(connection=job.connection, erp_company_code=job.erp_company_code,
                                             controlling_code=job.job_code).order_by("job_code")] if not job.controlling_code else [job]
    division = request.GET.get("division", "")
    if request.htmx and request.GET.get("part") == "codes":
        tree = _tree(job, division)
        if tree is None:
            raise Http404("No such division")
        return render(request, "erp/job_detail.html#division-codes", {"nodes": tree})
    divisions = [(j, _divisions(j)) for j in jobs]
    settings = ErpSettings.objects.filter(company=company).select_related("default_template").first()
    procore = _procore(company)
    templates, default_template = _templates(company, procore)
    project_ids = [j.project_id for j in jobs if j.project_id]
    runs = (SyncRun.objects.filter(company=company).filter(Q(job__in=jobs) | Q(project_id__in=project_ids))
            .select_related("started_by", "project", "connection", "job").order_by("-created_at")[:20])
    events = (AuditEvent.objects.filter(company=company).filter(
        Q(object_type="stagedjob", object_id__in=[str(j.pk) for j in jobs])
        | Q(object_type="project", object_id__in=[str(p) for p in project_ids])).select_related("actor").order_by("-created_at")[:20])
    control = (StagedJob.objects.filter(connection=job.connection, erp_company_code=job.erp_company_code,
                                        job_code=job.controlling_code).first() if job.controlling_code else None)
    number_taken_by = (Project.objects.filter(company=company, project_number=job.job_code).first()
                       if any(p.get("code") == "number_taken" for p in job.problems) else None)
    return erp_page(request, "erp/job_detail.html", "jobs", {
        "number_taken_by": number_taken_by,
        "job": job, "sub_jobs": jobs[1:], "control": control, "divisions": divisions, "open_division": division,
        "open_codes": _tree(job, division) if division else None,
        "template": settings.default_template if settings else None, "templates": templates,
        "default_template": default_template, "procore": procore is not None, "erp_name": job.connection.erp_name,
        "history": sorted([(run.created_at, "run", run, run_sentence(run)) for run in runs]
                          + [(e.created_at, "event", e, event_sentence(e)) for e in events], key=lambda h: h[0], reverse=True)[:20],
    })


def _divisions(job: StagedJob) -> list[dict]:
    """The job's top-level cost codes, each with how many codes lie under it."""
    codes, _ = structure_of(job)
    parents = resolved_parents(codes)
    names = {c[0]: c[1] for c in codes}
    roots: dict[str, int] = {}
    for code in names:
        top = code
        while parents.get(top):
            top = parents[top]
        roots[top] = roots.get(top, 0) + 1
    return [{"code": code, "name": names[code], "count": count} for code, count in sorted(roots.items())]


def _tree(job: StagedJob, division: str) -> list | None:
    """The cost codes under one top-level code of the job (or of one of its sub jobs: "SUBJOB/CODE"), with their cost types."""
    owner_code, _, code = division.rpartition("/")
    owner = job if not owner_code else StagedJob.objects.filter(
        connection=job.connection, erp_company_code=job.erp_company_code, controlling_code=job.job_code, job_code=owner_code).first()
    if owner is None:
        return None
    codes, lines = structure_of(owner)
    parents = resolved_parents(codes)
    if code not in parents or parents[code]:
        return None
    type_names = dict(StagedCostType.objects.filter(connection=job.connection, erp_company_code=job.erp_company_code)
                      .values_list("code", "name"))
    types: dict[str, list] = {}
    for line in lines:
        types.setdefault(line[0], []).append((line[1], type_names.get(line[1], "")))
    children: dict[str, list] = {}
    for c in codes:
        children.setdefault(parents[c[0]], []).append(c)

    def nodes(parent: str, depth: int = 0) -> list:
        return [{"code": c[0], "name": c[1], "active": c[3] if len(c) > 3 else True, "types": types.get(c[0], []),
                 "children": nodes(c[0], depth + 1) if depth < 20 else []} for c in children.get(parent, [])]

    top = next(c for c in codes if c[0] == code)
    return [{"code": top[0], "name": top[1], "active": top[3] if len(top) > 3 else True, "types": types.get(code, []),
             "children": nodes(code)}]

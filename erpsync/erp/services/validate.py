"""What blocks an ERP job from becoming a project, read fresh from staging (the rules: erp/rules.py)."""

from collections import defaultdict
from functools import cache
from itertools import batched
from typing import NamedTuple

from erpsync.erp.models import StagedCostType, StagedJob, StagedJobStatus, StagedJobStructure
from erpsync.erp.rules import JobShape, Limits, problems_for, shape
from erpsync.projects.models import CostCode, CostType, Project


@cache
def limits() -> Limits:
    def longest(model, field_name: str) -> int:
        return model._meta.get_field(field_name).max_length

    return Limits(project_number=longest(Project, "project_number"), project_name=longest(Project, "name"),
                  code=longest(CostCode, "code"), description=longest(CostCode, "description"),
                  type_code=longest(CostType, "code"), type_name=longest(CostType, "name"))


def structure_of(job: StagedJob) -> tuple[list, list]:
    """The job's staged phases and job categories (see StagedJobStructure); empty if it has none."""
    try:
        structure = job.structure
    except StagedJobStructure.DoesNotExist:
        return [], []
    return structure.cost_codes, structure.budget_lines


def shape_of(job: StagedJob, cost_type_names: dict[str, str]) -> JobShape:
    return shape(job.job_code, job.name, *structure_of(job), cost_type_names, controlling_code=job.controlling_code)


def project_number_taken(job: StagedJob) -> bool:
    return (
        Project.objects.filter(company=job.company, project_number=job.job_code)
        .exclude(erp_kind=job.connection.kind, erp_company_code=job.erp_company_code, erp_job_code=job.job_code)
        .exists()
    )


def project_numbers_taken(connection, job_keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Job keys whose code is already the number of a project not linked to that job.

    The company's projects are read in one pass: there are at most as many as its project
    limit allows, while a refresh may check tens of thousands of jobs.
    """
    by_code = defaultdict(list)
    for key in job_keys:
        by_code[key[1]].append(key)
    taken = set()
    rows = Project.objects.filter(company=connection.company).values_list(
        "project_number", "erp_kind", "erp_company_code", "erp_job_code").iterator(chunk_size=5000)
    for number, kind, company_code, job_code in rows:
        for key in by_code.get(number, ()):
            if (kind, company_code, job_code) != (connection.kind, key[0], key[1]):
                taken.add(key)
    return taken


def erp_job_validate(*, job: StagedJob) -> list[dict]:
    """The problems that block importing `job`, read fresh from staging and the registry."""
    names = dict(
        StagedCostType.objects.filter(connection=job.connection, erp_company_code=job.erp_company_code).values_list("code", "name")
    )
    same_company = StagedJob.objects.filter(connection=job.connection, erp_company_code=job.erp_company_code)
    sub_jobs = same_company.filter(controlling_code=job.job_code).exclude(status=StagedJobStatus.ARCHIVED) if not job.is_sub_job else []
    return problems_for(
        shape_of(job, names),
        limits(),
        sub_jobs=[shape_of(s, names) for s in sub_jobs],
        number_taken=project_number_taken(job),
        control_job_missing=job.is_sub_job and not same_company.filter(job_code=job.controlling_code).exists(),
    )


class _Staged(NamedTuple):
    pk: int
    company: str
    code: str
    controlling: str
    name: str
    status: str
    stored: tuple  # (problems, cost-code count, sub-job count) as stored


def staged_jobs_recheck(connection, touched: set[int]) -> set[int]:
    """Store the problems and counts of these staged jobs (and of their control jobs) where they changed; return those ids.

    A refresh checks tens of thousands of jobs this way: read once, written only where changed.
    """
    jobs = {row[0]: _Staged(*row[:6], tuple(row[6:])) for row in StagedJob.objects.filter(connection=connection).values_list(
        "pk", "erp_company_code", "job_code", "controlling_code", "name", "status", "problems", "cost_code_count",
        "sub_job_count").iterator(chunk_size=5000)}
    by_key = {(j.company, j.code): j for j in jobs.values()}
    sub_jobs = defaultdict(list)  # control job's key → its sub jobs that are not archived
    for j in jobs.values():
        if j.controlling and j.status != StagedJobStatus.ARCHIVED:
            sub_jobs[(j.company, j.controlling)].append(j)
    touched = set(touched) | {by_key[(jobs[pk].company, jobs[pk].controlling)].pk for pk in touched
                if (jobs[pk].company, jobs[pk].controlling) in by_key}
    names = defaultdict(dict)  # ERP company → category code → name
    for company_code, code, name in StagedCostType.objects.filter(connection=connection).values_list("erp_company_code", "code", "name"):
        names[company_code][code] = name
    taken = project_numbers_taken(connection, [(jobs[pk].company, jobs[pk].code) for pk in touched])
    changed = set()
    same = defaultdict(list)  # most jobs have no problems and few distinct counts: one UPDATE per kind, not per job
    for chunk in batched(sorted(touched), 1000):
        subs = {pk: sub_jobs.get((jobs[pk].company, jobs[pk].code), []) if not jobs[pk].controlling else [] for pk in chunk}
        documents = dict.fromkeys([*chunk, *(s.pk for group in subs.values() for s in group)], ([], []))
        documents.update((pk, (codes, lines)) for pk, codes, lines in StagedJobStructure.objects.filter(
            job_id__in=list(documents)).values_list("job_id", "cost_codes", "budget_lines"))

        def shaped(job: _Staged):
            return shape(job.code, job.name, *documents[job.pk], names[job.company], controlling_code=job.controlling)

        for pk in chunk:
            job = jobs[pk]
            problems = problems_for(shaped(job), limits(), sub_jobs=[shaped(s) for s in subs[pk]],
                                    number_taken=(job.company, job.code) in taken,
                                    control_job_missing=bool(job.controlling) and (job.company, job.controlling) not in by_key)
            stored = (problems, len(documents[pk][0]), len(subs[pk]))
            if stored == job.stored:
                continue
            if problems != job.stored[0]:
                changed.add(pk)
            if problems:
                StagedJob.objects.filter(pk=pk).update(problems=problems, cost_code_count=stored[1], sub_job_count=stored[2])
            else:
                same[stored[1:]].append(pk)
    for (count, sub_count), pks in same.items():
        for chunk in batched(pks, 1000):
            StagedJob.objects.filter(pk__in=chunk).update(problems=[], cost_code_count=count, sub_job_count=sub_count)
    return changed

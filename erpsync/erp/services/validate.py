"""What blocks an ERP job from becoming a project, read fresh from staging (the rules: erp/rules.py)."""

from collections import defaultdict
from functools import cache

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

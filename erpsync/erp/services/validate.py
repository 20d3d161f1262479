"""What blocks an ERP job from becoming a project, in words the user can act on."""

from functools import cache

from erpsync.erp.models import StagedCostType, StagedJob, StagedJobStatus, StagedJobStructure
from erpsync.erp.rules import JobShape, Limits, prefixed, problem, shape_problems
from erpsync.projects.models import CostCode, CostType, Project


@cache
def _limit(model, field_name: str) -> int:
    return model._meta.get_field(field_name).max_length


@cache
def limits() -> Limits:
    return Limits(code=_limit(CostCode, "code"), description=_limit(CostCode, "description"),
                  type_code=_limit(CostType, "code"), type_name=_limit(CostType, "name"))


def problems_for(job: JobShape, *, sub_jobs: list[JobShape] = (), number_taken: bool = False) -> list[dict]:
    """The problems that block import; each a dict with a code, a message and the items at fault."""
    problems = job_problems(job, number_taken=number_taken) + shape_problems(job, limits())
    for sub_job in sub_jobs:
        problems += prefixed(shape_problems(sub_job, limits()), sub_job.job_code)
    return problems


def job_problems(job: JobShape, *, number_taken: bool = False) -> list[dict]:
    """What is wrong with the job itself: its name, its code, its project number."""
    problems = []
    if not job.name.strip():
        problems.append(problem("missing_name", f"Job {job.job_code} has no name in the ERP; give it one there, then refresh."))
    if len(job.job_code) > _limit(Project, "project_number"):
        problems.append(problem("too_long", f"The job code {job.job_code} is longer than the {_limit(Project, 'project_number')} characters a project number may have."))
    if len(job.name) > _limit(Project, "name"):
        problems.append(problem("too_long", f"The job name is {len(job.name)} characters; a project name may have at most {_limit(Project, 'name')}."))
    if number_taken:
        problems.append(problem(
            "number_taken",
            f"Project number {job.job_code} is already used by another project that is not linked to "
            "this job; rename that project or change the job code in the ERP.",
            [job.job_code],
        ))
    return problems


def structure_of(job: StagedJob) -> tuple[list, list]:
    """The job's staged phases and job categories (see StagedJobStructure); empty if it has none."""
    try:
        structure = job.structure
    except StagedJobStructure.DoesNotExist:
        return [], []
    return structure.cost_codes, structure.budget_lines


def shape_of(job: StagedJob, cost_type_names: dict[str, str]) -> JobShape:
    codes, lines = structure_of(job)
    pairs = {(line[0], line[1]) for line in lines}
    return JobShape(
        job_code=job.job_code,
        name=job.name,
        cost_codes=[(code, name, parent) for code, name, parent, _ in codes],
        budget_pairs=pairs,
        cost_type_names={cat: cost_type_names.get(cat, "") for _, cat in pairs},
    )


def project_number_taken(job: StagedJob) -> bool:
    return (
        Project.objects.filter(company=job.company, project_number=job.job_code)
        .exclude(erp_kind=job.connection.kind, erp_company_code=job.erp_company_code, erp_job_code=job.job_code)
        .exists()
    )


def erp_job_validate(*, job: StagedJob) -> list[dict]:
    """The problems that block importing `job`, read fresh from staging and the registry."""
    names = dict(
        StagedCostType.objects.filter(connection=job.connection, erp_company_code=job.erp_company_code).values_list("code", "name")
    )
    sub_jobs = StagedJob.objects.filter(
        connection=job.connection, erp_company_code=job.erp_company_code, controlling_code=job.job_code
    ).exclude(status=StagedJobStatus.ARCHIVED)
    return problems_for(
        shape_of(job, names),
        sub_jobs=[shape_of(s, names) for s in sub_jobs],
        number_taken=project_number_taken(job),
    )

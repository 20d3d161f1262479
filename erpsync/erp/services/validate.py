"""What blocks an ERP job from becoming a project, in words the user can act on."""

import re
from dataclasses import dataclass, field
from functools import cache

from erpsync.erp.models import StagedCostType, StagedJob, StagedJobStatus, StagedJobStructure
from erpsync.projects.models import CostCode, CostType, Project

_SEGMENTS = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
_SHOWN = 10  # codes listed in one message before "and N more"


@dataclass
class JobShape:
    """The parts of a staged job (or sub job) that validation looks at."""

    job_code: str
    name: str
    cost_codes: list[tuple[str, str, str]] = field(default_factory=list)  # (code, name, parent)
    budget_pairs: set[tuple[str, str]] = field(default_factory=set)  # (phase, category)
    cost_type_names: dict[str, str] = field(default_factory=dict)  # category code → name


def _listing(codes: list[str]) -> str:
    shown = ", ".join(codes[:_SHOWN])
    return shown if len(codes) <= _SHOWN else f"{shown} and {len(codes) - _SHOWN} more"


@cache
def _limit(model, field_name: str) -> int:
    return model._meta.get_field(field_name).max_length


def problems_for(job: JobShape, *, sub_jobs: list[JobShape] = (), number_taken: bool = False) -> list[dict]:
    """The problems that block import; each a dict with a code, a message and the items at fault."""
    problems = job_problems(job, number_taken=number_taken) + shape_problems(job)
    for sub_job in sub_jobs:
        problems += prefixed(shape_problems(sub_job), sub_job.job_code)
    return problems


def _problem(code: str, message: str, items: list[str] = ()) -> dict:
    return {"code": code, "message": message, "items": list(items)}


def job_problems(job: JobShape, *, number_taken: bool = False) -> list[dict]:
    """What is wrong with the job itself: its name, its code, its project number."""
    problems = []
    if not job.name.strip():
        problems.append(_problem("missing_name", f"Job {job.job_code} has no name in the ERP; give it one there, then refresh."))
    if len(job.job_code) > _limit(Project, "project_number"):
        problems.append(_problem("too_long", f"The job code {job.job_code} is longer than the {_limit(Project, 'project_number')} characters a project number may have."))
    if len(job.name) > _limit(Project, "name"):
        problems.append(_problem("too_long", f"The job name is {len(job.name)} characters; a project name may have at most {_limit(Project, 'name')}."))
    if number_taken:
        problems.append(_problem(
            "number_taken",
            f"Project number {job.job_code} is already used by another project that is not linked to "
            "this job; rename that project or change the job code in the ERP.",
            [job.job_code],
        ))
    return problems


def prefixed(problems: list[dict], sub_job_code: str) -> list[dict]:
    """A sub job's cost-code problems as its control job shows them."""
    return [{**p, "message": f"Sub job {sub_job_code}: {p['message']}"} for p in problems]


def shape_problems(shape: JobShape) -> list[dict]:
    """What is wrong with a job's cost codes and cost types (a control job also shows its sub jobs')."""
    problems: list[dict] = []

    def add(code: str, message: str, items: list[str] = ()):
        problems.append(_problem(code, message, items))

    code_limit, description_limit = _limit(CostCode, "code"), _limit(CostCode, "description")
    codes = {code for code, _, _ in shape.cost_codes}
    parents = {parent for _, _, parent in shape.cost_codes if parent}
    phased = {phase for phase, _ in shape.budget_pairs}
    # One pass over the codes (a refresh validates every job of the ERP); codes are unique per job.
    leaves_without, bad_delimiter, orphans, misplaced, too_long = [], [], [], [], []
    for code, name, parent in shape.cost_codes:
        if code not in parents and code not in phased:
            leaves_without.append(code)
        well_formed = _SEGMENTS.match(code)
        if not well_formed:
            bad_delimiter.append(code)
        if parent:
            if parent not in codes:
                orphans.append(code)
            elif well_formed and not code.startswith(parent + "-"):
                misplaced.append(code)
        if len(code) > code_limit or len(name) > description_limit:
            too_long.append(code)
    if leaves_without:
        leaves_without.sort()
        n = len(leaves_without)
        add(
            "cost_code_without_cost_type",
            f"{n} cost code{'s' if n != 1 else ''} {'have' if n != 1 else 'has'} no cost type: "
            f"{_listing(leaves_without)}. Assign a category to each in the ERP, then refresh.",
            leaves_without,
        )
    if bad_delimiter:
        bad_delimiter.sort()
        marks = sorted({ch for c in bad_delimiter for ch in c if not ch.isalnum() and ch != "-"})
        add(
            "unsupported_delimiter",
            f"{len(bad_delimiter)} cost code{'s' if len(bad_delimiter) != 1 else ''} "
            f"use{'s' if len(bad_delimiter) == 1 else ''} {' '.join(repr(m) for m in marks)} as a delimiter; "
            f"only '-' is supported: {_listing(bad_delimiter)}.",
            bad_delimiter,
        )
    if orphans:
        orphans.sort()
        add("missing_parent", f"cost codes name a parent the job does not have: {_listing(orphans)}.", orphans)
    if misplaced:
        misplaced.sort()
        add("code_outside_parent", f"cost codes do not start with their parent's code and '-': {_listing(misplaced)}.", misplaced)
    if too_long:
        too_long.sort()
        add("too_long", f"cost codes with a code over {code_limit} or a description over {description_limit} characters: {_listing(too_long)}.", too_long)
    long_types = sorted(
        code for code, name in shape.cost_type_names.items()
        if len(code) > _limit(CostType, "code") or len(name) > _limit(CostType, "name")
    )
    if long_types:
        add("too_long", f"cost types with a code or name too long: {_listing(long_types)}.", long_types)
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

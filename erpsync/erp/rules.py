"""The rules a job must meet to become a project, in words the user can act on.

The one rule set: validation, import and refresh all call `problems_for`. No Django here;
services/validate.py reads a job from staging and the registry's field limits.
"""

import re
from dataclasses import dataclass, field

_SEGMENTS = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)*$")
_SHOWN = 10  # codes listed in one message before "and N more"


@dataclass
class JobShape:
    """The parts of a staged job (or sub job) that validation looks at."""

    job_code: str
    name: str
    controlling_code: str = ""  # a sub job's control job
    cost_codes: list[tuple[str, str, str]] = field(default_factory=list)  # (code, name, parent)
    budget_pairs: set[tuple[str, str]] = field(default_factory=set)  # (phase, category)
    cost_type_names: dict[str, str] = field(default_factory=dict)  # category code → name


@dataclass(frozen=True)
class Limits:
    """The registry's longest project number and name, cost code, description, cost type code and name."""

    project_number: int
    project_name: int
    code: int
    description: int
    type_code: int
    type_name: int


def listing(codes: list[str]) -> str:
    shown = ", ".join(codes[:_SHOWN])
    return shown if len(codes) <= _SHOWN else f"{shown} and {len(codes) - _SHOWN} more"


def problem(code: str, message: str, items: list[str] = ()) -> dict:
    return {"code": code, "message": message, "items": list(items)}


def prefixed(problems: list[dict], sub_job_code: str) -> list[dict]:
    """A sub job's cost-code problems as its control job shows them."""
    return [{**p, "message": f"Sub job {sub_job_code}: {p['message']}"} for p in problems]


def resolved_parents(codes: list) -> dict[str, str]:
    """Each phase's parent in its job's cost-code tree ("" at the top), from [code, name, controlling code, …] rows.

    The parent is the phase's controlling code when that names another phase of the job;
    otherwise the longest hyphen-prefix of its own code that is a phase of the job; otherwise it
    is top level. Many CMiC tenants mark every phase top level (ALL) and carry the tree in the
    codes alone: `01` a heading, `01-100` under it.
    """
    known = {row[0] for row in codes}
    parents = {}
    for code, _, given, *_ in codes:
        if given and given != code and given in known:
            parents[code] = given
            continue
        prefix, parents[code] = code, ""
        while "-" in prefix:
            prefix = prefix.rsplit("-", 1)[0]
            if prefix in known:
                parents[code] = prefix
                break
    return parents


def shape(job_code: str, name: str, codes: list, lines: list, cost_type_names: dict[str, str], *,
          controlling_code: str = "") -> JobShape:
    """A job as validation sees it, from its structure documents (see StagedJobStructure)."""
    pairs = {(line[0], line[1]) for line in lines}
    parents = resolved_parents(codes)
    return JobShape(job_code=job_code, name=name, controlling_code=controlling_code,
                    cost_codes=[(code[0], code[1], parents[code[0]]) for code in codes], budget_pairs=pairs,
                    cost_type_names={cat: cost_type_names.get(cat, "") for _, cat in pairs})


def problems_for(job: JobShape, limits: Limits, *, sub_jobs: list[JobShape] = (), number_taken: bool = False,
                 control_job_missing: bool = False) -> list[dict]:
    """The problems that block importing `job`; each a dict with a code, a message and the items at fault.

    A control job shows its sub jobs' cost-code problems too, each prefixed with the sub job.
    """
    problems = []
    if control_job_missing:
        problems.append(problem("missing_controlling_job", f"This sub job's controlling job {job.controlling_code} is not in the ERP.",
                                [job.controlling_code]))
    problems += job_problems(job, limits, number_taken=number_taken) + shape_problems(job, limits)
    for sub_job in sub_jobs:
        if len(sub_job.name) > limits.project_name:  # a sub job's name is kept on the project, as long as a project's
            problems.append(problem("too_long", f"Sub job {sub_job.job_code}: the name is {len(sub_job.name)} characters; "
                                    f"a sub job's name may have at most {limits.project_name}.", [sub_job.job_code]))
        problems += prefixed(shape_problems(sub_job, limits), sub_job.job_code)
    return problems


def job_problems(job: JobShape, limits: Limits, *, number_taken: bool = False) -> list[dict]:
    """What is wrong with the job itself: its name, its code, its project number."""
    problems = []
    if not job.name.strip():
        problems.append(problem("missing_name", f"Job {job.job_code} has no name in the ERP; give it one there, then refresh."))
    if len(job.job_code) > limits.project_number:
        problems.append(problem("too_long", f"The job code {job.job_code} is longer than the {limits.project_number} characters "
                                "a project number may have."))
    if len(job.name) > limits.project_name:
        problems.append(problem("too_long", f"The job name is {len(job.name)} characters; a project name may have at most "
                                f"{limits.project_name}."))
    if number_taken:
        problems.append(problem(
            "number_taken",
            f"Project number {job.job_code} is already used by another project that is not linked to "
            "this job; rename that project or change the job code in the ERP.",
            [job.job_code],
        ))
    return problems


def shape_problems(shape: JobShape, limits: Limits) -> list[dict]:
    """What is wrong with a job's cost codes and cost types (a control job also shows its sub jobs')."""
    problems: list[dict] = []

    def add(code: str, message: str, items: list[str] = ()):
        problems.append(problem(code, message, items))

    code_limit, description_limit = limits.code, limits.description
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
            f"{listing(leaves_without)}. Assign a category to each in the ERP, then refresh.",
            leaves_without,
        )
    if bad_delimiter:
        bad_delimiter.sort()
        marks = sorted({ch for c in bad_delimiter for ch in c if not ch.isalnum() and ch != "-"})
        add(
            "unsupported_delimiter",
            f"{len(bad_delimiter)} cost code{'s' if len(bad_delimiter) != 1 else ''} "
            f"use{'s' if len(bad_delimiter) == 1 else ''} {' '.join(repr(m) for m in marks)} as a delimiter; "
            f"only '-' is supported: {listing(bad_delimiter)}.",
            bad_delimiter,
        )
    if orphans:
        orphans.sort()
        add("missing_parent", f"cost codes name a parent the job does not have: {listing(orphans)}.", orphans)
    if misplaced:
        misplaced.sort()
        add("code_outside_parent", f"cost codes do not start with their parent's code and '-': {listing(misplaced)}.", misplaced)
    if too_long:
        too_long.sort()
        add("too_long", f"cost codes with a code over {code_limit} or a description over {description_limit} characters: {listing(too_long)}.", too_long)
    long_types = sorted(
        code for code, name in shape.cost_type_names.items()
        if len(code) > limits.type_code or len(name) > limits.type_name
    )
    if long_types:
        add("too_long", f"cost types with a code or name too long: {listing(long_types)}.", long_types)
    return problems

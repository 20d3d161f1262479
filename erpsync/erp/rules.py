"""The cost-code rules a job must meet to become a project, in words the user can act on.

No Django here: a large refresh checks its jobs' cost codes in a process of its own (see
erpsync/spool/child.py). services/validate.py adds the rules about the job itself.
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
    cost_codes: list[tuple[str, str, str]] = field(default_factory=list)  # (code, name, parent)
    budget_pairs: set[tuple[str, str]] = field(default_factory=set)  # (phase, category)
    cost_type_names: dict[str, str] = field(default_factory=dict)  # category code → name


@dataclass(frozen=True)
class Limits:
    """The registry's longest cost code, description, cost type code and name."""

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


def checked_structure(company_code: str, codes: list, lines: list, names: dict, limits: Limits) -> tuple[int, list[dict]]:
    """(cost-code count, cost-code problems) of a job's structure documents (see StagedJobStructure)."""
    pairs = {(line[0], line[1]) for line in lines}
    shape = JobShape(job_code="", name="", cost_codes=[(code[0], code[1], code[2]) for code in codes], budget_pairs=pairs,
                     cost_type_names={cat: names.get((company_code, cat), "") for cat in {cat for _, cat in pairs}})
    return len(codes), shape_problems(shape, limits)

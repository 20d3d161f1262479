"""Link an ERP job to a project that exists already, unlink it, and bring an imported project's cost codes up to date.

Linking and refreshing cost codes share one merge: the job's phases and categories (with its
sub jobs') are matched to the project's cost codes by full code and to its budget lines by code
and cost type. What the project lacks is added, names the ERP changed are taken from the ERP,
and job costs are then recomputed from the ERP as a job-cost sync does, so money is never
counted twice. Codes that exist only in the project stay as they are; codes the ERP no longer
has are made inactive, never deleted.
"""

import hashlib
import json
import logging
from collections import defaultdict
from itertools import batched
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rapidfuzz import fuzz, utils

from erpsync.companies.models import Company, Membership
from erpsync.companies.permissions import (
    COST_CODES_REQUIREMENT,
    LINK_REQUIREMENT,
    UNLINK_REQUIREMENT,
    can_administer_erp,
    can_manage_erp_jobs,
    can_refresh_erp,
)
from erpsync.connectors.base import BudgetLineRecord, ConnectorError
from erpsync.erp.models import (
    ErpSettings,
    ProcoreConnection,
    PublishStatus,
    StagedCostType,
    StagedJob,
    StagedJobStatus,
    SyncRun,
    SyncRunKind,
    SyncRunOutcome,
)
from erpsync.erp.pull import PulledBudgetLine
from erpsync.erp.rules import prefixed, resolved_parents, shape, shape_problems
from erpsync.erp.services.audit import audit_event_record
from erpsync.erp.services.importing import base_type_for
from erpsync.erp.services.job_costs import _apply as job_costs_apply
from erpsync.erp.services.publish import job_origin_id, procore_publish_enqueue
from erpsync.erp.services.runs import sync_run_recording
from erpsync.erp.services.validate import erp_job_validate, limits, staged_jobs_recheck, structure_of
from erpsync.errors import ApplicationError, ImportBlocked, NotFound, PermissionRefused, PreviewOutdated
from erpsync.projects.models import BudgetLine, CostCode, CostTransaction, CostType, JobCost, Project, SubJob

logger = logging.getLogger(__name__)

SUGGESTIONS = 5
SUGGESTION_FLOOR = 45  # a weaker match is noise, not a suggestion
ACTIVE = [SyncRunOutcome.QUEUED, SyncRunOutcome.RUNNING]


# --- suggestions ----------------------------------------------------------------------------


@dataclass
class Suggestion:
    project: Project
    score: int  # 0-100
    reasons: list[str]


def linkable_projects(company: Company):
    """Projects no ERP job is linked to."""
    return Project.objects.filter(company=company, erp_job_code="").exclude(
        erp_jobs__status=StagedJobStatus.SYNCED)


def link_suggestions(job: StagedJob, *, user=None, limit: int = SUGGESTIONS) -> list[Suggestion]:
    """The registry's unlinked projects most like the job, best first, each with why.

    Names and street addresses are compared as words (rapidfuzz), the number, city and dates as
    what they are; the name and number weigh most.
    """
    if user is not None:
        _check_link_permission(job, user)
    suggestions = []
    for project in linkable_projects(job.company).only(
            "pk", "project_number", "name", "address", "city", "state", "start_date", "completion_date"):
        suggestion = _compare(job, project)
        if suggestion.score >= SUGGESTION_FLOOR:
            suggestions.append(suggestion)
    suggestions.sort(key=lambda s: (-s.score, s.project.project_number))
    return suggestions[:limit]


def _similar(a: str, b: str, scorer) -> float:
    if not a.strip() or not b.strip():
        return 0.0
    return scorer(a, b, processor=utils.default_process)


def _same(a: str, b: str) -> bool:
    return bool(a.strip()) and utils.default_process(a) == utils.default_process(b)


def _compare(job: StagedJob, project: Project) -> Suggestion:
    """How alike a job and a project are (0-100), from what both have; and why, in words.

    A number is the same or not (25124 and 25102 are different jobs, however alike they look);
    one may contain the other ("25102-OLD"). Names and street addresses are compared as words.
    """
    reasons, weighted = [], []
    if _same(job.job_code, project.project_number):
        number = 100.0
        reasons.append(f"Project number {project.project_number} is the job code")
    elif _contains(project.project_number, job.job_code):
        number = 80.0
        reasons.append(f"Project number {project.project_number} contains the job code {job.job_code}")
    else:
        number = 0.0
    weighted.append((number, 2))
    name = _similar(job.name, project.name, fuzz.token_set_ratio)
    if name >= 60:
        reasons.append("The same words in the name" if name == 100 else f"Name {name:.0f}% alike")
    weighted.append((name, 3))
    if job.city.strip() and project.city.strip():
        city = 100.0 if _same(job.city, project.city) and (not job.state or not project.state or _same(job.state, project.state)) else 0.0
        if city:
            reasons.append(f"Same city ({project.city})")
        weighted.append((city, 1))
    if job.address.strip() and project.address.strip():
        address = _similar(job.address, project.address, fuzz.token_sort_ratio)
        if address >= 80:
            reasons.append("Same street address" if address == 100 else f"Street address {address:.0f}% alike")
        weighted.append((address, 1))
    for label, ours, theirs in (("start", job.start_date, project.start_date), ("completion", job.end_date, project.completion_date)):
        if ours and theirs:
            days = abs((ours - theirs).days)
            if days == 0:
                reasons.append(f"Same {label} date")
            elif days <= 31:
                reasons.append(f"{label.capitalize()} dates {days} day{'s' if days != 1 else ''} apart")
            weighted.append((max(0.0, 100.0 - days / 3), 0.5))  # dates move; a year apart counts for nothing
    score = sum(value * weight for value, weight in weighted) / sum(weight for _, weight in weighted)
    if number == 100:
        score = max(score, 90.0)  # the same number is a match whatever the name says
    return Suggestion(project, round(score), reasons)


def _contains(number: str, code: str) -> bool:
    number, code = utils.default_process(number), utils.default_process(code)
    return len(code) >= 3 and code in number.split()


def project_search(job: StagedJob, query: str, *, limit: int = 20) -> list[Project]:
    """Unlinked projects whose number or name contains the query."""
    query = query.strip()
    if not query:
        return []
    return list(linkable_projects(job.company).filter(Q(project_number__icontains=query) | Q(name__icontains=query))
                .order_by("project_number")[:limit])


# --- the merge ------------------------------------------------------------------------------


@dataclass
class Plan:
    """What merging a job's structure into a project changes; every list by job code and cost code."""

    codes_to_add: list = field(default_factory=list)  # (job, code, name)
    renamed: list = field(default_factory=list)  # (job, code, project's name, ERP's name)
    reactivated: list = field(default_factory=list)  # (job, code)
    moved: list = field(default_factory=list)  # (job, code, the project's parent, the ERP's parent): put under the ERP's division
    deactivated: list = field(default_factory=list)  # (job, code): inactive in the ERP
    gone: list = field(default_factory=list)  # (job, code, name): no longer in the ERP, to be made inactive
    lines_to_add: list = field(default_factory=list)  # (job, code, cost type)
    lines_taken_over: list = field(default_factory=list)  # (job, code, cost type): typed in by hand, now the ERP's
    types_to_add: list = field(default_factory=list)  # (code, name)
    types_renamed: list = field(default_factory=list)  # (code, the company's name, the ERP's name): the company's cost types
    sub_jobs_to_add: list = field(default_factory=list)  # codes
    only_in_project: int = 0  # cost codes the ERP does not have, left as they are
    kept: list = field(default_factory=list)  # (job, code, name) of those, for the preview
    # Budget lines the project keeps that the job does not have: their revised budget and job-to-date cost still count.
    kept_lines: int = 0
    kept_budget: Decimal = Decimal(0)
    kept_cost: Decimal = Decimal(0)
    problems: list = field(default_factory=list)  # messages: the merge is refused while there are any

    @property
    def changes(self) -> int:
        return sum(map(len, (self.codes_to_add, self.renamed, self.reactivated, self.deactivated, self.moved, self.gone, self.lines_to_add,
                             self.lines_taken_over, self.types_to_add, self.types_renamed, self.sub_jobs_to_add)))

    @property
    def fingerprint(self) -> str:
        """Names what the plan changes: a confirm carries the one its user saw, and is refused if it is no longer so."""
        return hashlib.sha256(json.dumps(self._as_dict(), sort_keys=True).encode()).hexdigest()[:32]

    def as_dict(self, *, most: int | None = None) -> dict:
        """The plan as data; with `most`, each list cut to its first `most` items (an audit record need not hold thousands)."""
        data = self._as_dict()
        if most is not None:
            data = {k: v[:most] if isinstance(v, list) else v for k, v in data.items()}
        return data

    def _as_dict(self) -> dict:
        return {
            "cost_codes_to_add": [{"job": j, "code": c, "name": n} for j, c, n in self.codes_to_add],
            "cost_codes_renamed": [{"job": j, "code": c, "from": a, "to": b} for j, c, a, b in self.renamed],
            "cost_codes_reactivated": [{"job": j, "code": c} for j, c in self.reactivated],
            "cost_codes_inactive_in_erp": [{"job": j, "code": c} for j, c in self.deactivated],
            "cost_codes_moved": [{"job": j, "code": c, "from": a, "to": b} for j, c, a, b in self.moved],
            "cost_codes_no_longer_in_erp": [{"job": j, "code": c, "name": n} for j, c, n in self.gone],
            "cost_types_to_add": [{"code": c, "name": n} for c, n in self.types_to_add],
            "cost_types_renamed": [{"code": c, "from": a, "to": b} for c, a, b in self.types_renamed],
            "budget_lines_to_add": [{"job": j, "code": c, "cost_type": t} for j, c, t in self.lines_to_add],
            "budget_lines_taken_over": [{"job": j, "code": c, "cost_type": t} for j, c, t in self.lines_taken_over],
            "sub_jobs_to_add": list(self.sub_jobs_to_add),
            "cost_codes_only_in_project": self.only_in_project,
            "problems": list(self.problems),
        }


@dataclass
class Structures:
    """A control job's phases and job categories, with its sub jobs': {job code: (codes, lines)}, as staging keeps them."""

    control: StagedJob
    by_job: dict
    type_names: dict  # category code → name
    sub_job_names: dict  # sub job code → name

    def records(self) -> list[BudgetLineRecord]:
        return [BudgetLineRecord(self.control.erp_company_code, job_code, phase, category, active, *(Decimal(a) for a in amounts))
                for job_code, (_, lines) in self.by_job.items() for phase, category, active, *amounts in lines]


def _sub_jobs_of(control: StagedJob) -> list[StagedJob]:
    return list(StagedJob.objects.filter(connection=control.connection, erp_company_code=control.erp_company_code,
                                         controlling_code=control.job_code).exclude(status=StagedJobStatus.ARCHIVED))


def staged_structures(control: StagedJob) -> Structures:
    """The structures as the last refresh staged them."""
    subs = _sub_jobs_of(control)
    names = dict(StagedCostType.objects.filter(connection=control.connection, erp_company_code=control.erp_company_code)
                 .values_list("code", "name"))
    return Structures(control, {j.job_code: structure_of(j) for j in [control, *subs]}, names, {s.job_code: s.name for s in subs})


def erp_structures(control: StagedJob) -> Structures:
    """The structures as the ERP has them now, read for these jobs only and checked as a refresh checks them."""
    subs = _sub_jobs_of(control)
    job_codes = {control.job_code, *(s.job_code for s in subs)}
    company = control.erp_company_code
    try:
        source = control.connection.source()
        names, codes, lines = {}, defaultdict(dict), defaultdict(dict)
        for t in source.cost_types():
            if t.company_code == company:
                names[t.code] = t.name
        for c in source.cost_codes(job_codes=job_codes):
            if c.company_code != company or c.job_code not in job_codes:
                continue
            if c.code in codes[c.job_code]:
                raise ConnectorError(f"{c.where}: cost code {c.code} of job {c.job_code} is given twice.")
            codes[c.job_code][c.code] = ([c.code, c.name, c.parent_code, c.active], c.where)
        for r in source.budget_lines(job_codes=job_codes):
            if r.company_code != company or r.job_code not in job_codes:
                continue
            line = PulledBudgetLine.of(r)
            if (r.phase_code, r.category_code) in lines[r.job_code]:
                raise ConnectorError(f"{r.where}: cost code {r.phase_code} × category {r.category_code} of job {r.job_code} is given twice.")
            if r.phase_code not in codes[r.job_code]:
                raise ConnectorError(f"{r.where}: job {r.job_code} has no cost code {r.phase_code}.")
            if r.category_code not in names:
                raise ConnectorError(f"{r.where}: category {r.category_code} is not one of company {company}'s categories.")
            lines[r.job_code][(r.phase_code, r.category_code)] = [
                r.phase_code, r.category_code, r.active,
                *(str(v) for v in (line.original_budget, line.approved_changes, line.budget_units, line.committed_cost,
                                   line.percent_complete))]
    except ConnectorError as exc:
        raise ApplicationError(f"{control.connection.erp_name} could not be read: {exc.message} Nothing was changed.") from exc
    by_job = {code: ([codes[code][k][0] for k in sorted(codes[code])], [lines[code][k] for k in sorted(lines[code])])
              for code in sorted(job_codes)}
    return Structures(control, by_job, names, {s.job_code: s.name for s in subs})


def plan_merge(project: Project, structures: Structures, *, retire_missing: bool) -> Plan:
    """What merging `structures` into `project` would change (nothing is written)."""
    plan = Plan()
    control = structures.control
    for job_code, (codes, lines) in structures.by_job.items():
        found = shape_problems(shape(job_code, "", codes, lines, structures.type_names), limits())
        plan.problems += [p["message"] for p in (found if job_code == control.job_code else prefixed(found, job_code))]
    existing_sub_jobs = set(SubJob.objects.filter(project=project).values_list("code", flat=True))
    plan.sub_jobs_to_add = sorted(code for code in structures.by_job if code != control.job_code and code not in existing_sub_jobs)
    local = {(c.sub_job.code if c.sub_job else control.job_code, c.code): c
             for c in CostCode.objects.filter(project=project).select_related("sub_job", "parent")}
    local_lines = {(bl.cost_code_id, bl.cost_type.code): bl
                   for bl in BudgetLine.objects.filter(project=project).select_related("cost_type", "job_cost")}
    erp_lines = set()
    type_names = dict(CostType.objects.filter(company=project.company).values_list("code", "name"))
    known_types = set(type_names)
    erp_keys = set()
    for job_code, (codes, lines) in structures.by_job.items():
        parents = resolved_parents(codes)
        for code, name, _, active in codes:
            erp_keys.add((job_code, code))
            mine = local.get((job_code, code))
            if mine is None:
                plan.codes_to_add.append((job_code, code, name))
                continue
            if mine.description != name:
                plan.renamed.append((job_code, code, mine.description, name))
            if (mine.parent.code if mine.parent else "") != parents[code]:
                plan.moved.append((job_code, code, mine.parent.code if mine.parent else "", parents[code]))
            if active and not mine.active:
                plan.reactivated.append((job_code, code))
            elif mine.active and not active:
                plan.deactivated.append((job_code, code))
        for phase, category, *_ in lines:
            mine = local.get((job_code, phase))
            line = mine and local_lines.get((mine.pk, category))
            if line is not None:
                erp_lines.add(line.pk)
            if line is None:
                plan.lines_to_add.append((job_code, phase, category))
            elif not line.from_erp:
                plan.lines_taken_over.append((job_code, phase, category))
            erp_name = structures.type_names.get(category, category)
            if category not in known_types:
                known_types.add(category)
                plan.types_to_add.append((category, erp_name))
            elif type_names.get(category, erp_name) != erp_name:
                plan.types_renamed.append((category, type_names.pop(category), erp_name))
    for key, code in local.items():
        if key in erp_keys:
            continue
        if code.from_erp and retire_missing:
            if code.active:
                plan.gone.append((*key, code.description))
        else:
            plan.only_in_project += 1
            plan.kept.append((*key, code.description))
    plan.kept.sort()
    for line in local_lines.values():
        if line.pk not in erp_lines and not (retire_missing and line.from_erp):
            cost = getattr(line, "job_cost", None)
            plan.kept_lines += 1
            plan.kept_budget += cost.revised_budget if cost else 0
            plan.kept_cost += cost.job_to_date_cost if cost else 0
    return plan


def _apply_merge(project: Project, structures: Structures, plan: Plan, *, retire_missing: bool) -> tuple[dict, list]:
    """Write `plan` (already checked) inside the caller's transaction; the counts, and the figures of the lines typed in
    by hand that the ERP takes over (which the job-cost sync that follows replaces)."""
    control = structures.control
    sub_jobs = {control.job_code: None}
    for s in SubJob.objects.filter(project=project):
        sub_jobs[s.code] = s
    for code in plan.sub_jobs_to_add:
        sub_jobs[code] = SubJob.objects.create(project=project, code=code, name=structures.sub_job_names.get(code, code))

    settings = ErpSettings.objects.filter(company=project.company).first()
    mapping = settings.base_type_mapping if settings else {}
    CostType.objects.bulk_create(
        [CostType(company=project.company, code=code, name=name, base_type=base_type_for(code, name, mapping))
         for code, name in plan.types_to_add], ignore_conflicts=True)
    for code, _, name in plan.types_renamed:  # the company's cost types are the ERP's categories: its names win
        CostType.objects.filter(company=project.company, code=code).update(name=name)
    categories = {line[1] for _, lines in structures.by_job.values() for line in lines}
    types = {t.code: t for t in CostType.objects.filter(company=project.company, code__in=categories)}

    local = {(c.sub_job.code if c.sub_job else control.job_code, c.code): c
             for c in CostCode.objects.filter(project=project).select_related("sub_job")}
    changed, taken_codes = [], []
    for job_code, (codes, _) in structures.by_job.items():
        parents = resolved_parents(codes)
        pending = list(codes)
        while pending:  # parents before children
            level = [c for c in pending if not parents[c[0]] or (job_code, parents[c[0]]) in local]
            if not level:
                raise ApplicationError(f"The cost codes of job {job_code} form a loop through their parents.")
            made = []
            for code, name, _, active in level:
                mine = local.get((job_code, code))
                if mine is None:
                    made.append(CostCode(project=project, sub_job=sub_jobs[job_code], code=code, description=name, active=active,
                                         parent=local.get((job_code, parents[code])), from_erp=True))
                    continue
                renamed = mine.description != name
                if renamed or mine.active != active:  # the ERP's name and active flag
                    mine.procore_outdated = mine.procore_outdated or bool(renamed and mine.procore_id)
                    mine.description, mine.from_erp, mine.active = name, True, active
                    changed.append(mine)
                elif not mine.from_erp:
                    taken_codes.append(mine.pk)
            local.update(((job_code, c.code), c) for c in CostCode.objects.bulk_create(made, batch_size=1000))
            done = {c[0] for c in level}
            pending = [c for c in pending if c[0] not in done]
    for job_code, code, _, parent in plan.moved:  # the ERP's tree wins: a code goes under the ERP's division
        mine = local[(job_code, code)]
        mine.parent, mine.from_erp = (local.get((job_code, parent)) if parent else None), True
        mine.procore_outdated = mine.procore_outdated or bool(mine.procore_id)
        changed.append(mine)
    if retire_missing:
        for job_code, code, _ in plan.gone:
            mine = local[(job_code, code)]
            mine.active = False
            changed.append(mine)
        # The ERP has no budget for a code it no longer has: its lines' budgets go to zero; their posted costs still count.
        retired = JobCost.objects.filter(budget_line__cost_code__in=[local[(j, c)].pk for j, c, _ in plan.gone],
                                         budget_line__from_erp=True).select_related("budget_line__cost_code", "budget_line__cost_type")
        budget = ("original_budget", "approved_changes", "revised_budget", "committed_cost", "percent_complete")
        retired_figures = [{"code": jc.budget_line.cost_code.code, "cost_type": jc.budget_line.cost_type.code, "why": "no longer in the ERP",
                            **{k: str(getattr(jc, k)) for k in budget}} for jc in retired if any(getattr(jc, k) for k in budget)]
        JobCost.objects.filter(pk__in=[jc.pk for jc in retired]).update(as_of=timezone.now(), **dict.fromkeys(budget, Decimal(0)))
    else:
        retired_figures = []
    changed = list({c.pk: c for c in changed}.values())  # a code both renamed and moved is written once
    CostCode.objects.bulk_update(changed, ["description", "from_erp", "active", "parent", "procore_outdated"], batch_size=1000)
    for chunk in batched(taken_codes, 1000):  # taken over as they are: one UPDATE per thousand, not a CASE per row
        CostCode.objects.filter(pk__in=chunk).update(from_erp=True)
        # In Procore it carries another job's origin id, or none: the next publish stamps it as this job's.
        CostCode.objects.filter(pk__in=chunk, procore_id__isnull=False).update(procore_outdated=True)

    lines = {(bl.cost_code_id, bl.cost_type_id): bl for bl in BudgetLine.objects.filter(project=project)}
    now = timezone.now()
    taken, made_lines = [], []
    for job_code, (_, erp_lines) in structures.by_job.items():
        for phase, category, *_ in erp_lines:
            code, cost_type = local[(job_code, phase)], types[category]
            line = lines.get((code.pk, cost_type.pk))
            if line is None:
                made_lines.append(BudgetLine(project=project, cost_code=code, cost_type=cost_type, from_erp=True))
            elif not line.from_erp:
                line.from_erp = True
                taken.append(line)
    BudgetLine.objects.bulk_create(made_lines, batch_size=1000)
    replaced = [{"code": jc.budget_line.cost_code.code, "cost_type": jc.budget_line.cost_type.code,
                 **{k: str(getattr(jc, k)) for k in ("original_budget", "approved_changes", "revised_budget", "committed_cost",
                                                     "job_to_date_cost", "percent_complete")}}
                for jc in JobCost.objects.filter(budget_line__in=taken).select_related("budget_line__cost_code", "budget_line__cost_type")]
    for chunk in batched([line.pk for line in taken], 1000):
        BudgetLine.objects.filter(pk__in=chunk).update(from_erp=True)
    # Every line of the ERP carries a job cost; the sync below fills it from the ERP (a hand-typed one is replaced, not added to).
    without = BudgetLine.objects.filter(project=project, from_erp=True, job_cost__isnull=True)
    JobCost.objects.bulk_create([JobCost(budget_line=bl, as_of=now, **dict.fromkeys(
        ("original_budget", "approved_changes", "revised_budget", "committed_cost", "job_to_date_cost", "job_to_date_units",
         "month_to_date_cost", "percent_complete"), Decimal(0))) for bl in without], batch_size=1000)
    replaced += retired_figures
    counts = {"cost_codes_added": len(plan.codes_to_add), "cost_codes_renamed": len(plan.renamed),
            "cost_codes_made_inactive": len(plan.gone), "cost_codes_moved": len(plan.moved), "budget_lines_added": len(plan.lines_to_add),
            "budget_lines_taken_over": len(plan.lines_taken_over), "cost_types_added": len(plan.types_to_add),
            "cost_types_renamed": len(plan.types_renamed),
            "sub_jobs_added": len(plan.sub_jobs_to_add)}
    return counts, replaced


def _transactions(control: StagedJob, job_codes) -> list:
    try:
        return [t for t in control.connection.source().cost_transactions(job_codes=set(job_codes))
                if t.company_code == control.erp_company_code]
    except ConnectorError as exc:
        raise ApplicationError(f"{control.connection.erp_name} could not be read: {exc.message} Nothing was changed.") from exc


def new_cost_codes_count(control: StagedJob) -> int:
    """How many of the job's staged cost codes (its sub jobs' too) its project does not have."""
    if not control.project_id:
        return 0
    have = {(s or control.job_code, c) for s, c in CostCode.objects.filter(project_id=control.project_id)
            .values_list("sub_job__code", "code")}
    return sum(1 for job_code, (codes, _) in staged_structures(control).by_job.items()
               for c in codes if (job_code, c[0]) not in have)


def new_cost_codes_recount(connection, job_ids: set[int]) -> None:
    """Store the count of new cost codes of the synced control jobs among `job_ids` (a sub job counts for its control job)."""
    touched = StagedJob.objects.filter(connection=connection, pk__in=job_ids)
    keys = {(j.erp_company_code, j.controlling_code or j.job_code) for j in touched.only("erp_company_code", "controlling_code", "job_code")}
    for company_code, job_code in keys:
        control = StagedJob.objects.filter(connection=connection, erp_company_code=company_code, job_code=job_code,
                                           status=StagedJobStatus.SYNCED).select_related("connection", "company").first()
        if control is not None:
            count = new_cost_codes_count(control)
            if count != control.new_cost_codes:
                StagedJob.objects.filter(pk=control.pk).update(new_cost_codes=count)


# --- link -----------------------------------------------------------------------------------


@dataclass
class LinkPreview:
    job: StagedJob
    project: Project
    plan: Plan
    procore: bool = False  # the company publishes to Procore
    procore_projects: list = field(default_factory=list)  # Procore's projects with the number or name: [{id, name, project_number, linked_to}]
    procore_error: str = ""

    @property
    def refusals(self) -> list[str]:
        return list(self.plan.problems)


def _check_link_permission(job: StagedJob, user) -> None:
    if not can_administer_erp(Membership.objects.filter(user=user, company=job.company).first()):
        raise PermissionRefused(LINK_REQUIREMENT)


def _check_linkable(job: StagedJob, project: Project) -> None:
    if project.company_id != job.company_id:
        raise NotFound("That project does not exist in this company.")
    if job.is_sub_job:
        raise ImportBlocked(f"Job {job.job_code} is a sub job of {job.controlling_code}; link {job.controlling_code} and its sub jobs come with it.")
    if job.status == StagedJobStatus.ARCHIVED:
        raise ImportBlocked(f"Job {job.job_code} is archived; restore it before linking it.")
    if job.status == StagedJobStatus.SYNCED and job.project_id != project.pk:
        raise ImportBlocked(f"Job {job.job_code} is already synced with project {job.project}; unlink it first.")
    other = StagedJob.objects.filter(project=project, status=StagedJobStatus.SYNCED, controlling_code="").exclude(pk=job.pk).first()
    if other is not None or (project.erp_job_code and project.erp_job_code != job.job_code):
        name = f"{other.job_code} {other.name}".strip() if other else project.erp_job_code
        raise ImportBlocked(f"Project {project} is already linked to job {name}; unlink that job first.")


def _link_problems(job: StagedJob) -> list[str]:
    """What blocks the job, but for its number being taken: linking is how that is solved."""
    return [p["message"] for p in erp_job_validate(job=job) if p.get("code") != "number_taken"]


def link_preview(*, job: StagedJob, project: Project, user, procore_lookup: bool = True) -> LinkPreview:
    _check_link_permission(job, user)
    _check_linkable(job, project)
    plan = plan_merge(project, staged_structures(job), retire_missing=False)
    plan.problems = _link_problems(job) or plan.problems
    preview = LinkPreview(job, project, plan)
    connection = ProcoreConnection.objects.filter(company=job.company).first()
    if connection is not None:
        preview.procore = True
        if project.procore_id:
            preview.procore_projects = [{"id": project.procore_id, "name": project.name, "project_number": project.project_number,
                                         "linked_to": "", "ours": True}]
        elif procore_lookup:
            try:
                client = connection.client()
                found = client.projects_matching(project_number=project.project_number, name=project.name)
            except ConnectorError as exc:
                preview.procore_error = exc.message
            else:
                preview.procore_projects = [
                    {"id": p["id"], "name": str(p.get("name") or ""), "project_number": str(p.get("project_number") or ""),
                     "linked_to": _linked_to(job, p), "ours": False} for p in found]
    return preview


def _linked_to(job: StagedJob, procore_project: dict) -> str:
    """Whom a Procore project belongs to, when not to this job: "job 25108 Riverside Clinic", or "" when free."""
    origin = str(procore_project.get("origin_id") or "")
    local = Project.objects.filter(company=job.company, procore_id=procore_project.get("id")).first()
    if local is not None and local.erp_job_code and local.erp_job_code != job.job_code:
        return f"project {local} (job {local.erp_job_code})"
    if not origin or origin == job_origin_id(job):
        return ""
    kind, _, rest = origin.partition(":")
    company_code, _, job_code = rest.partition(":")
    other = StagedJob.objects.filter(company=job.company, connection__kind=kind, erp_company_code=company_code, job_code=job_code).first()
    return f"job {other.job_code} {other.name}".strip() if other else f"another record ({origin})"


def erp_job_link(*, job: StagedJob, project: Project, user, procore_project_id: int | None = None, progress=None,
                 expected: str | None = None) -> Project:
    """Link a Ready-to-Import job to an existing project and merge its cost structure and job costs into it.

    With a Procore connection, `procore_project_id` names the Procore project to link (None: the
    publish that follows creates one); it is stamped with the job's origin before anything here
    changes, so a link that fails afterwards can be run again and finds it stamped.
    """
    _check_link_permission(job, user)
    job = StagedJob.objects.select_related("connection", "company").get(pk=job.pk)
    project = Project.objects.get(pk=project.pk)
    if job.status == StagedJobStatus.SYNCED and job.project_id == project.pk:
        return project  # linked already
    _check_linkable(job, project)
    problems = _link_problems(job)
    if problems:
        raise ImportBlocked(f"Job {job.job_code} cannot be linked: " + " ".join(problems))
    connection = ProcoreConnection.objects.filter(company=job.company).first()
    if connection is not None and project.procore_id and procore_project_id != project.procore_id:
        raise ImportBlocked(f"Project {project} is Procore project {project.procore_id} already; link the job to that one.")
    stamped = ""
    if connection is not None and procore_project_id:  # the project's own Procore project too: an unlink cleared its mark
        stamped = _procore_stamp(connection, job, project, int(procore_project_id))
    with sync_run_recording(company=job.company, kind=SyncRunKind.LINK, connection=job.connection, user=user, project=project,
                            progress=progress, job=job) as (run, report):
        report(0, 3, "Reading job costs")
        structures = staged_structures(job)
        transactions = _transactions(job, structures.by_job)
        report(1, 3, "Linking")
        try:
            with transaction.atomic():
                Company.objects.select_for_update(no_key=True).get(pk=job.company_id)  # as an import does
                job = StagedJob.objects.select_for_update(of=("self",)).select_related("connection", "company").get(pk=job.pk)
                project = Project.objects.select_for_update().get(pk=project.pk)
                if job.status == StagedJobStatus.SYNCED and job.project_id == project.pk:
                    raise _LinkedMeanwhile  # another confirm of the same link won
                _check_linkable(job, project)
                plan = plan_merge(project, structures, retire_missing=False)
                if plan.problems:
                    raise ImportBlocked(f"Job {job.job_code} cannot be linked: " + " ".join(plan.problems))
                if expected and plan.fingerprint != expected:
                    raise PreviewOutdated(f"Job {job.job_code} in {job.connection.erp_name}, or project {project.project_number}, "
                                          "changed since the preview was drawn; nothing was changed.")
                before = {"erp_job": project.erp_job_code or None, "procore_id": project.procore_id, "job_status": job.status}
                counts, replaced = _apply_merge(project, structures, plan, retire_missing=False)
                counts |= job_costs_apply(project, job.job_code, structures.records(), transactions)
                before["replaced_figures"] = replaced[:500]
                before["replaced_posted_costs"] = counts.pop("posted_costs_replaced", [])
                project.erp_kind, project.erp_company_code, project.erp_job_code = job.connection.kind, job.erp_company_code, job.job_code
                if procore_project_id:
                    project.procore_id, project.procore_adopted = int(procore_project_id), True
                project.save(update_fields=["erp_kind", "erp_company_code", "erp_job_code", "procore_id", "procore_adopted"])
                jobs = [job, *StagedJob.objects.select_for_update().filter(
                    connection=job.connection, erp_company_code=job.erp_company_code, job_code__in=list(structures.sub_job_names))]
                now = timezone.now()
                StagedJob.objects.filter(pk__in=[j.pk for j in jobs]).update(
                    status=StagedJobStatus.SYNCED, project=project, last_job_cost_sync_at=now, new_cost_codes=0,
                    publish_status=PublishStatus.NONE, publish_step="", publish_error="")
                audit_event_record(company=job.company, actor=user, action="erp_job.linked", obj=project, before=before, after={
                    "erp_job": job.job_code, "procore_id": project.procore_id, **counts,
                    **{k: v for k, v in plan.as_dict().items() if k in ("cost_types_to_add", "cost_types_renamed")},
                    "renamed": [{"code": c, "from": a, "to": b} for _, c, a, b in plan.renamed][:200]})
        except _LinkedMeanwhile:
            run.counts = {"linked_already": True}
            return project
        except ApplicationError as exc:
            if stamped:
                raise ApplicationError(f"{exc.message} {stamped}") from exc
            raise
        run.counts = counts
        report(3, 3, "Done")
    staged_jobs_recheck(job.connection, {job.pk})
    if connection is not None:
        procore_publish_enqueue(job=job)
    return project


class _LinkedMeanwhile(Exception):
    """The job was linked to this project by another request while this one read the ERP."""


def _procore_stamp(connection, job: StagedJob, project: Project, procore_project_id: int) -> str:
    """Mark the Procore project as this job's; refuse one that is another job's. Returns what to say if the link then fails."""
    taken = Project.objects.filter(company=job.company, procore_id=procore_project_id).exclude(pk=project.pk).first()
    if taken is not None:
        raise ImportBlocked(f"Procore project {procore_project_id} is already the Procore project of {taken}; pick another.")
    try:
        client = connection.client()
        found = client.project(procore_project_id)
        owner = _linked_to(job, found)
        if owner:
            raise ImportBlocked(f"Procore project {found.get('project_number') or ''} {found.get('name') or ''} is already "
                                f"linked to {owner}; unlink it there first, or pick another.".replace("  ", " "))
        client.project_update(procore_project_id, {"origin_id": job_origin_id(job), "origin_code": job.job_code})
    except ConnectorError as exc:
        raise ApplicationError(f"Procore could not be linked: {exc.message} Nothing was changed.") from exc
    return (f"Procore project {procore_project_id} is now marked as job {job.job_code}'s; "
            "linking again finishes the link, and unlinking clears that mark.")


# --- unlink ---------------------------------------------------------------------------------


def erp_job_unlink(*, job: StagedJob, user, archive: bool = False) -> StagedJob:
    """Stop syncing a job with its project; the project keeps all its data. The job goes back to Ready to Import (or Archived)."""
    if not can_manage_erp_jobs(Membership.objects.filter(user=user, company=job.company).first()):
        raise PermissionRefused(UNLINK_REQUIREMENT)
    job = StagedJob.objects.select_related("connection", "company", "project").get(pk=job.pk)
    if job.is_sub_job:
        raise ApplicationError(f"Job {job.job_code} is a sub job of {job.controlling_code}; unlink {job.controlling_code}.")
    target = StagedJobStatus.ARCHIVED if archive else StagedJobStatus.READY
    if job.status != StagedJobStatus.SYNCED or job.project is None:
        raise ApplicationError(f"Job {job.job_code} is not linked to a project.")
    project = job.project
    busy = SyncRun.objects.filter(project=project, kind__in=[SyncRunKind.PUBLISH, SyncRunKind.JOB_COSTS, SyncRunKind.COST_CODES],
                                  outcome__in=ACTIVE).first()
    if busy is not None:
        raise ApplicationError(f"{busy.get_kind_display()} of project {project} is {busy.get_outcome_display().lower()}; "
                               "wait for it to finish, then unlink.")
    connection = ProcoreConnection.objects.filter(company=job.company).first()
    procore_cleared = False
    if connection is not None and project.procore_id:
        try:
            connection.client().project_update(project.procore_id, {"origin_id": "", "origin_code": ""})
            procore_cleared = True
        except ConnectorError as exc:
            raise ApplicationError(f"Procore could not be told: {exc.message} Nothing was changed; try again.") from exc
    with transaction.atomic():
        job = StagedJob.objects.select_for_update().get(pk=job.pk)
        if job.status != StagedJobStatus.SYNCED or job.project_id != project.pk:
            return job  # unlinked meanwhile
        project = Project.objects.select_for_update().get(pk=project.pk)
        before = {"status": job.status, "project": str(project), "erp_job": project.erp_job_code}
        jobs = StagedJob.objects.filter(project=project)
        job_ids = list(jobs.values_list("pk", flat=True))
        jobs.update(status=target, project=None, publish_status=PublishStatus.NONE, publish_step="", publish_error="",
                    new_cost_codes=0, last_job_cost_sync_at=None)
        project.erp_kind = project.erp_company_code = project.erp_job_code = ""
        project.save(update_fields=["erp_kind", "erp_company_code", "erp_job_code"])
        # The project's codes and lines are its own now: a later link or refresh does not retire them.
        CostCode.objects.filter(project=project).update(from_erp=False, procore_outdated=False)
        BudgetLine.objects.filter(project=project).update(from_erp=False)
        # Its posted costs stay on record; a job linked later counts only the ones it posted itself.
        CostTransaction.objects.filter(budget_line__project=project).update(from_erp=False)
        audit_event_record(company=job.company, actor=user, action="erp_job.unlinked", obj=job, before=before,
                           after={"status": target, "project": str(project), "procore_origin_cleared": procore_cleared})
    staged_jobs_recheck(job.connection, set(job_ids))
    job.refresh_from_db()
    return job


# --- refresh cost codes ---------------------------------------------------------------------


def _control_job(project: Project) -> StagedJob:
    control = (StagedJob.objects.filter(project=project, status=StagedJobStatus.SYNCED, controlling_code="")
               .select_related("connection", "company").first())
    if control is None:
        raise ApplicationError(f"Project {project.project_number} is not linked to an ERP job, so it has no cost codes to refresh.")
    return control


def cost_codes_preview(*, project: Project, user) -> Plan:
    """What Refresh cost codes would change, read from the ERP now."""
    if not can_refresh_erp(Membership.objects.filter(user=user, company=project.company).first()):
        raise PermissionRefused(COST_CODES_REQUIREMENT)
    return plan_merge(project, erp_structures(_control_job(project)), retire_missing=True)


def cost_codes_refresh(*, project: Project, user=None, structures: Structures | None = None, progress=None,
                       expected: str | None = None, automatic: bool = False) -> tuple[Plan, SyncRun]:
    """Bring the project's cost codes, cost types and budget lines to what the ERP has now (`structures`: as staged, for the
    automatic refresh), recompute its job costs, and publish the changes to Procore. Refused, unchanged, while the ERP's
    structure has problems an import would refuse. `user` None: the system, after a refresh."""
    if user is not None and not can_refresh_erp(Membership.objects.filter(user=user, company=project.company).first()):
        raise PermissionRefused(COST_CODES_REQUIREMENT)
    control = _control_job(project)
    with sync_run_recording(company=project.company, kind=SyncRunKind.COST_CODES, connection=control.connection, user=user,
                            project=project, progress=progress, job=control) as (run, report):
        report(0, 3, "Reading the ERP")
        structures = structures or erp_structures(control)
        transactions = _transactions(control, structures.by_job)
        report(1, 3, "Updating cost codes")
        with transaction.atomic():
            project = Project.objects.select_for_update().get(pk=project.pk)
            control = StagedJob.objects.select_for_update(of=("self",)).select_related("connection", "company").get(pk=control.pk)
            if control.status != StagedJobStatus.SYNCED or control.project_id != project.pk:
                raise ApplicationError(f"Job {control.job_code} was unlinked from project {project} meanwhile; nothing was changed.")
            plan = plan_merge(project, structures, retire_missing=True)
            if plan.problems:
                raise ImportBlocked(("The automatic update after the refresh (a company setting) was not made. " if automatic else "")
                                    + f"The cost codes of job {control.job_code} cannot be refreshed: " + " ".join(plan.problems),
                                    extra={"problems": plan.problems})
            if expected and plan.fingerprint != expected:
                raise PreviewOutdated(f"Job {control.job_code} in {control.connection.erp_name}, or project {project.project_number}, "
                                      "changed since the preview was read; nothing was changed.")
            counts, replaced = _apply_merge(project, structures, plan, retire_missing=True)
            counts |= job_costs_apply(project, control.job_code, structures.records(), transactions)
            replaced_costs = counts.pop("posted_costs_replaced", [])
            StagedJob.objects.filter(project=project).update(last_job_cost_sync_at=timezone.now())
            if plan.changes or replaced_costs:
                audit_event_record(company=project.company, actor=user, action="erp_job.cost_codes_refreshed", obj=project,
                                   before={"renamed_from": {c: a for _, c, a, _ in plan.renamed[:500]}, "replaced_figures": replaced[:500],
                                           "replaced_posted_costs": replaced_costs}, after={**plan.as_dict(most=500), "counts": counts})
        run.counts = counts | {"automatic": automatic}
        report(3, 3, "Done")
    new_cost_codes_recount(control.connection, {control.pk})
    if plan.changes and control.publish_status != PublishStatus.NONE and ProcoreConnection.objects.filter(company=project.company).exists():
        procore_publish_enqueue(job=control)
    return plan, run


def new_cost_codes_auto_add(connection, user=None) -> int:
    """After a refresh (by `user`, None for the schedule), for a company that asks for it: add the new cost codes of its
    synced jobs. Returns the projects updated."""
    settings = ErpSettings.objects.filter(company=connection.company).first()
    if settings is None or not settings.auto_add_cost_codes:
        return 0
    updated = 0
    for control in StagedJob.objects.filter(connection=connection, status=StagedJobStatus.SYNCED, controlling_code="",
                                            new_cost_codes__gt=0).select_related("project", "connection", "company"):
        try:
            cost_codes_refresh(project=control.project, structures=staged_structures(control), user=user, automatic=True)
        except ApplicationError as exc:  # the refresh itself succeeded: this job's run says why, and its count stays on screen
            logger.info("the new cost codes of job %s were not added: %s", control.job_code, exc.message)
            continue
        except Exception:
            logger.exception("the new cost codes of job %s were not added", control.job_code)
            continue
        updated += 1
    return updated


"""The job-cost report of a project: budget lines grouped by division, with exact totals."""

import csv
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Sum

from erpsync.projects.amounts import MONEY, exact_sum
from erpsync.projects.models import BudgetLine, CostCode, Project

ZERO = Decimal("0")


@dataclass
class ReportLine:
    cost_code: str
    description: str
    cost_type: str
    original_budget: Decimal
    revised_budget: Decimal
    committed_cost: Decimal
    job_to_date_cost: Decimal

    @property
    def remaining(self) -> Decimal:
        return self.revised_budget - self.job_to_date_cost

    @property
    def percent_used(self) -> Decimal | None:
        if not self.revised_budget:
            return None
        return (self.job_to_date_cost * 100 / self.revised_budget).quantize(Decimal("0.1"))


FIGURES = ("original_budget", "revised_budget", "committed_cost", "job_to_date_cost")


@dataclass
class Division:
    code: str
    description: str
    sub_job: str
    lines: list[ReportLine] = field(default_factory=list)
    pk: int | None = None  # the division's cost code
    sums: tuple | None = None  # its figures summed by the database, when its lines are not read
    line_count: int = 0
    code_count: int = 0  # cost codes under it, itself included

    def total(self) -> ReportLine:
        figures = self.sums if self.sums is not None else (sum((getattr(l, c) for l in self.lines), ZERO) for c in FIGURES)
        return ReportLine(self.code, f"Total {self.description}", "", *figures)


@dataclass
class JobCostReport:
    project: Project
    divisions: list[Division]  # those with budget lines
    headings: list[Division] = field(default_factory=list)  # every top-level cost code, lines or not

    def total(self) -> ReportLine:
        totals = [d.total() for d in self.divisions]
        return ReportLine(
            "", "Project total", "",
            *(sum((getattr(t, c) for t in totals), ZERO) for c in FIGURES),
        )

    def chart(self, width: int = 640, bar: int = 14) -> dict:
        """Bars of revised budget against job-to-date cost per division, as SVG geometry."""
        rows = [(d, d.total()) for d in self.divisions]
        top = max([max(t.revised_budget, t.job_to_date_cost) for _, t in rows] + [Decimal(1)])
        label_width, scale_width = 220, width - 220 - 110
        bars = []
        for i, (d, t) in enumerate(rows):
            y = i * (bar * 2 + 10)
            bars.append({
                "label": f"{d.sub_job + ' · ' if d.sub_job else ''}{d.code} {d.description}"[:34],
                "y": y,
                "budget": int(t.revised_budget / top * scale_width) if t.revised_budget > 0 else 0,
                "cost": int(t.job_to_date_cost / top * scale_width) if t.job_to_date_cost > 0 else 0,
                "over": t.job_to_date_cost > t.revised_budget,
                "budget_value": t.revised_budget,
                "cost_value": t.job_to_date_cost,
            })
        return {"bars": bars, "width": width, "height": max(1, len(rows)) * (bar * 2 + 10), "x": label_width, "bar": bar}


def _codes(project: Project) -> tuple[dict, dict]:
    """The project's cost codes {pk: (parent, code, description, sub job)} and the division (top-level code) of each."""
    codes = {
        pk: (parent, code, description, sub_job or "")
        for pk, parent, code, description, sub_job in CostCode.objects.filter(project=project).values_list(
            "pk", "parent_id", "code", "description", "sub_job__code"
        )
    }
    division = {}
    for pk in codes:
        path, node = [], pk
        while node not in division and codes[node][0] is not None and len(path) < 50:
            path.append(node)
            node = codes[node][0]
        root = division.get(node, node)
        for seen in (*path, node):
            division[seen] = root
    return codes, division


def job_cost_summary(project: Project) -> JobCostReport:
    """The report by division, with each division's totals summed by the database and its lines left unread."""
    codes, division_of = _codes(project)
    divisions: dict[int, Division] = {}
    for root in division_of.values():
        if root not in divisions:
            _, code, description, sub_job = codes[root]
            divisions[root] = Division(code=code, description=description, sub_job=sub_job, pk=root, sums=(ZERO,) * 4)
        divisions[root].code_count += 1
    sums = (BudgetLine.objects.filter(project=project).values("cost_code_id")
            .annotate(n=Count("pk"), **{c: Sum(f"job_cost__{c}") for c in FIGURES}).order_by())
    for row in sums:
        d = divisions[division_of[row["cost_code_id"]]]
        d.line_count += row["n"]
        d.sums = tuple(total + exact_sum(row[c], MONEY["decimal_places"]) for total, c in zip(d.sums, FIGURES))
    ordered = sorted(divisions.values(), key=lambda d: (d.sub_job, d.code))
    return JobCostReport(project=project, divisions=[d for d in ordered if d.line_count], headings=ordered)


def job_cost_division(project: Project, division: int) -> Division | None:
    """One division with its lines (None if the project has no such division)."""
    codes, division_of = _codes(project)
    if division_of.get(division) != division:
        return None
    report = job_cost_report(project, cost_codes=[pk for pk, root in division_of.items() if root == division],
                             known=(codes, division_of))
    return report.divisions[0] if report.divisions else Division(*codes[division][1:], pk=division)


def job_cost_report(project: Project, *, cost_codes: list[int] | None = None, known: tuple | None = None) -> JobCostReport:
    """Every budget line, by division (of these cost codes only, if given)."""
    codes, division_of = known or _codes(project)
    divisions: dict[int, Division] = {}
    lines = (
        BudgetLine.objects.filter(project=project)
        .select_related("cost_code", "cost_type", "job_cost")
        .order_by("cost_code__sub_job__code", "cost_code__code", "cost_type__code")
    )
    if cost_codes is not None:
        lines = lines.filter(cost_code_id__in=cost_codes)
    for bl in lines:
        root = division_of[bl.cost_code_id]
        if root not in divisions:
            _, code, description, sub_job = codes[root]
            divisions[root] = Division(code=code, description=description, sub_job=sub_job, pk=root)
        jc = getattr(bl, "job_cost", None)
        divisions[root].lines.append(ReportLine(
            bl.cost_code.code, bl.cost_code.description, f"{bl.cost_type.code} {bl.cost_type.name}",
            jc.original_budget if jc else ZERO, jc.revised_budget if jc else ZERO,
            jc.committed_cost if jc else ZERO, jc.job_to_date_cost if jc else ZERO,
        ))
    for d in divisions.values():
        d.line_count = len(d.lines)
    ordered = sorted(divisions.values(), key=lambda d: (d.sub_job, d.code))
    return JobCostReport(project=project, divisions=ordered)


def job_cost_report_csv(report: JobCostReport, out) -> None:
    writer = csv.writer(out)
    writer.writerow(["Sub job", "Division", "Cost code", "Description", "Cost type", "Original budget", "Revised budget",
                     "Committed", "Job-to-date cost", "Remaining", "Percent used"])
    for d in report.divisions:
        for l in d.lines:
            writer.writerow([d.sub_job, d.code, l.cost_code, l.description, l.cost_type, l.original_budget, l.revised_budget,
                             l.committed_cost, l.job_to_date_cost, l.remaining, "" if l.percent_used is None else l.percent_used])
    t = report.total()
    writer.writerow(["", "", "", t.description, "", t.original_budget, t.revised_budget, t.committed_cost, t.job_to_date_cost,
                     t.remaining, "" if t.percent_used is None else t.percent_used])

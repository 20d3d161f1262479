"""What every connector speaks: frozen records, the Source protocol and ConnectorError.

Connectors never touch the ORM. A Source yields records; services stage and apply them.
Each record carries `where` (file and row, or resource and offset) so an error about it can
name the place, and `raw` (the item as the ERP sent it); neither takes part in equality.
"""

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

ZERO = Decimal("0")


class ConnectorError(Exception):
    """The ERP could not be read. `permanent` errors are not retried."""

    def __init__(self, message: str, *, permanent: bool = True):
        super().__init__(message)
        self.message = message
        self.permanent = permanent


def _meta():
    return field(default="", compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class JobRecord:
    company_code: str
    job_code: str
    name: str
    controlling_code: str = ""  # empty for a control job; the control job's code for a sub job
    status: str = ""
    address: str = ""
    city: str = ""
    state: str = ""
    zip: str = ""
    start_date: date | None = None
    end_date: date | None = None
    updated_at: datetime | None = field(default=None, compare=False)
    raw: Mapping = field(default_factory=dict, compare=False, repr=False)
    where: str = _meta()

    @property
    def key(self) -> tuple[str, str]:
        return (self.company_code, self.job_code)


@dataclass(frozen=True, slots=True)
class CostCodeRecord:
    """A CMiC phase of one job."""

    company_code: str
    job_code: str
    code: str
    name: str
    parent_code: str = ""  # empty at the top level (CMiC's "ALL")
    active: bool = True
    where: str = _meta()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.company_code, self.job_code, self.code)


@dataclass(frozen=True, slots=True)
class CostTypeRecord:
    """A CMiC master category: a company cost type."""

    company_code: str
    code: str
    name: str
    parent_code: str = ""
    where: str = _meta()

    @property
    def key(self) -> tuple[str, str]:
        return (self.company_code, self.code)


@dataclass(frozen=True, slots=True)
class BudgetLineRecord:
    """A CMiC job category: a cost type on a phase, where budgets sit."""

    company_code: str
    job_code: str
    phase_code: str
    category_code: str
    active: bool = True
    original_budget: Decimal = ZERO
    approved_changes: Decimal = ZERO
    budget_units: Decimal = ZERO
    committed_cost: Decimal = ZERO
    percent_complete: Decimal = ZERO
    where: str = _meta()

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.company_code, self.job_code, self.phase_code, self.category_code)


@dataclass(frozen=True, slots=True)
class CostTransactionRecord:
    """One row of CMiC's posted job-cost detail."""

    company_code: str
    job_code: str
    phase_code: str
    category_code: str
    number: str
    posted_on: date
    amount: Decimal
    units: Decimal = ZERO
    source: str = ""
    reference: str = ""
    where: str = _meta()

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.company_code, self.job_code, self.number)


@dataclass(frozen=True, slots=True)
class JobCostRecord:
    """The figures of one budget line, summed from its budget and its posted detail."""

    phase_code: str
    category_code: str
    original_budget: Decimal
    approved_changes: Decimal
    revised_budget: Decimal
    committed_cost: Decimal
    job_to_date_cost: Decimal
    job_to_date_units: Decimal
    month_to_date_cost: Decimal
    percent_complete: Decimal


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of a connection test: what was tried and, in plain words, how it went."""

    subject: str
    ok: bool
    message: str
    warning: bool = False  # works, with something lost that the message names


@runtime_checkable
class Source(Protocol):
    """An ERP to read. `since` asks for records changed since then, where supported: one time, or a time per
    ERP company code (a company without one is read in full)."""

    kind: str

    def check(self) -> list[CheckResult]: ...

    def jobs(self, *, since: datetime | None = None) -> Iterator[JobRecord]: ...

    def cost_codes(self, *, since: datetime | None = None, job_codes: set[str] | None = None) -> Iterator[CostCodeRecord]: ...

    def cost_types(self) -> Iterator[CostTypeRecord]: ...

    def budget_lines(self, *, since: datetime | None = None, job_codes: set[str] | None = None) -> Iterator[BudgetLineRecord]: ...

    def cost_transactions(self, *, since: datetime | None = None, job_codes: set[str] | None = None) -> Iterator[CostTransactionRecord]: ...


def job_costs_from(
    lines: list[BudgetLineRecord], transactions: list[CostTransactionRecord], *, as_of: date
) -> list[JobCostRecord]:
    """Sum a job's budget lines and posted detail into job-cost figures per line."""
    jtd: dict[tuple[str, str], list[Decimal]] = {}
    for t in transactions:
        sums = jtd.setdefault((t.phase_code, t.category_code), [ZERO, ZERO, ZERO])
        sums[0] += t.amount
        sums[1] += t.units
        if (t.posted_on.year, t.posted_on.month) == (as_of.year, as_of.month):
            sums[2] += t.amount
    result = []
    for line in lines:
        cost, units, month = jtd.get((line.phase_code, line.category_code), (ZERO, ZERO, ZERO))
        result.append(
            JobCostRecord(
                phase_code=line.phase_code,
                category_code=line.category_code,
                original_budget=line.original_budget,
                approved_changes=line.approved_changes,
                revised_budget=line.original_budget + line.approved_changes,
                committed_cost=line.committed_cost,
                job_to_date_cost=cost,
                job_to_date_units=units,
                month_to_date_cost=month,
                percent_complete=line.percent_complete,
            )
        )
    return result

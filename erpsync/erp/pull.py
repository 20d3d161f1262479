"""One refresh's pull: what the ERP sent, in scratch tables, checked as a whole with SQL.

The ERP's resources are read at once over a few connections (threads that fetch and map
pages); this thread, which owns the database connection, loads each batch as it arrives.
Memory stays flat: at most a few batches wait between the readers and the loader. When all is
in, SQL over the whole pull refuses what cannot be staged (a key given twice, a phase of a job
the ERP does not list, a job category of an unknown category or phase), naming the place.
"""

import json
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from itertools import batched
from typing import NamedTuple

from erpsync import db
from erpsync.connectors.base import BudgetLineRecord, ConnectorError, CostCodeRecord, CostTypeRecord, JobRecord
from erpsync.projects.amounts import money, money_fits, quantity, quantity_fits

BATCH = 2000
STAGED_JOB = "erp_stagedjob"


class PulledCostType(NamedTuple):
    company: str
    code: str
    name: str
    place: str  # file and row, or resource, offset and item: where an error about the row points

    @classmethod
    def of(cls, r: CostTypeRecord) -> "PulledCostType":
        return cls(r.company_code, r.code, r.name, r.where)


class PulledJob(NamedTuple):
    company: str
    job: str
    name: str
    controlling: str
    status: str
    address: str
    city: str
    state: str
    zip: str
    start_date: date | None
    end_date: date | None
    raw: db.Json
    place: str

    @classmethod
    def of(cls, r: JobRecord) -> "PulledJob":
        return cls(r.company_code, r.job_code, r.name, r.controlling_code, r.status, r.address, r.city, r.state, r.zip,
                   r.start_date, r.end_date, db.Json(json.dumps(dict(r.raw), default=str)), r.where)


class PulledCostCode(NamedTuple):
    company: str
    job: str
    code: str
    name: str
    parent: str
    active: bool
    place: str

    @classmethod
    def of(cls, r: CostCodeRecord) -> "PulledCostCode":
        return cls(r.company_code, r.job_code, r.code, r.name, r.parent_code, r.active, r.where)


class PulledBudgetLine(NamedTuple):
    company: str
    job: str
    phase: str
    category: str
    active: bool
    original_budget: Decimal
    approved_changes: Decimal
    budget_units: Decimal
    committed_cost: Decimal
    percent_complete: Decimal
    place: str

    @classmethod
    def of(cls, r: BudgetLineRecord) -> "PulledBudgetLine":
        """Amounts the registry cannot store exactly are refused here, never rounded."""
        revised = r.original_budget + r.approved_changes  # what the project will hold as the revised budget
        if not (money_fits(r.original_budget) and money_fits(r.approved_changes) and money_fits(r.committed_cost)
                and money_fits(revised) and quantity_fits(r.budget_units)):
            for amount in (r.original_budget, r.approved_changes, r.committed_cost):
                money(amount, r.where)
            quantity(r.budget_units, r.where)
            money(revised, f"{r.where} (the revised budget, original plus approved changes)")
        return cls(r.company_code, r.job_code, r.phase_code, r.category_code, r.active, r.original_budget, r.approved_changes,
                   r.budget_units, r.committed_cost, r.percent_complete, r.where)


class Resource(NamedTuple):
    entity: str  # the Source's method
    table: db.ScratchTable
    key: tuple[str, ...]
    label: str  # how progress and messages name its rows


class Pull:
    """The scratch tables of one pull. Use as a context manager: they are dropped on exit."""

    def __init__(self):
        self.cost_types = Resource("cost_types", db.ScratchTable(PulledCostType, "pull_cost_types"), ("company", "code"),
                                   "categories")
        self.jobs = Resource("jobs", db.ScratchTable(PulledJob, "pull_jobs"), ("company", "job"), "jobs")
        self.codes = Resource("cost_codes", db.ScratchTable(PulledCostCode, "pull_codes"), ("company", "job", "code"),
                              "cost codes")
        self.lines = Resource("budget_lines", db.ScratchTable(PulledBudgetLine, "pull_lines"),
                              ("company", "job", "phase", "category"), "budget lines")
        # An incremental pull's jobs keep their staged rows that the pull does not replace (see keep_staged).
        self.kept_codes = db.ScratchTable(PulledCostCode, "kept_codes")
        self.kept_lines = db.ScratchTable(PulledBudgetLine, "kept_lines")
        self.resources = (self.codes, self.lines, self.jobs, self.cost_types)  # the largest first: readers finish together

    def __enter__(self):
        self._tables = db.scratch_tables(*(r.table for r in self.resources), self.kept_codes, self.kept_lines)
        self._tables.__enter__()
        return self

    def __exit__(self, *exc):
        return self._tables.__exit__(*exc)

    # --- reading ---------------------------------------------------------------------------

    def load(self, source, *, since, readers: int, report) -> None:
        """Read every resource (changed since `since`, where the Source can tell) into the tables."""
        tables = {r.entity: r.table for r in self.resources}
        report(0, 4, "Reading")
        for entity, rows in read_concurrently(source, [r.entity for r in self.resources], since=since, readers=readers):
            tables[entity].load(rows)
            report(0, 4, "Reading: " + ", ".join(f"{r.table.loaded:,} {r.label}" for r in self.resources))
        for resource in self.resources:
            resource.table.index(*resource.key)

    # --- checking --------------------------------------------------------------------------

    def check_rows(self, connection_id: int, *, full: bool) -> None:
        """Refuse a pull that cannot be staged as a whole, naming the first place at fault.

        A full pull must list every job its phases belong to; an incremental one may bring phases of a
        job staged before (whose own row did not change).
        """
        for resource in self.resources:
            self._refuse_repeats(resource)
        staged = "" if full else f"""AND NOT EXISTS (SELECT 1 FROM {STAGED_JOB} s WHERE s.connection_id = %s
                              AND s.erp_company_code = c.company AND s.job_code = c.job)"""
        orphan = _first(f"""SELECT c.code, c.job, c.place FROM pull_codes c
            WHERE NOT EXISTS (SELECT 1 FROM pull_jobs j WHERE j.company = c.company AND j.job = c.job) {staged}
            ORDER BY c.seq""", [] if full else [connection_id])
        if orphan:
            raise ConnectorError(f"{orphan[2]}: cost code {orphan[0]} belongs to job {orphan[1]}, which the jobs list does not have.")
        unknown = _first("""SELECT l.category, l.place FROM pull_lines l
            WHERE NOT EXISTS (SELECT 1 FROM pull_cost_types t WHERE t.company = l.company AND t.code = l.category)
            ORDER BY l.seq""")
        if unknown:
            raise ConnectorError(f"{unknown[1]}: category {unknown[0]} is not one of the company's categories.")

    def check_phases(self) -> None:
        """Refuse a job category whose phase its job does not have (after keep_staged, for an incremental pull)."""
        stray = _first("""SELECT l.phase, l.job, l.place FROM pull_lines l
            WHERE NOT EXISTS (SELECT 1 FROM pull_codes c WHERE c.company = l.company AND c.job = l.job AND c.code = l.phase)
            ORDER BY l.seq""")
        if stray:
            raise ConnectorError(f"{stray[2]}: cost code {stray[0]} is not a cost code of job {stray[1]}.")

    def _refuse_repeats(self, resource: Resource) -> None:
        key = ", ".join(resource.key)
        repeated = _first(f"""SELECT {key} FROM {resource.table.name} GROUP BY {key} HAVING COUNT(*) > 1
            ORDER BY MIN(seq) LIMIT 1""")
        if not repeated:
            return
        match = " AND ".join(f"{column} = %s" for column in resource.key)
        first, second = db.rows(f"SELECT place FROM {resource.table.name} WHERE {match} ORDER BY seq LIMIT 2", repeated)
        described = {
            "cost_codes": lambda company, job, code: f"the cost code {code} of job {job}",
            "budget_lines": lambda company, job, phase, category: f"cost code {phase} × category {category} of job {job}",
            "jobs": lambda *key: f"the job {' / '.join(key)}",
            "cost_types": lambda *key: f"the category {' / '.join(key)}",
        }[resource.entity](*repeated)
        raise ConnectorError(f"{second[0]} repeats {described} already given at {first[0]}.")

    # --- what an incremental pull keeps ----------------------------------------------------

    def keep_staged(self, documents: Iterator[tuple[str, str, list, list]]) -> None:
        """Add staged phases and job categories of the pulled jobs that the pull did not replace.

        `documents` gives (company, job, phases, job categories) as staged (see StagedJobStructure)
        for every job with rows in the pull; afterwards the tables hold each such job's whole structure.
        """
        for batch in batched(documents, BATCH // 10):
            self.kept_codes.load([PulledCostCode(company, job, code, name, parent, active, "staging")
                                  for company, job, codes, _ in batch for code, name, parent, active in codes])
            self.kept_lines.load([PulledBudgetLine(company, job, *line[:2], line[2], *map(Decimal, line[3:8]), "staging")
                                  for company, job, _, lines in batch for line in lines])
        columns = ", ".join(PulledCostCode._fields)
        db.execute(f"""INSERT INTO pull_codes ({columns}, seq) SELECT {columns}, -1 FROM kept_codes k
            WHERE NOT EXISTS (SELECT 1 FROM pull_codes c WHERE c.company = k.company AND c.job = k.job AND c.code = k.code)""")
        columns = ", ".join(PulledBudgetLine._fields)
        db.execute(f"""INSERT INTO pull_lines ({columns}, seq) SELECT {columns}, -1 FROM kept_lines k
            WHERE NOT EXISTS (SELECT 1 FROM pull_lines l WHERE l.company = k.company AND l.job = k.job AND l.phase = k.phase
                              AND l.category = k.category)""")

    def jobs_with_structure(self) -> list[tuple[str, str]]:
        return db.rows("SELECT company, job FROM pull_codes UNION SELECT company, job FROM pull_lines")


def _first(sql: str, params=()):
    found = db.rows(f"{sql} LIMIT 1" if "LIMIT" not in sql else sql, params)
    return found[0] if found else None


def read_concurrently(source, entities: list[str], *, since, readers: int) -> Iterator[tuple[str, list[tuple]]]:
    """(entity, rows) batches of every entity, read by `readers` threads at once.

    The caller's thread stages what the readers hand over; a failure in any reader is raised
    here, after the others have stopped.
    """
    handed = queue.Queue(maxsize=2 * readers)  # how far the readers may run ahead of the loader
    stop = threading.Event()
    done = object()

    def read(entity: str) -> None:  # in a reader thread: no database here
        try:
            records = source.cost_types() if entity == "cost_types" else getattr(source, entity)(since=since)
            row = ROWS[entity]
            for chunk in batched(records, BATCH):
                if stop.is_set():
                    return
                handed.put((entity, [row(r) for r in chunk]))
        finally:
            handed.put((entity, done))

    with ThreadPoolExecutor(max_workers=max(1, readers), thread_name_prefix="erp-pull") as pool:
        futures = {entity: pool.submit(read, entity) for entity in entities}
        finished = 0
        try:
            while finished < len(futures):
                entity, rows = handed.get()
                if rows is done:
                    finished += 1
                    futures[entity].result()  # raises what stopped that reader
                    continue
                yield entity, rows
        finally:
            stop.set()
            while not all(f.done() for f in futures.values()):  # let readers blocked on a full queue see the stop
                try:
                    handed.get(timeout=0.05)
                except queue.Empty:
                    pass


ROWS = {"cost_types": PulledCostType.of, "jobs": PulledJob.of, "cost_codes": PulledCostCode.of,
        "budget_lines": PulledBudgetLine.of}

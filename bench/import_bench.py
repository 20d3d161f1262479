"""Import benchmark: one job of 2,000 cost codes × 4 cost types with 200,000 posted costs.

Prints erpsync's import speed (rows written per second), the speed of a bare script doing the
same work with sqlite3 (read the job's rows from the same export file with the csv module, turn
amounts into Decimal and dates into dates, executemany them into tables of the same shape), their
ratio (bar: at least 0.33), and the process's peak memory (bar: under 500 MB). Both sides start
from the export file because an import starts there: it reads the job's posted costs from the
ERP. The bare script's write phase alone is printed too.

    .venv/bin/python bench/import_bench.py
"""

import csv
import resource
import sqlite3
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

from benchsetup import company_with_export, django_for_benchmarks  # noqa: E402

WORK = django_for_benchmarks("erpsync-bench-")


from erpsync.demo import generator  # noqa: E402
from erpsync.erp.models import StagedJob  # noqa: E402
from erpsync.erp.services import erp_job_import  # noqa: E402
from erpsync.projects.models import BudgetLine, CostCode, CostTransaction, JobCost  # noqa: E402

PLAN = generator.Plan(
    seed=7, large_job_phases=2000, categories_per_phase=(4, 4), transactions_per_line=(25, 25),
    problem_jobs=False, large_job_only=True,
)


def main() -> None:
    export = WORK / "exports" / "bench" / "cmic"  # the company "bench" reads its export folder under the root
    counts = generator.generate(export, PLAN)
    company, user = company_with_export(export)

    job = StagedJob.objects.get(job_code=generator.LARGE_JOB)
    started = time.perf_counter()
    project = erp_job_import(job=job, template=None, user=user)
    elapsed = time.perf_counter() - started
    rows = {
        "cost codes": CostCode.objects.filter(project=project).count(),
        "budget lines": BudgetLine.objects.filter(project=project).count(),
        "job costs": JobCost.objects.filter(budget_line__project=project).count(),
        "cost transactions": CostTransaction.objects.filter(budget_line__project=project).count(),
    }
    total = sum(rows.values())
    ours = total / elapsed
    raw_read, raw_write = raw_sqlite_import(export, rows)
    raw_elapsed = raw_read + raw_write
    raw = total / raw_elapsed
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"generated: {counts['cost_codes']} cost codes, {counts['budget_lines']} budget lines, {counts['cost_transactions']} posted costs")
    print(f"erpsync import: {total} rows in {elapsed:.2f} s = {ours:,.0f} rows/s ({', '.join(f'{v} {k}' for k, v in rows.items())})")
    print(f"bare csv + sqlite3 executemany: {total} rows in {raw_elapsed:.2f} s = {raw:,.0f} rows/s "
          f"(reading {raw_read:.2f} s, executemany {raw_write:.2f} s)")
    print(f"ratio: {ours / raw:.2f} (bar: at least 0.33)")
    print(f"peak memory: {peak_mb:.0f} MB (bar: under 500 MB)")


def raw_sqlite_import(export: Path, rows: dict) -> tuple[float, float]:
    """The same rows, read from the export with the csv module and written with executemany."""
    path = WORK / "raw.sqlite3"
    db = sqlite3.connect(path)
    db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
    # Same-shaped tables: erpsync's own schema (columns, types, indexes) for the four tables.
    from django.db import connection

    tables = [m._meta.db_table for m in (CostCode, BudgetLine, JobCost, CostTransaction)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT sql FROM sqlite_master WHERE tbl_name IN ({', '.join('%s' for _ in tables)}) AND sql IS NOT NULL "
            "ORDER BY type DESC",  # tables before indexes
            tables,
        )
        ddl = [row[0] for row in cursor.fetchall()]
    for statement in ddl:
        db.execute(statement)
    cc, bl, jc, ct = tables
    started = time.perf_counter()
    with open(export / "jcjobcostcodes.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        code_rows = [(1, None, row[2], row[3], None, row[5] == "Y") for row in reader if row[1] == generator.LARGE_JOB]
    with open(export / "jcjobcategory.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        lines = [row for row in reader if row[1] == generator.LARGE_JOB]
    line_rows = [(1, i // 4 + 1, i % 4 + 1) for i in range(len(lines))]
    cost_rows = [
        (i + 1, str(Decimal(r[5])), str(Decimal(r[6])), str(Decimal(r[5]) + Decimal(r[6])), str(Decimal(r[8])), "0", "0", "0", str(Decimal(r[9])), "2026-11-20")
        for i, r in enumerate(lines)
    ]
    line_of = {(r[2], r[3]): i + 1 for i, r in enumerate(lines)}
    with open(export / "jcdetailposted.csv", newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        next(reader)
        tx_rows = [
            (line_of[(r[2], r[3])], r[4], date.fromisoformat(r[5]).isoformat(), str(Decimal(r[6])), str(Decimal(r[7])), r[8], r[9])
            for r in reader if r[1] == generator.LARGE_JOB
        ]
    read = time.perf_counter() - started
    assert (len(code_rows), len(line_rows), len(tx_rows)) == (rows["cost codes"], rows["budget lines"], rows["cost transactions"])
    started = time.perf_counter()
    with db:
        db.executemany(f"INSERT INTO {cc} (project_id, sub_job_id, code, description, parent_id, active) VALUES (?,?,?,?,?,?)", code_rows)
        db.executemany(f"INSERT INTO {bl} (project_id, cost_code_id, cost_type_id) VALUES (?,?,?)", line_rows)
        db.executemany(f"INSERT INTO {jc} (budget_line_id, original_budget, approved_changes, revised_budget, committed_cost, job_to_date_cost, job_to_date_units, month_to_date_cost, percent_complete, as_of) VALUES (?,?,?,?,?,?,?,?,?,?)", cost_rows)
        db.executemany(f"INSERT INTO {ct} (budget_line_id, erp_key, date, amount, units, source, reference) VALUES (?,?,?,?,?,?,?)", tx_rows)
    write = time.perf_counter() - started
    db.close()
    return read, write


if __name__ == "__main__":
    main()

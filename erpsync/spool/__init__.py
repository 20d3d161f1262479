"""A scratch SQLite file that holds one refresh's pull, so memory stays flat however big the ERP.

The pull is written here as it arrives (a key given twice is refused, naming both places),
checked with a few SQL queries, and then applied to staging in one short transaction.
"""

import sqlite3
import tempfile
from decimal import Decimal
from pathlib import Path

from erpsync.connectors.base import ConnectorError

CHUNK = 2000

sqlite3.register_adapter(Decimal, str)  # amounts are kept as their exact text (Django's SQLite backend does the same)

TABLES = {
    "cost_types": 'CREATE TABLE cost_types (company TEXT, code TEXT, name TEXT, parent TEXT, "where" TEXT);',
    "jobs": """CREATE TABLE jobs (company TEXT, job TEXT, name TEXT, controlling TEXT, status TEXT, address TEXT, city TEXT,
        state TEXT, zip TEXT, start_date TEXT, end_date TEXT, raw TEXT, "where" TEXT);""",
    "codes": 'CREATE TABLE codes (company TEXT, job TEXT, code TEXT, name TEXT, parent TEXT, active INT, "where" TEXT);',
    "lines": """CREATE TABLE lines (company TEXT, job TEXT, phase TEXT, category TEXT, active INT, original_budget TEXT,
        approved_changes TEXT, budget_units TEXT, committed_cost TEXT, percent_complete TEXT, "where" TEXT);""",
}
SCHEMA = """
CREATE TEMP TABLE known_jobs (company TEXT, job TEXT, PRIMARY KEY (company, job));
CREATE TEMP TABLE known_codes (company TEXT, job TEXT, code TEXT, PRIMARY KEY (company, job, code));
CREATE TEMP TABLE job_ids (company TEXT, job TEXT, id INT, PRIMARY KEY (company, job));
"""
# What staging knows (the TEMP tables above) stays out of the spool file, which another process may be reading.

WHAT = {"cost_types": "category", "jobs": "job", "codes": "cost code", "lines": "cost code × category"}
KEYS = {"cost_types": ("company", "code"), "jobs": ("company", "job"), "codes": ("company", "job", "code"),
        "lines": ("company", "job", "phase", "category")}


class Spool:
    """A scratch file in a folder of its own, removed on close; or, given a path, that file, kept.

    Another process pulling one resource writes a file with only that resource's table (`tables`),
    which the refresh then attaches in place of its own (adopt).
    """

    def __init__(self, path: Path | None = None, *, read_only: bool = False, attached: dict[str, str] | None = None,
                 tables: tuple[str, ...] = tuple(TABLES)):
        self.folder = None if path else tempfile.TemporaryDirectory(prefix="erpsync-refresh-")
        self.path = path or Path(self.folder.name) / "pull.sqlite3"
        if read_only:  # another process's spool, with the files it attached
            self.db = sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
            for name, file in (attached or {}).items():
                self.db.execute("ATTACH DATABASE ? AS ?", (f"{Path(file).as_uri()}?mode=ro", name))
        else:
            self.db = sqlite3.connect(self.path)
            self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + "".join(TABLES[t] for t in tables) + SCHEMA)
        self.attached = dict(attached or {})

    def close(self) -> None:
        self.db.close()
        if self.folder is not None:
            self.folder.cleanup()

    def scratch_path(self, name: str) -> Path:
        """A file next to the spool, removed with it (where another process can pull a resource)."""
        return self.path.with_name(name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, table: str, batches) -> int:
        """Write batches of rows (lists of tuples, `where` last), then refuse a key given twice, naming both places.

        Rows are appended unindexed as they arrive; the key index is built once at the end,
        which is several times faster than keeping it up to date row by row.
        """
        count = 0
        insert = f"INSERT INTO {table} VALUES ({', '.join('?' * len(self.columns(table)))})"
        with self.db:
            for batch in batches:
                self.db.executemany(insert, batch)
                count += len(batch)
        self._index(table)
        return count

    def hand_over(self, table: str) -> None:
        """Another process pulls `table` into a file of its own: this spool's (empty) one goes."""
        self.db.execute(f"DROP TABLE main.{table}")

    @staticmethod
    def attachment(table: str) -> str:
        """The name under which a table pulled by another process is attached."""
        return f"pulled_{table}"

    def adopt(self, table: str, path: Path) -> int:
        """Use `table` as another process pulled and indexed it into a spool file of its own (see add).

        The file is attached in place of this spool's own table (see hand_over): nothing is copied.
        """
        self.db.execute("ATTACH DATABASE ? AS ?", (str(path), self.attachment(table)))
        self.attached[self.attachment(table)] = str(path)
        return self.count(table)

    def check_lines(self, *, known_codes: bool = True) -> None:
        """Refuse a job category whose category the company lacks, or whose phase is not one of
        its job's pulled phases (nor, with `known_codes`, of those staging has: see add_known)."""
        unknown = self.first("""SELECT category, "where" FROM lines l
            WHERE NOT EXISTS (SELECT 1 FROM cost_types t WHERE t.company = l.company AND t.code = l.category) LIMIT 1""")
        if unknown:
            raise ConnectorError(f"{unknown[1]}: category {unknown[0]} is not one of the company's categories.")
        staged = """AND NOT EXISTS (SELECT 1 FROM known_codes k WHERE k.company = l.company AND k.job = l.job
            AND k.code = l.phase)""" if known_codes else ""
        stray = self.first(f"""SELECT phase, job, "where" FROM lines l
            WHERE NOT EXISTS (SELECT 1 FROM codes c WHERE c.company = l.company AND c.job = l.job AND c.code = l.phase)
            {staged} LIMIT 1""")
        if stray:
            raise ConnectorError(f"{stray[2]}: cost code {stray[0]} is not a cost code of job {stray[1]}.")

    def structures(self):
        """(company, job, phases, job categories) of every job with rows in the pull, as JSON text.

        SQLite builds each job's documents (see StagedJobStructure) from the key indexes, so in
        key order, and only one job's documents are in memory at once.
        """
        codes = self.rows("""SELECT company, job, json_group_array(json_array(code, name, parent, json(IIF(active, 'true', 'false'))))
            FROM codes GROUP BY company, job ORDER BY company, job""")
        lines = self.rows("""SELECT company, job, json_group_array(json_array(phase, category, json(IIF(active, 'true', 'false')),
            original_budget, approved_changes, budget_units, committed_cost, percent_complete))
            FROM lines GROUP BY company, job ORDER BY company, job""")
        code_row, line_row = next(codes, None), next(lines, None)
        while code_row is not None or line_row is not None:
            key = min(row[:2] for row in (code_row, line_row) if row is not None)
            job_codes = job_lines = "[]"
            if code_row is not None and code_row[:2] == key:
                job_codes, code_row = code_row[2], next(codes, None)
            if line_row is not None and line_row[:2] == key:
                job_lines, line_row = line_row[2], next(lines, None)
            yield key[0], key[1], job_codes, job_lines

    def _index(self, table: str) -> None:
        keys = ", ".join(KEYS[table])
        try:
            with self.db:
                self.db.execute(f"CREATE UNIQUE INDEX {table}_key ON {table} ({keys})")
        except sqlite3.IntegrityError:
            self._duplicate(table)
            raise

    def add_known(self, table: str, rows) -> None:
        """Keys already in staging, for the cross-resource checks of an incremental pull."""
        width = len(self.columns(table))
        with self.db:
            self.db.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({', '.join('?' * width)})", rows)

    def _duplicate(self, table: str):
        """Raise for the first row (in pull order) whose key an earlier row already gave."""
        keys = KEYS[table]
        self.db.execute(f"CREATE INDEX {table}_dup ON {table} ({', '.join(keys)})")
        second, first = self.db.execute(f"""SELECT a.rowid, (SELECT MIN(b.rowid) FROM {table} b
            WHERE {' AND '.join(f'b.{k} = a.{k}' for k in keys)}) AS first
            FROM {table} a WHERE first < a.rowid ORDER BY a.rowid LIMIT 1""").fetchone()
        first_where = self.db.execute(f'SELECT "where" FROM {table} WHERE rowid = ?', (first,)).fetchone()[0]
        row = self.db.execute(f"SELECT {', '.join(keys)}, \"where\" FROM {table} WHERE rowid = ?", (second,)).fetchone()
        key = row[:-1]
        described = {
            "codes": lambda: f"the cost code {key[2]} of job {key[1]}",
            "lines": lambda: f"cost code {key[2]} × category {key[3]} of job {key[1]}",
        }.get(table, lambda: f"the {WHAT[table]} {' / '.join(key)}")()
        raise ConnectorError(f"{row[-1]} repeats {described} already given at {first_where}.")

    def columns(self, table: str) -> list[str]:
        return [r[1] for r in self.db.execute(f"PRAGMA table_info({table})")]

    def first(self, sql: str, params=()):
        return self.db.execute(sql, params).fetchone()

    def rows(self, sql: str, params=()):
        """The rows of a query, fetched a chunk at a time (a cursor: iterating it costs no Python per row)."""
        cursor = self.db.execute(sql, params)
        cursor.arraysize = CHUNK
        return cursor

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


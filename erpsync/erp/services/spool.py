"""A scratch SQLite file that holds one refresh's pull, so memory stays flat however big the ERP.

The pull is written here as it arrives (duplicates caught by primary keys, naming both places),
checked with a few SQL queries, and then applied to staging in one short transaction.
"""

import json
import sqlite3
import tempfile
from pathlib import Path

from erpsync.connectors.base import ConnectorError

CHUNK = 2000

SCHEMA = """
CREATE TABLE cost_types (company TEXT, code TEXT, name TEXT, parent TEXT, "where" TEXT, PRIMARY KEY (company, code));
CREATE TABLE jobs (company TEXT, job TEXT, controlling TEXT, name TEXT, status TEXT, address TEXT, city TEXT, state TEXT,
    zip TEXT, start_date TEXT, end_date TEXT, raw TEXT, "where" TEXT, PRIMARY KEY (company, job));
CREATE TABLE codes (company TEXT, job TEXT, code TEXT, name TEXT, parent TEXT, active INT, "where" TEXT,
    PRIMARY KEY (company, job, code));
CREATE TABLE lines (company TEXT, job TEXT, phase TEXT, category TEXT, active INT, original_budget TEXT, approved_changes TEXT,
    budget_units TEXT, committed_cost TEXT, percent_complete TEXT, "where" TEXT, PRIMARY KEY (company, job, phase, category));
CREATE TABLE known_jobs (company TEXT, job TEXT, PRIMARY KEY (company, job));
CREATE TABLE known_codes (company TEXT, job TEXT, code TEXT, PRIMARY KEY (company, job, code));
"""

WHAT = {"cost_types": "category", "jobs": "job", "codes": "cost code", "lines": "cost code × category"}
KEYS = {"cost_types": 2, "jobs": 2, "codes": 3, "lines": 4}


class Spool:
    def __init__(self):
        self.folder = tempfile.TemporaryDirectory(prefix="erpsync-refresh-")
        self.db = sqlite3.connect(Path(self.folder.name) / "pull.sqlite3")
        self.db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)

    def close(self) -> None:
        self.db.close()
        self.folder.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def add(self, table: str, rows) -> int:
        """Write rows (tuples, `where` last), refusing a key given twice."""
        count = 0
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                count += self._write(table, chunk)
                chunk = []
        if chunk:
            count += self._write(table, chunk)
        return count

    def add_known(self, table: str, rows) -> None:
        """Keys already in staging, for the cross-resource checks of an incremental pull."""
        width = len(self.columns(table))
        with self.db:
            self.db.executemany(f"INSERT OR IGNORE INTO {table} VALUES ({', '.join('?' * width)})", rows)

    def _write(self, table: str, chunk: list[tuple]) -> int:
        width = len(chunk[0])
        keys = KEYS[table]
        seen = {}
        for row in chunk:
            key = row[:keys]
            if key in seen:
                self._duplicate(table, row, seen[key])
            seen[key] = row[-1]
        try:
            with self.db:
                self.db.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * width)})", chunk)
        except sqlite3.IntegrityError:
            columns = self.columns(table)[:keys]
            for row in chunk:
                found = self.db.execute(
                    f"SELECT \"where\" FROM {table} WHERE {' AND '.join(f'{c} = ?' for c in columns)}", row[:keys]
                ).fetchone()
                if found:
                    self._duplicate(table, row, found[0])
            raise
        return len(chunk)

    def _duplicate(self, table: str, row: tuple, first_where: str):
        key = row[:KEYS[table]]
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
        cursor = self.db.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK):
            yield from batch

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def dumps(value) -> str:
    return json.dumps(value, default=str)

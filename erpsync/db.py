"""Scratch tables on Django's own connection, each declared once as a typed row.

A row type (a NamedTuple) declares a table: its fields are the columns, in order, and their
annotations the column types. The DDL and the load both come from it, so nothing reads a
column by position. PostgreSQL loads with COPY, SQLite with executemany. Tables are TEMP: they
belong to this connection, vanish with it, and are dropped explicitly when the work is done.

The few SQL spellings that differ between the two databases (JSON documents) live here too.
"""

import types
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import NamedTuple, NewType, Union, get_args, get_origin, get_type_hints

from django.db import connection, transaction

Json = NewType("Json", str)  # JSON text: jsonb on PostgreSQL, text on SQLite

# Python type → (PostgreSQL, SQLite) column type. Amounts stay text on both, so the exact digits
# the ERP sent reach staging unchanged; SQLite's "bool" and "date" map to Django's converters.
_COLUMN_TYPES = {
    str: ("text", "text"),
    Json: ("jsonb", "text"),
    Decimal: ("text", "text"),
    bool: ("boolean", "bool"),
    date: ("date", "date"),
    int: ("bigint", "integer"),
}
SEQ = "seq"  # every scratch table numbers its rows in the order they were loaded


def _column_type(annotation) -> str:
    if get_origin(annotation) in (Union, types.UnionType):  # `date | None`: the column is nullable anyway
        (annotation,) = [a for a in get_args(annotation) if a is not type(None)]
    postgresql, sqlite = _COLUMN_TYPES[annotation]
    return postgresql if connection.vendor == "postgresql" else sqlite


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


class ScratchTable:
    """A TEMP table for rows of one NamedTuple type, plus the load order in `seq`."""

    def __init__(self, row: type[NamedTuple], name: str):
        self.row, self.name = row, name
        self.columns = row._fields
        self.loaded = 0

    def create(self) -> None:
        hints = get_type_hints(self.row)
        quote = connection.ops.quote_name
        columns = ", ".join(f"{quote(c)} {_column_type(hints[c])}" for c in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")
            cursor.execute(f"CREATE TEMP TABLE {self.name} ({columns}, {SEQ} bigint)")
        self.loaded = 0

    def drop(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.name}")

    def load(self, rows: list[tuple]) -> None:
        """Append rows (in one short transaction: SQLite commits each statement otherwise)."""
        first = self.loaded
        self.loaded += len(rows)
        names = ", ".join(connection.ops.quote_name(c) for c in (*self.columns, SEQ))
        with transaction.atomic(), connection.cursor() as cursor:
            if is_postgresql():
                with cursor.copy(f"COPY {self.name} ({names}) FROM STDIN") as copy:
                    for n, row in enumerate(rows, first):
                        copy.write_row((*row, n))
            else:
                marks = ", ".join(["%s"] * (len(self.columns) + 1))
                cursor.executemany(f"INSERT INTO {self.name} ({names}) VALUES ({marks})",
                                   [(*row, n) for n, row in enumerate(rows, first)])

    def index(self, *columns: str) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {self.name}_{'_'.join(columns)} ON {self.name} ({', '.join(columns)})")
            if is_postgresql():
                cursor.execute(f"ANALYZE {self.name}")  # autovacuum never sees TEMP tables


@contextmanager
def scratch_tables(*tables: ScratchTable):
    """Create the tables, and drop them however the work ends."""
    try:
        for table in tables:
            table.create()
        yield tables
    finally:
        if not connection.needs_rollback:  # inside a failed transaction nothing more can run; the tables go with the session
            for table in tables:
                table.drop()


def rows(sql: str, params=()) -> list[tuple]:
    """The rows a statement gives (a SELECT, or a write with RETURNING)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def execute(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# --- JSON documents -----------------------------------------------------------------------


def json_array(*expressions: str) -> str:
    return f"{'jsonb_build_array' if is_postgresql() else 'json_array'}({', '.join(expressions)})"


def json_bool(column: str) -> str:
    """A boolean column as a JSON true/false (SQLite keeps booleans as 0 and 1)."""
    return column if is_postgresql() else f"json(IIF({column}, 'true', 'false'))"


def json_agg(expression: str, order_by: str) -> str:
    """An aggregate JSON array in `order_by` order.

    SQLite (before 3.44) has no ORDER BY inside aggregates: callers aggregate over a subquery
    sorted the same way, whose order SQLite's grouping keeps.
    """
    return f"jsonb_agg({expression} ORDER BY {order_by})" if is_postgresql() else f"json_group_array({expression})"

"""Writing many rows at once, for imports of posted job-cost detail.

The ORM's bulk_create spends tens of microseconds per object building instances and SQL; an
import writes hundreds of thousands of transactions, so those go through executemany with
values that both database drivers adapt themselves (Decimal, date, int, str).
"""

import gc
from collections.abc import Iterable
from contextlib import contextmanager
from itertools import batched

from django.db import connection


def bulk_insert(model, fields: list[str], rows: Iterable[tuple], *, batch_size: int = 20_000,
                update_conflicts: list[str] = ()) -> int:
    """Insert rows of values for `fields`; with `update_conflicts` (the unique fields), a row whose
    key exists updates the other fields instead (both SQLite and PostgreSQL speak ON CONFLICT)."""
    quote = connection.ops.quote_name

    def column(name):
        return quote(model._meta.get_field(name).column)

    columns = ", ".join(column(f) for f in fields)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    if update_conflicts:
        updates = ", ".join(f"{column(f)} = EXCLUDED.{column(f)}" for f in fields if f not in update_conflicts)
        sql += f" ON CONFLICT ({', '.join(column(f) for f in update_conflicts)}) DO UPDATE SET {updates}"
    written = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows, batch_size):
            cursor.executemany(sql, chunk)
            written += len(chunk)
    return written


@contextmanager
def gc_paused():
    """Pause the cyclic garbage collector while a bulk step builds many short-lived objects.

    Records and rows hold no reference cycles, yet every few hundred allocations the collector
    walks them all; an import of 200,000 posted costs spends a third of its time there.
    Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()

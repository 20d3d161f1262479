"""CMiC collection pages → staging rows, fast for the usual page and careful for any other.

A refresh reads hundreds of thousands of phases and job categories. For those, msgspec decodes
a page straight into typed structs, reading only the attributes the connection maps, and a
short loop turns them into staging rows (see `connectors.base`). Anything unusual in a page (a
number where text belongs, an empty required value, a flag other than Y/N/empty, an amount
written with commas or left empty, a body that is not JSON) sends the whole page the careful
way instead: decoded with the standard library and read item by item through the mapper,
which either gives the same rows or explains what is wrong and where. Both ways give
identical rows for the same page; the conformance tests hold them to that.
"""

import json
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

import msgspec
from msgspec.structs import astuple

from erpsync.connectors.base import (
    ZERO,
    ConnectorError,
    budget_line_row,
    cost_code_row,
    cost_type_row,
    job_row,
)
from erpsync.connectors.cmic.mapping import TOP_LEVEL, CmicMapper, date_of

_FLAGS = {"": True, "Y": True, "N": False}  # what the fast loop accepts; the mapper explains anything else

_TEXT = str | None
_AMOUNT = Decimal | None

# record field → type, for the entities with a typed fast path (in the order the fast loops unpack them)
_FIELDS = {
    "jobs": {"company_code": _TEXT, "job_code": _TEXT, "name": _TEXT, "controlling_code": _TEXT, "status": _TEXT,
             "address": _TEXT, "city": _TEXT, "state": _TEXT, "zip": _TEXT, "start_date": _TEXT, "end_date": _TEXT,
             "updated_at": _TEXT},
    "cost_codes": {"company_code": _TEXT, "job_code": _TEXT, "code": _TEXT, "name": _TEXT, "parent_code": _TEXT,
                   "active": _TEXT},
    "budget_lines": {"company_code": _TEXT, "job_code": _TEXT, "phase_code": _TEXT, "category_code": _TEXT,
                     "active": _TEXT, "original_budget": _AMOUNT, "approved_changes": _AMOUNT, "budget_units": _AMOUNT,
                     "committed_cost": _AMOUNT, "percent_complete": _AMOUNT},
}


def envelope_items(body: bytes, name: str, offset: int) -> tuple[list, bool]:
    """The items and hasMore of a page, read with the standard library (amounts as exact Decimals)."""
    try:
        page = json.loads(body, parse_float=Decimal)
    except ValueError:
        shown = body[:60].decode("utf-8", errors="replace")
        raise ConnectorError(f"CMiC answered {name} at offset {offset} with something that is not JSON "
                             f"({shown!r}…); nothing was changed.", permanent=False) from None
    items = page.get("items") if isinstance(page, dict) else None
    if not isinstance(items, list) or not isinstance(page.get("hasMore", False), bool):
        raise ConnectorError(f"CMiC answered {name} at offset {offset} without a list of items; nothing was changed.",
                             permanent=False)
    return items, page.get("hasMore", False)


def checked_items(items: list, name: str, offset: int):
    """(where, item) for each item of a page, refusing anything that is not an object."""
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConnectorError(f"{name} offset {offset} item {index + 1} is not an object.")
        yield f"{name} offset {offset} item {index + 1}", item


class PageDecoder:
    """Decodes one resource's pages into staging rows: `decoder(body, offset)` → (rows, hasMore)."""

    def __init__(self, mapper: CmicMapper, entity: str, name: str):
        self.mapper, self.entity, self.name = mapper, entity, name
        self._careful_row: Callable | None = {
            "cost_codes": lambda item, where: cost_code_row(mapper.cost_code(item, where)),
            "budget_lines": lambda item, where: budget_line_row(mapper.budget_line(item, where)),
            "cost_types": lambda item, where: cost_type_row(mapper.cost_type(item, where)),
        }.get(entity)  # jobs: see _jobs
        self._typed = self._fast = None
        if entity in _FIELDS:
            attributes = mapper.attrs[entity]
            fields = [(f, kind, None) for f, kind in _FIELDS[entity].items()]
            try:
                item = msgspec.defstruct(f"{entity}_item", fields, rename={f: attributes[f] for f, _, _ in fields}, gc=False)
            except (TypeError, ValueError):
                item = None  # e.g. two fields mapped to one attribute: the careful way reads such a mapping
            if item is not None:
                page = msgspec.defstruct(f"{entity}_page", [("items", list[item]), ("hasMore", bool, False)])
                self._typed = msgspec.json.Decoder(page)
                self._fast = {"jobs": self._jobs_fast, "cost_codes": self._cost_codes, "budget_lines": self._budget_lines}[entity]
        if entity == "jobs":
            raw_page = msgspec.defstruct("jobs_raw_page", [("items", list[msgspec.Raw])])
            self._raw = msgspec.json.Decoder(raw_page)

    def __call__(self, body: bytes, offset: int) -> tuple[list[tuple], bool]:
        prefix = f"{self.name} offset {offset} item "
        if self._typed is not None:
            try:
                page = self._typed.decode(body)
            except msgspec.MsgspecError:
                pass  # not JSON, or not what the fast loop reads: the careful way says which
            else:
                rows = self._fast(page.items, prefix, body)
                if rows is not None:
                    return rows, page.hasMore
        items, has_more = envelope_items(body, self.name, offset)
        if self.entity == "jobs":
            return self._jobs(body, items, offset), has_more
        return [self._careful_row(item, where) for where, item in checked_items(items, self.name, offset)], has_more

    def _jobs(self, body: bytes, items: list, offset: int) -> list[tuple]:
        """Jobs keep each item as CMiC sent it: its JSON text, numbers as written."""
        try:
            texts = [bytes(text).decode() for text in self._raw.decode(body).items]
        except msgspec.MsgspecError:  # JSON only the standard library reads: keep the item as decoded
            texts = [None] * len(items)
        return [job_row(self.mapper.job(item, where), text)
                for (where, item), text in zip(checked_items(items, self.name, offset), texts, strict=True)]

    # --- the fast loops: None means "read this page the careful way" ------------------------

    def _jobs_fast(self, items, prefix: str, body: bytes) -> list[tuple] | None:
        texts = self._raw.decode(body).items
        rows = []
        append = rows.append
        for index, (item, text) in enumerate(zip(items, texts, strict=True), 1):
            values = [value.strip() if value is not None else "" for value in astuple(item)]
            company, job, name, controlling, status, address, city, state, zip_code, start, end, updated = values
            if not (company and job):
                return None
            try:
                start = date_of(start).isoformat() if start else None
                end = date_of(end).isoformat() if end else None
                if updated:
                    datetime.fromisoformat(updated)
            except ValueError:
                return None
            append((company, job, name, "" if controlling.upper() == TOP_LEVEL else controlling, status, address, city, state,
                    zip_code, start, end, bytes(text).decode(), f"{prefix}{index}"))
        return rows

    @staticmethod
    def _cost_codes(items, prefix: str, body: bytes) -> list[tuple] | None:
        rows = []
        append = rows.append
        for index, item in enumerate(items, 1):
            company, job, code, name, parent, active = astuple(item)
            if company is None or job is None or code is None or name is None:
                return None
            company, job, code, name = company.strip(), job.strip(), code.strip(), name.strip()
            parent = parent.strip() if parent is not None else ""
            flag = _FLAGS.get(active.strip() if active is not None else "")
            if not (company and job and code and name) or flag is None:
                return None
            append((company, job, code, name, "" if parent.upper() == TOP_LEVEL else parent, flag, f"{prefix}{index}"))
        return rows

    @staticmethod
    def _budget_lines(items, prefix: str, body: bytes) -> list[tuple] | None:
        rows = []
        append = rows.append
        for index, item in enumerate(items, 1):
            company, job, phase, category, active, budget, changes, units, committed, percent = astuple(item)
            if company is None or job is None or phase is None or category is None:
                return None
            company, job, phase, category = company.strip(), job.strip(), phase.strip(), category.strip()
            flag = _FLAGS.get(active.strip() if active is not None else "")
            if not (company and job and phase and category) or flag is None:
                return None
            budget = ZERO if budget is None else budget
            changes = ZERO if changes is None else changes
            units = ZERO if units is None else units
            committed = ZERO if committed is None else committed
            percent = ZERO if percent is None else percent
            if not (budget.is_finite() and changes.is_finite() and units.is_finite() and committed.is_finite()
                    and percent.is_finite()):
                return None
            append((company, job, phase, category, flag, budget, changes, units, committed, percent, f"{prefix}{index}"))
        return rows

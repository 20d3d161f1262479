"""Reads a folder of CMiC export files: one file per resource, CSV or JSON.

A file is named after its CMiC resource (`jcjob.csv` or `jcjob.json`, …). CSV files have
CMiC's attribute names as column headers; JSON files hold the ADF collection envelope
(`{"items": [...]}`) or a bare list of items. Amounts are read as exact decimals.

Files are read in the connection's encoding: UTF-8, with or without a byte-order mark, unless
the connection names another. A byte the encoding does not allow is refused, naming the file
and the row; nothing is guessed.
"""

import codecs
import csv
import io
from collections.abc import Iterator, Mapping
from pathlib import Path

from erpsync.connectors.base import CheckResult, ConnectorError
from erpsync.connectors.cmic.mapping import RESOURCES, CmicMapper
from erpsync.connectors.cmic.pages import json_loads

OPTIONAL_ENTITIES = {"cost_transactions"}  # a company may have posted nothing yet

def _text(value) -> str:
    return value.strip() if type(value) is str else str(value or "").strip()


class CmicExportSource:
    kind = "cmic_files"
    supports_since = False

    def __init__(self, *, folder: str, encoding: str = "", attributes: Mapping | None = None,
                 company_codes: list[str] | None = None, confined_to: str = "", **_ignored):
        self.folder = Path(folder)
        # Files are read only where their real path lies inside this folder (the company's export folder):
        # a file that is a link leading out is refused like a folder outside.
        self.confined_to = Path(confined_to).resolve() if confined_to else None
        # How messages name the folder: from the company's folder on, never the server's own path.
        self.shown = (f"{self.confined_to.name}/{self.folder.resolve().relative_to(self.confined_to)}".removesuffix("/.")
                      if self.confined_to and self.folder.resolve().is_relative_to(self.confined_to) else str(self.folder))
        # A folder may hold several companies' rows: only these are read (None, for folders set up before: all).
        self.company_codes = set(company_codes) if company_codes else None
        self.encoding = encoding_of(encoding)
        self.mapper = CmicMapper(attributes)

    # --- the Source protocol -------------------------------------------------------------

    def check(self) -> list[CheckResult]:
        if not self.folder.is_dir():
            return [CheckResult("export folder", False, f"The folder {self.shown} does not exist.")]
        results = []
        for entity, resource in RESOURCES.items():
            try:
                path = self._path(entity)
                if path is None:
                    results.append(CheckResult(resource.name, True, "No file; nothing posted yet."))
                    continue
                count = sum(1 for _ in self._items(entity, path))
                results.append(CheckResult(resource.name, True, f"{path.name}: {count} rows."))
            except ConnectorError as exc:
                results.append(CheckResult(resource.name, False, exc.message))
        return results

    def jobs(self, *, since=None):
        yield from self._records("jobs", self.mapper.job)

    def cost_codes(self, *, since=None, job_codes=None):
        yield from self._records("cost_codes", self.mapper.cost_code, job_codes)

    def cost_types(self):
        yield from self._records("cost_types", self.mapper.cost_type)

    def budget_lines(self, *, since=None, job_codes=None):
        yield from self._records("budget_lines", self.mapper.budget_line, job_codes)

    def cost_transactions(self, *, since=None, job_codes=None):
        yield from self._records("cost_transactions", self.mapper.cost_transaction, job_codes)

    # --- reading files -------------------------------------------------------------------

    def _records(self, entity: str, make, job_codes: set[str] | None = None):
        path = self._path(entity)
        if path is None:
            return
        wanted = [(self.mapper.attrs[entity][field], values) for field, values in (("company_code", self.company_codes),
                                                                                     ("job_code", job_codes)) if values is not None]
        for where, item in self._items(entity, path):
            if all(_text(item.get(attribute)) in values for attribute, values in wanted):
                yield make(item, where)

    def _path(self, entity: str) -> Path | None:
        if not self.folder.is_dir():
            raise ConnectorError(f"The export folder {self.shown} does not exist.")
        name = RESOURCES[entity].name
        found = [p for p in (self.folder / f"{name}.csv", self.folder / f"{name}.json") if p.is_symlink() or p.exists()]
        for path in found:
            if self.confined_to and not path.resolve().is_relative_to(self.confined_to):
                raise ConnectorError(f"{path.name} is a link that leads outside this company's export folder; "
                                     "put the file itself in the folder.")
        if len(found) == 2:
            raise ConnectorError(f"The export folder has both {name}.csv and {name}.json; keep one.")
        if not found:
            if entity in OPTIONAL_ENTITIES:
                return None
            raise ConnectorError(f"The export folder {self.shown} has no {name}.csv or {name}.json.")
        return found[0]

    def _text(self, path: Path) -> str:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConnectorError(f"{path.name} cannot be read: {exc.strerror}.", permanent=False) from None
        if not data.strip():
            raise ConnectorError(f"{path.name} is empty.")
        try:
            return data.decode(self.encoding).removeprefix("\ufeff")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            place = "line" if path.suffix == ".json" else "row"
            raise ConnectorError(
                f"{path.name} {place} {line}: the byte {data[exc.start:exc.start + 1].hex(' ').upper()} is not "
                f"valid {self.encoding_label}. Export the file as UTF-8, or set the connection's encoding to the "
                "one the export uses."
            ) from None

    @property
    def encoding_label(self) -> str:
        return "UTF-8" if self.encoding == DEFAULT_ENCODING else self.encoding

    def _items(self, entity: str, path: Path) -> Iterator[tuple[str, Mapping]]:
        text = self._text(path)
        if path.suffix == ".json":
            yield from self._json_items(entity, path, text)
        else:
            yield from self._csv_items(entity, path, text)

    def _check_columns(self, entity: str, path: Path, columns: list[str]) -> None:
        twice = sorted({c for c in columns if c and columns.count(c) > 1})
        if twice:
            raise ConnectorError(f"{path.name} has the column(s) {', '.join(twice)} more than once; keep one of each.")
        missing = [a for a in self.mapper.required_attributes(entity) if a not in columns]
        if missing:
            raise ConnectorError(f"{path.name} is missing the column(s) {', '.join(missing)}.")

    def _csv_items(self, entity: str, path: Path, text: str):
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        name = path.name
        try:
            header = [h.strip() for h in next(reader)]
            self._check_columns(entity, path, header)
            width = len(header)
            for row in reader:
                if len(row) != width:
                    if not "".join(row).strip():
                        continue
                    raise ConnectorError(
                        f"{name} row {reader.line_num} has {len(row)} fields but the header has "
                        f"{width}; is the file cut short or a comma unquoted?"
                    )
                yield f"{name} row {reader.line_num}", dict(zip(header, row))
        except csv.Error as exc:
            raise ConnectorError(f"{path.name} row {reader.line_num}: {exc}.") from None

    def _json_items(self, entity: str, path: Path, text: str):
        try:
            body = json_loads(text)
        except ValueError as exc:
            raise ConnectorError(f"{path.name} is not valid JSON ({exc}); is the file cut short?") from None
        items = body.get("items") if isinstance(body, dict) else body
        if not isinstance(items, list):
            raise ConnectorError(f"{path.name} has no list of items (expected {{\"items\": [...]}}).")
        for index, item in enumerate(items):
            where = f"{path.name} item {index + 1}"
            if not isinstance(item, dict):
                raise ConnectorError(f"{where} is not an object.")
            yield where, item


DEFAULT_ENCODING = "utf-8-sig"  # UTF-8, with or without a byte-order mark


def encoding_of(name: str) -> str:
    """The codec for a connection's encoding setting (empty: UTF-8); an unknown name is refused."""
    if not name or not name.strip():
        return DEFAULT_ENCODING
    try:
        codec = codecs.lookup(name.strip())
        "erpsync".encode(codec.name).decode(codec.name)  # a text encoding (not rot13, hex, zip, …) that can read text
    except (LookupError, UnicodeError, ValueError):
        raise ConnectorError(f"The encoding {name.strip()!r} is not a text encoding erpsync knows; use a name such as utf-8, "
                             "cp1252 or latin-1.") from None
    return DEFAULT_ENCODING if codec.name in ("utf-8", "utf-8-sig") else codec.name

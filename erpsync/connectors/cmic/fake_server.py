"""A fake CMiC REST server on 127.0.0.1 for tests and benchmarks.

It serves a dataset (by default the demo export) in CMiC's collection envelope and content type,
with `limit`/`offset`/`hasMore`, `q` (conditions joined by `;`, operators = > >= <), `fields`,
`orderBy`, `describe`, HTTP 400 above 1,000 rows, Basic and Bearer checks, an OAuth token
endpoint, and switches for faults, and a latency added to every answer. Every request is counted per resource.
"""

import base64
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from erpsync.connectors.cmic.mapping import RESOURCES
from erpsync.connectors.local_server import LocalHttpServer
from erpsync.connectors.files.source import CmicExportSource

ENVIRONMENT = "cmictest"
CONTENT_TYPE = "application/vnd.oracle.adf.resourcecollection+json"
_CONDITION = re.compile(r"^(\w+)\s*(>=|<=|=|>|<)\s*'((?:[^']|'')*)'$")
DEFAULT_AUDIT = "2025-01-01T00:00:00+00:00"


@dataclass
class Faults:
    """What the next requests should suffer. Counts go down as faults are served."""

    status_on_page: dict = field(default_factory=dict)  # (resource, offset) → [status, times]
    rate_limited: list = field(default_factory=lambda: [0, 1])  # [times, retry_after seconds]
    delay_seconds: float = 0.0
    delay_times: int = 0
    garbage_on_page: dict = field(default_factory=dict)  # (resource, offset) → "truncated" | "html" | "empty"
    revoke_tokens: bool = False
    forbidden: set = field(default_factory=set)  # resources the service user may not read


class FakeCmic(LocalHttpServer):
    def __init__(self, export: Path | None = None, *, user: str = "ACME||APIUSER", password: str = "s3cret",
                 oauth_client: tuple[str, str] = ("erpsync", "client-secret"), data: dict | None = None,
                 latency: float = 0.0):
        self.user, self.password, self.oauth_client = user, password, oauth_client
        self.latency = latency  # seconds added to every answer, as a network and a busy CMiC would
        self.items: dict[str, list[dict]] = data if data is not None else self._load(export)
        self.faults = Faults()
        self.requests = Counter()  # resource → requests
        self.rows_served = Counter()  # resource → items sent
        self.limits_asked: list[int] = []
        self.tokens: dict[str, float] = {}
        self._selections: dict[tuple, list[dict]] = {}  # (resource, q, orderBy) → rows, so paging is cheap
        self.lock = threading.Lock()
        self._serve(self._handler())

    # --- life ----------------------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/oauth2/token"

    def connection_settings(self, **overrides) -> dict:
        """Connection settings (secrets included) that reach this fake with Basic auth."""
        client_id, _, user_id = self.user.partition("||")
        return {"base_url": self.base_url, "environment": ENVIRONMENT, "auth": "basic", "client_id": client_id,
                "user_id": user_id, "password": self.password, "company_codes": ["DB01"], **overrides}

    # --- data ----------------------------------------------------------------------------

    @staticmethod
    def _load(export: Path | None) -> dict[str, list[dict]]:
        from django.conf import settings

        source = CmicExportSource(folder=str(export or settings.DEMO_EXPORT_DIR))
        data = {}
        for entity, resource in RESOURCES.items():
            path = source._path(entity)
            rows = [dict(item) for _, item in source._items(entity, path)] if path else []
            for index, row in enumerate(rows):
                prefix = resource.audit_attribute
                if prefix and not row.get(prefix):
                    row[prefix] = DEFAULT_AUDIT
                row[_uuid_attribute(resource.name)] = f"{resource.name}-{index:08d}"
            data[resource.name] = rows
        return data

    def touch(self, resource: str, predicate, **changes) -> int:
        """Change matching rows and stamp them as updated now (for incremental pulls)."""
        audit = next((r.audit_attribute for r in RESOURCES.values() if r.name == resource), "")
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        changed = 0
        with self.lock:
            for row in self.items[resource]:
                if predicate(row):
                    row.update(changes)
                    if audit:
                        row[audit] = now
                    changed += 1
            self._selections.clear()
        return changed

    def delete(self, resource: str, predicate) -> int:
        """Remove matching rows, as CMiC does without leaving an audit date behind."""
        with self.lock:
            before = len(self.items[resource])
            self.items[resource] = [row for row in self.items[resource] if not predicate(row)]
            self._selections.clear()
            return before - len(self.items[resource])

    def reset_counts(self) -> None:
        self.requests.clear()
        self.rows_served.clear()
        self.limits_asked.clear()

    # --- HTTP ----------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(length).decode())
                if urlsplit(self.path).path != "/oauth2/token":
                    return self._send(404, {"title": "Not Found"})
                client = (form.get("client_id", [""])[0], form.get("client_secret", [""])[0])
                if client != fake.oauth_client:
                    return self._send(401, {"error": "invalid_client"})
                token = secrets.token_urlsafe(16)
                fake.tokens[token] = time.time() + 3600
                return self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3600})

            def do_GET(self):
                url = urlsplit(self.path)
                if url.path == "/_fake/stats":  # for benchmarks running the fake in another process
                    return self._send(200, {"requests": dict(fake.requests), "rows_served": dict(fake.rows_served)})
                parts = url.path.strip("/").split("/")
                if len(parts) < 2 or parts[0] != ENVIRONMENT:
                    return self._send(404, {"title": "Not Found"})
                describe = parts[-1] == "describe"
                resource = parts[-2] if describe else parts[-1]
                expected = next((r.path for r in RESOURCES.values() if r.name == resource), None)
                if expected is None or "/".join(parts[1:len(parts) - (1 if describe else 0)]) != expected:
                    return self._send(404, {"title": "Not Found"})
                if not self._authorised():
                    return self._send(401, {"title": "Unauthorized"}, {"WWW-Authenticate": 'Basic realm="CMiC"'})
                with fake.lock:
                    fake.requests[resource] += 1
                if resource in fake.faults.forbidden:
                    return self._send(403, {"title": "Forbidden"})
                if describe:
                    return self._send(200, _describe(resource, fake.items.get(resource, [])))
                return self._collection(resource, parse_qs(url.query))

            def _authorised(self) -> bool:
                header = self.headers.get("Authorization", "")
                if header.startswith("Basic "):
                    user, _, password = base64.b64decode(header[6:]).decode().partition(":")
                    return (user, password) == (fake.user, fake.password)
                if header.startswith("Bearer "):
                    token = header[7:]
                    if fake.faults.revoke_tokens:
                        fake.faults.revoke_tokens = False
                        fake.tokens.clear()
                    return fake.tokens.get(token, 0) > time.time()
                return False

            def _collection(self, resource: str, params: dict):
                try:
                    limit = int(params.get("limit", ["25"])[0])
                    offset = int(params.get("offset", ["0"])[0])
                except ValueError:
                    return self._send(400, {"title": "Bad Request", "detail": "limit and offset must be numbers"})
                fake.limits_asked.append(limit)
                if limit > 1000:
                    return self._send(400, {"title": "Bad Request", "detail": "limit may not exceed 1000"})
                faults = fake.faults
                with fake.lock:
                    if faults.rate_limited[0] > 0:
                        faults.rate_limited[0] -= 1
                        return self._send(429, {"title": "Too Many Requests"}, {"Retry-After": str(faults.rate_limited[1])})
                    fault = faults.status_on_page.get((resource, offset))
                    if fault and fault[1] > 0:
                        fault[1] -= 1
                        return self._send(fault[0], {"title": "Server Error"})
                    garbage = faults.garbage_on_page.pop((resource, offset), None)
                    delay = faults.delay_seconds if faults.delay_times > 0 else 0
                    if delay:
                        faults.delay_times -= 1
                if delay:
                    time.sleep(delay)  # a slow CMiC, for client timeouts
                q, order = params.get("q", [""])[0], params.get("orderBy", [""])[0]
                rows = fake._selections.get((resource, q, order))
                if rows is None:
                    rows = fake.items.get(resource, [])
                    for condition in (q.split(";") if q else []):
                        match = _CONDITION.match(condition.strip())
                        if not match:
                            return self._send(400, {"title": "Bad Request", "detail": f"cannot parse q condition {condition!r}"})
                        rows = [r for r in rows if _compare(r.get(match[1]), match[2], match[3].replace("''", "'"))]
                    if order and order != "default":
                        for key in reversed(order.split(",")):
                            attr, _, direction = key.partition(":")
                            rows = sorted(rows, key=lambda r: str(r.get(attr, "")), reverse=direction == "desc")
                    fake._selections[(resource, q, order)] = rows
                page = rows[offset:offset + limit]
                fields = params.get("fields", [""])[0]
                if fields:
                    wanted = fields.split(",")
                    page = [{k: r.get(k) for k in wanted} for r in page]
                with fake.lock:
                    fake.rows_served[resource] += len(page)
                items = [{**r, "links": [{"rel": "self", "href": f"/{resource}/{r.get(_uuid_attribute(resource), '')}"}]} for r in page]
                body = {"items": items, "count": len(items), "hasMore": offset + len(items) < len(rows), "limit": limit,
                        "offset": offset, "links": []}
                if garbage == "empty":  # a page that promises more and brings nothing
                    return self._send(200, {**body, "items": [], "count": 0, "hasMore": True})
                if garbage == "truncated":
                    return self._send_raw(200, json.dumps(body, default=str)[:-50].encode(), CONTENT_TYPE)
                if garbage == "html":
                    return self._send_raw(200, b"<html><body>Service Unavailable</body></html>", "text/html")
                return self._send(200, body)

            def _send(self, status: int, body: dict, headers: dict | None = None):
                return self._send_raw(status, json.dumps(body, default=str).encode(), CONTENT_TYPE if status == 200 else "application/json", headers)

            def _send_raw(self, status: int, data: bytes, content_type: str, headers: dict | None = None):
                if fake.latency:
                    time.sleep(fake.latency)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("REST-Framework-Version", "2")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _uuid_attribute(resource: str) -> str:
    return {"jcjob": "JobVUuid", "jcjobcostcodes": "GjjpVUuid", "jcjobcategory": "JcatVUuid",
            "jcmastercategories": "CatVUuid", "jcdetailposted": "JcdtVUuid"}.get(resource, "VUuid")


def _compare(value, op: str, wanted: str) -> bool:
    value = "" if value is None else str(value)
    if op == "=":
        return value == wanted
    if "Date" in wanted or re.match(r"^\d{4}-\d\d-\d\d", wanted):
        value, wanted = _when(value), _when(wanted)
    return {">": value > wanted, ">=": value >= wanted, "<": value < wanted, "<=": value <= wanted}[op]


def _when(text: str):
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return datetime.min.replace(tzinfo=timezone.utc)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _describe(resource: str, rows: list[dict]) -> dict:
    names = sorted({k for r in rows[:50] for k in r}) or [a for r in RESOURCES.values() if r.name == resource for a in r.attributes.values()]
    return {"Resources": {resource: {"attributes": [{"name": n, "type": "string", "queryable": True} for n in names],
                                     "collection": {"finders": []}}}}



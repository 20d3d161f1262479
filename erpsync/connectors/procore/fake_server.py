"""A fake Procore on 127.0.0.1 for tests and benchmarks, with Procore's semantics.

Company header required, `origin_id` unique per company, sync actions answering
`{entities, errors}` with HTTP 200, at most 1,000 items a call, v1 paging with Link headers,
rate-limit headers with a configurable budget, 429/5xx injection, a token endpoint with
expiring tokens, and optional latency. Every request body it receives and every response body
it sends is validated against Procore's published schemas (`endpoint_schemas.json`) where the
operation is there, and against the documented shapes of the ERP endpoints that are not; each
violation is recorded in `violations`.
"""

import itertools
import json
import re
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema

from erpsync.connectors.local_server import LocalHttpServer

SCHEMA_FILE = Path(__file__).resolve().parents[3].parent / "shared" / "reference" / "procore" / "endpoint_schemas.json"

# The ERP endpoints are open to Procore's ERP partners only and absent from the public schemas;
# these are their documented shapes.
ERP_SCHEMAS = {
    "cost_code_line_item_types": {
        "type": "object", "required": ["updates"],
        "properties": {"updates": {"type": "array", "maxItems": 1000, "items": {
            "type": "object", "required": ["cost_code_id", "line_item_type_id"],
            "properties": {"cost_code_id": {"type": "integer"}, "line_item_type_id": {"type": "integer"}, "synced": {"type": "boolean"}}}}},
    },
    "erp_job_costs": {
        "type": "object", "required": ["company_id", "job_origin_id", "updates"],
        "properties": {"company_id": {"type": "integer"}, "job_origin_id": {"type": "string"},
                       "updates": {"type": "array", "maxItems": 1000, "items": {
                           "type": "object", "required": ["cost_code_id", "line_item_type_id"],
                           "properties": {"cost_code_id": {"type": "integer"}, "line_item_type_id": {"type": "integer"},
                                          **{k: {"type": "string"} for k in (
                                              "original_estimate", "approved_estimate_changes", "estimate", "committed_costs",
                                              "job_to_date_cost", "job_to_date_units", "month_to_date_cost", "percentage_complete")}}}}},
    },
    "sync_response": {"type": "object", "required": ["entities", "errors"],
                      "properties": {"entities": {"type": "array"}, "errors": {"type": "array"}}},
}

OPERATIONS = {
    ("GET", "/rest/v1.0/project_templates"): "RestV10ProjectTemplatesGet",
    ("GET", "/rest/v1.1/projects"): "RestV11ProjectsGet",
    ("POST", "/rest/v1.0/projects"): "RestV10ProjectsPost",
    ("GET", "/rest/v1.0/projects/{id}"): "RestV10ProjectsIdGet",
    ("PATCH", "/rest/v1.0/projects/{id}"): "RestV10ProjectsIdPatch",
    ("GET", "/rest/v1.0/cost_codes"): "RestV10CostCodesGet",
    ("PATCH", "/rest/v1.0/line_item_types/sync"): "RestV10LineItemTypesSyncPatch",
    ("PATCH", "/rest/v1.0/cost_codes/sync"): "RestV10CostCodesSyncPatch",
    ("PATCH", "/rest/v1.0/sub_jobs/sync"): "RestV10SubJobsSyncPatch",
    ("PATCH", "/rest/v1.0/cost_code_line_item_types/sync"): "cost_code_line_item_types",
    ("PATCH", "/rest/v1.0/erp_job_costs/sync"): "erp_job_costs",
}
PATH_ID = re.compile(r"/(\d+)(?=/|$)")
NAME_LIMIT = 100  # Procore's cost-code name limit in this fake, for per-item errors


@dataclass
class Faults:
    fail_next: Counter = field(default_factory=Counter)  # operation → 5xx answers to give
    storm: list = field(default_factory=lambda: [0, 1])  # [429 answers to give, Retry-After seconds]
    expire_tokens_after: int = 0  # requests after which every issued token stops working (0: never)
    latency: float = 0.0  # seconds added to every request (benchmarks)
    raw_answer: dict = field(default_factory=dict)  # operation → a body to send once instead of the real answer (HTTP 200)


def load_schemas() -> dict | None:
    if not SCHEMA_FILE.exists():
        return None
    return json.loads(SCHEMA_FILE.read_text())["operations"]


class FakeProcore(LocalHttpServer):
    def __init__(self, *, company_id: int = 5_550_001, client: tuple[str, str] = ("erpsync", "procore-secret"),
                 rate_limit: int = 3600, templates: int = 3):
        self.company_id, self.client = company_id, client
        self.schemas = load_schemas()
        self.faults = Faults()
        self.violations: list[str] = []
        self.requests = Counter()
        self.rate_limit, self.used = rate_limit, 0
        self.tokens: dict[str, float] = {}
        self.ids = itertools.count(10_000_001)
        self.templates = [{"id": next(self.ids), "name": f"Template {n + 1}"} for n in range(templates)]
        self.projects: dict[int, dict] = {}
        self.line_item_types: dict[str, dict] = {}  # origin_id → entity
        self.cost_codes: dict[int, dict[str, dict]] = {}  # project id → origin_id → entity
        self.sub_jobs: dict[int, dict[str, dict]] = {}  # project id → origin_id → entity
        self.assignments: dict[int, dict[tuple, dict]] = {}  # project id → (cost code, type) → entity
        self.job_costs: dict[str, dict[tuple, dict]] = {}  # job origin id → (cost code, type) → figures
        self.lock = threading.Lock()
        self._serve(self._handler())

    def connection_settings(self) -> dict:
        return {"environment": "custom", "base_url": self.base_url, "login_url": self.base_url,
                "company_id": self.company_id, "client_id": self.client[0], "client_secret": self.client[1]}

    # --- validation ----------------------------------------------------------------------

    def _check(self, operation: str, kind: str, body) -> None:
        if operation in ERP_SCHEMAS:
            schema = ERP_SCHEMAS[operation] if kind == "request" else ERP_SCHEMAS["sync_response"]
        elif self.schemas is None:
            return
        else:
            spec = self.schemas[operation]
            schema = (spec.get("requestBody") or {}).get("schema") if kind == "request" else (
                spec["responses"].get("200") or spec["responses"].get("201") or {}).get("schema")
        if not schema:
            return
        try:
            jsonschema.validate(body, schema)
        except jsonschema.ValidationError as exc:
            self.violations.append(f"{operation} {kind}: {exc.message} at {'/'.join(map(str, exc.absolute_path))}")

    # --- HTTP ----------------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._dispatch("GET")

            def do_POST(self):
                self._dispatch("POST")

            def do_PATCH(self):
                self._dispatch("PATCH")

            def _dispatch(self, method: str):
                url = urlsplit(self.path)
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if fake.faults.latency:
                    time.sleep(fake.faults.latency)  # a distant Procore, for the benchmark
                if url.path == "/oauth/token":
                    return self._token(parse_qs(raw.decode()))
                path_id = PATH_ID.search(url.path)
                if path_id:
                    params["id"] = path_id[1]
                operation = OPERATIONS.get((method, PATH_ID.sub("/{id}", url.path)))
                with fake.lock:
                    fake.requests[operation or url.path] += 1
                    fake.used += 1
                    used = fake.used
                    expire = fake.faults.expire_tokens_after
                    if expire and used > expire:
                        fake.tokens.clear()
                        fake.faults.expire_tokens_after = 0
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                if fake.tokens.get(token, 0) < time.time():
                    return self._send(401, {"errors": "Invalid access token"})
                if self.headers.get("Procore-Company-Id") != str(fake.company_id):
                    return self._send(400, {"errors": "Missing Procore-Company-Id header!"})
                with fake.lock:
                    if fake.faults.storm[0] > 0:
                        fake.faults.storm[0] -= 1
                        return self._send(429, {"errors": "Rate limit exceeded"}, {"Retry-After": str(fake.faults.storm[1])})
                    if used > fake.rate_limit:
                        return self._send(429, {"errors": "Rate limit exceeded"})
                    if operation and fake.faults.fail_next[operation] > 0:
                        fake.faults.fail_next[operation] -= 1
                        return self._send(503, {"errors": "Service Unavailable"}, {"Retry-After": "1"})
                    garbage = fake.faults.raw_answer.pop(operation, None)
                if garbage is not None:
                    return self._send_raw(200, garbage)
                if operation is None:
                    return self._send(404, {"errors": "Not found"})
                body = json.loads(raw) if raw else None
                if body is not None:
                    fake._check(operation, "request", body)
                status, answer, headers = getattr(fake, "op_" + operation)(params, body)
                if status < 300:
                    fake._check(operation, "response", answer)
                return self._send(status, answer, headers)

            def _token(self, form):
                client = (form.get("client_id", [""])[0], form.get("client_secret", [""])[0])
                if form.get("grant_type", [""])[0] != "client_credentials" or client != fake.client:
                    return self._send(401, {"error": "invalid_client"})
                token = secrets.token_urlsafe(16)
                fake.tokens[token] = time.time() + 5400
                return self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 5400, "created_at": int(time.time())})

            def _send(self, status, body, headers=None):
                return self._send_raw(status, json.dumps(body).encode(), headers)

            def _send_raw(self, status, data: bytes, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-Rate-Limit-Limit", str(fake.rate_limit))
                self.send_header("X-Rate-Limit-Remaining", str(max(0, fake.rate_limit - fake.used)))
                self.send_header("X-Rate-Limit-Reset", str(int(time.time()) + 3600))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler

    # --- operations ----------------------------------------------------------------------

    def _page(self, items: list, params: dict, path: str) -> tuple[int, list, dict]:
        page, per_page = int(params.get("page", 1)), min(int(params.get("per_page", 100)), 100)
        chunk = items[(page - 1) * per_page: page * per_page]
        headers = {"Total": str(len(items)), "Per-Page": str(per_page)}
        if page * per_page < len(items):
            query = "&".join(f"{k}={v}" for k, v in {**params, "page": page + 1}.items())
            headers["Link"] = f'<{self.base_url}{path}?{query}>; rel="next"'
        return 200, chunk, headers

    def op_RestV10ProjectTemplatesGet(self, params, body):
        return self._page(self.templates, params, "/rest/v1.0/project_templates")

    def project_add(self, **fields) -> dict:
        """A project made in Procore by hand (not through the API), for tests."""
        pid = next(self.ids)
        self.projects[pid] = {"id": pid, "active": True, **fields}
        return self.projects[pid]

    def cost_code_add(self, project_id: int, code: str, name: str, parent_id: int | None = None) -> dict:
        """A cost code made in Procore by hand, without an origin id, for tests."""
        entity = {"id": next(self.ids), "code": code, "name": name, "parent_id": parent_id, "sub_job_id": None}
        self.cost_codes.setdefault(project_id, {})[f"hand:{entity['id']}"] = entity
        return entity

    def op_RestV11ProjectsGet(self, params, body):
        # Procore's filters: origin id and project number exactly, name as "matching the given string".
        origin, number, name = params.get("filters[origin_id]"), params.get("filters[project_number]"), params.get("filters[name]")
        found = [p for p in self.projects.values()
                 if (origin is None or p.get("origin_id") == origin) and (number is None or p.get("project_number") == number)
                 and (name is None or name.lower() in p.get("name", "").lower())]
        return self._page(found, params, "/rest/v1.1/projects")

    def op_RestV10ProjectsIdGet(self, params, body):
        project = self.projects.get(int(params["id"]))
        if project is None or params.get("company_id") != str(self.company_id):
            return 404, {"errors": "Project not found"}, {}
        return 200, dict(project), {}

    def op_RestV10ProjectsIdPatch(self, params, body):
        project = self.projects.get(int(params["id"]))
        if project is None or body.get("company_id") != self.company_id:
            return 404, {"errors": "Project not found"}, {}
        fields = body.get("project", {})
        origin = fields.get("origin_id")
        if origin and any(p.get("origin_id") == origin for pid, p in self.projects.items() if pid != project["id"]):
            return 422, {"errors": {"origin_id": ["has already been taken"]}}, {}
        for key, value in fields.items():
            if value in ("", None) and key in ("origin_id", "origin_code", "origin_data"):
                project.pop(key, None)  # cleared
            else:
                project[key] = value
        return 200, dict(project), {}

    def op_RestV10CostCodesGet(self, params, body):
        pid = int(params["project_id"])
        if pid not in self.projects:
            return 404, {"errors": "Project not found"}, {}
        sub_job = params.get("sub_job_id")
        codes = [dict(c) for c in self.cost_codes.get(pid, {}).values()
                 if c.get("sub_job_id") == (int(sub_job) if sub_job is not None else None)]
        return self._page(codes, params, "/rest/v1.0/cost_codes")

    def op_RestV10ProjectsPost(self, params, body):
        project = body.get("project", {})
        origin = project.get("origin_id")
        if origin and any(p.get("origin_id") == origin for p in self.projects.values()):
            return 422, {"errors": {"origin_id": ["has already been taken"]}}, {}
        if not project.get("name"):
            return 422, {"errors": {"name": ["can't be blank"]}}, {}
        pid = next(self.ids)
        entity = {"id": pid, "name": project["name"], "project_number": project.get("project_number", ""), "active": True,
                  **{k: v for k, v in {"origin_id": origin, "origin_code": project.get("origin_code"),
                                       "from_project_template_id": project.get("project_template_id")}.items() if v is not None}}
        self.projects[pid] = entity
        return 201, entity, {}

    def _too_many(self, body):
        if len(body.get("updates", [])) > 1000:
            return 422, {"errors": "At most 1000 updates may be sent at once."}, {}
        return None

    def op_RestV10LineItemTypesSyncPatch(self, params, body):
        if (refused := self._too_many(body)):
            return refused
        entities, errors = [], []
        for item in body["updates"]:
            if not item.get("name"):
                errors.append({**item, "errors": {"name": ["can't be blank"]}})
                continue
            entity = self.line_item_types.setdefault(item["origin_id"], {"id": next(self.ids)})
            entity.update({"name": item["name"], "code": item.get("csv_import_code", ""), "base_type": item.get("base_type", "other"),
                           "origin_id": item["origin_id"]})
            entities.append(dict(entity))
        return 200, {"entities": entities, "errors": errors}, {}

    def op_RestV10SubJobsSyncPatch(self, params, body):
        if (refused := self._too_many(body)):
            return refused
        pid = int(params["project_id"])
        if pid not in self.projects or body.get("project_id") != pid:
            return 404, {"errors": "Project not found"}, {}
        sub_jobs = self.sub_jobs.setdefault(pid, {})
        entities = []
        for item in body["updates"]:
            entity = sub_jobs.setdefault(item["origin_id"], {"id": next(self.ids)})
            entity.update({"code": item.get("code"), "name": item.get("name"), "origin_id": item["origin_id"]})
            entities.append(dict(entity))
        return 200, {"entities": entities, "errors": []}, {}

    def op_RestV10CostCodesSyncPatch(self, params, body):
        if (refused := self._too_many(body)):
            return refused
        pid = int(params["project_id"])
        if pid not in self.projects:
            return 404, {"errors": "Project not found"}, {}
        codes = self.cost_codes.setdefault(pid, {})
        known_ids = {c["id"] for c in codes.values()}
        entities, errors = [], []
        for item in body["updates"]:
            if len(item.get("name", "")) > NAME_LIMIT:
                errors.append({**item, "errors": {"name": ["is too long (maximum is 100 characters)"]}})
                continue
            if item.get("parent_id") is not None and item["parent_id"] not in known_ids:
                errors.append({**item, "errors": {"parent_id": ["does not exist"]}})
                continue
            sub_job = params.get("sub_job_id")
            if sub_job is not None and int(sub_job) not in {s["id"] for s in self.sub_jobs.get(pid, {}).values()}:
                errors.append({**item, "errors": {"sub_job_id": ["does not exist"]}})
                continue
            if "id" in item:  # an item with an id updates that cost code
                key = next((k for k, c in codes.items() if c["id"] == item["id"]), None)
                if key is None:
                    errors.append({**item, "errors": {"id": ["does not exist"]}})
                    continue
                if item.get("origin_id") and key != item["origin_id"]:
                    codes[item["origin_id"]] = codes.pop(key)
                    key = item["origin_id"]
                entity = codes[key]
                entity.update({k: item[k] for k in ("code", "name", "parent_id", "origin_id", "position") if k in item})
            else:
                entity = codes.setdefault(item["origin_id"], {"id": next(self.ids)})
                entity.update({k: item.get(k) for k in ("code", "name", "parent_id", "origin_id", "position")})
            entity["sub_job_id"] = int(sub_job) if sub_job is not None else None
            known_ids.add(entity["id"])
            entities.append(dict(entity))
        return 200, {"entities": entities, "errors": errors}, {}

    def op_cost_code_line_item_types(self, params, body):
        if (refused := self._too_many(body)):
            return refused
        pid = int(params["project_id"])
        assignments = self.assignments.setdefault(pid, {})
        code_ids = {c["id"] for c in self.cost_codes.get(pid, {}).values()}
        type_ids = {t["id"] for t in self.line_item_types.values()}
        entities, errors = [], []
        for item in body["updates"]:
            if item["cost_code_id"] not in code_ids or item["line_item_type_id"] not in type_ids:
                errors.append({**item, "errors": {"base": ["cost code or cost type does not exist"]}})
                continue
            key = (item["cost_code_id"], item["line_item_type_id"])
            # Procore's documentation shows no id of an assignment's own: the pair is its key.
            entity = assignments.setdefault(key, {"cost_code_id": key[0], "line_item_type_id": key[1]})
            entities.append(dict(entity))
        return 200, {"entities": entities, "errors": errors}, {}

    def op_erp_job_costs(self, params, body):
        if (refused := self._too_many(body)):
            return refused
        costs = self.job_costs.setdefault(body["job_origin_id"], {})
        entities = []
        for item in body["updates"]:
            costs[(item["cost_code_id"], item["line_item_type_id"])] = dict(item)
            entities.append(dict(item))
        return 200, {"entities": entities, "errors": []}, {}

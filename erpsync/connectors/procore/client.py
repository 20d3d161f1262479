"""Procore's REST API: OAuth 2 client credentials, the company header, paging and rate limits.

Every request carries Procore-Company-Id. The client watches X-Rate-Limit-Remaining and, when
the hourly budget is nearly spent, waits for X-Rate-Limit-Reset instead of burning it; 429 waits
until the reset (or Retry-After), 5xx are retried by the shared HTTP helper, and 400/403/404/422
are final (they count against the quota).
"""

import re
import time
from collections.abc import Iterator

import httpx

from erpsync.connectors.base import ConnectorError
from erpsync.connectors.http import HttpClient, RetryPolicy

ENVIRONMENTS = {
    "production": ("https://api.procore.com", "https://login.procore.com"),
    "sandbox": ("https://sandbox.procore.com", "https://login-sandbox.procore.com"),
}
TOKEN_MARGIN = 120  # seconds before expiry when a cached token is renewed
LOW_WATER = 5  # requests left in the window below which the client waits for the reset
SYNC_BATCH = 1000  # Procore's cap on items per sync call
_NEXT = re.compile(r'<([^>]+)>;\s*rel="next"')


class ProcoreError(ConnectorError):
    pass


class ProcoreClient:
    def __init__(self, *, company_id: int, client_id: str, client_secret: str, environment: str = "production",
                 base_url: str = "", login_url: str = "", timeout: float = 30.0, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None):
        if environment in ENVIRONMENTS:
            base_url, login_url = ENVIRONMENTS[environment]
        if not base_url or not login_url:
            raise ConnectorError("A custom Procore environment needs its API and login URLs.")
        self.base_url, self.login_url = base_url.rstrip("/"), login_url.rstrip("/")
        self.company_id = int(company_id)
        self.client_id, self.client_secret = client_id, client_secret
        self.retry = retry or RetryPolicy()
        self.http = HttpClient(timeout=timeout, retry=self.retry, transport=transport, what="Procore")
        self._token: tuple[str, float] | None = None

    def close(self) -> None:
        self.http.close()

    @property
    def requests_made(self) -> int:
        return self.http.requests

    # --- auth ----------------------------------------------------------------------------

    def _access_token(self, *, fresh: bool = False) -> str:
        if not fresh and self._token and self._token[1] > time.monotonic():
            return self._token[0]
        response = self.http.request("POST", f"{self.login_url}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": self.client_id, "client_secret": self.client_secret})
        if response.status_code != 200:
            raise ProcoreError(f"Procore refused the client id and secret (HTTP {response.status_code}); check the "
                               "service account's credentials and environment.")
        body = answer_of(response, "the token request")
        if not isinstance(body.get("access_token"), str):
            raise ProcoreError(f"Procore answered the token request without an access token: {response.text[:200]!r}.")
        try:
            expires_in = int(body.get("expires_in", 5400))
        except (TypeError, ValueError):
            expires_in = 5400
        self._token = (body["access_token"], time.monotonic() + max(0, expires_in - TOKEN_MARGIN))
        return self._token[0]

    # --- requests ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params=None, json=None, what: str = "") -> httpx.Response:
        url = path if path.startswith("http") else f"{self.base_url}{path}"
        for fresh in (False, True):
            headers = {"Authorization": f"Bearer {self._access_token(fresh=fresh)}", "Procore-Company-Id": str(self.company_id),
                       "Accept": "application/json"}
            response = self.http.request(method, url, params=params, json=json, headers=headers)
            if response.status_code != 401:
                break
        self._pace(response)
        if response.status_code >= 400:
            raise self.refusal(response, what or f"{method} {path}")
        return response

    def _pace(self, response: httpx.Response) -> None:
        """Slow down before the hourly budget runs out, rather than hitting 429."""
        remaining, reset = response.headers.get("X-Rate-Limit-Remaining"), response.headers.get("X-Rate-Limit-Reset")
        if remaining is None or reset is None:
            return
        try:
            remaining, reset = int(remaining), float(reset)
        except ValueError:
            return
        if remaining <= LOW_WATER:
            self.http.wait(max(0.0, min(reset - time.time(), 3600.0)))

    def refusal(self, response: httpx.Response, what: str) -> ProcoreError:
        status = response.status_code
        try:
            errors = response.json().get("errors")
        except (ValueError, AttributeError):
            errors = None
        detail = _errors_text(errors) if errors else response.text[:200]
        if status == 401:
            return ProcoreError(f"Procore refused the access token for {what} (HTTP 401); check the client id and secret.")
        if status == 403:
            return ProcoreError(f"Procore refused {what} (HTTP 403): the service account lacks permission, or the tool is off. {detail}".strip())
        if status == 404:
            return ProcoreError(f"Procore has no such record for {what} (HTTP 404).")
        return ProcoreError(f"Procore refused {what} (HTTP {status}): {detail}")

    def pages(self, path: str, params: dict) -> Iterator[list]:
        """v1 paging: follow the Link header's next until it is gone."""
        response = self.request("GET", path, params={**params, "per_page": 100, "page": 1})
        while True:
            page = answer_of(response, f"GET {path}")
            if not isinstance(page, list):
                raise ProcoreError(f"Procore answered GET {path} without a list: {response.text[:200]!r}.")
            yield [item for item in page if isinstance(item, dict)]
            found = _NEXT.search(response.headers.get("Link", ""))
            if not found:
                return
            response = self.request("GET", found[1])

    # --- operations ----------------------------------------------------------------------

    def project_templates(self) -> list[dict]:
        return [t for page in self.pages("/rest/v1.0/project_templates", {"company_id": self.company_id}) for t in page]

    def project_by_origin(self, origin_id: str) -> dict | None:
        for page in self.pages("/rest/v1.1/projects", {"company_id": self.company_id, "filters[origin_id]": origin_id}):
            for project in page:
                if project.get("origin_id") == origin_id:
                    if not isinstance(project.get("id"), int):
                        raise ProcoreError(f"Procore listed the project {origin_id} without its id.")
                    return project
        return None

    def projects_matching(self, *, project_number: str = "", name: str = "") -> list[dict]:
        """Projects whose number is `project_number` or whose name matches `name` (Procore's list filters), by id."""
        found: dict[int, dict] = {}
        for key, value in (("filters[project_number]", project_number), ("filters[name]", name)):
            if value:
                for page in self.pages("/rest/v1.1/projects", {"company_id": self.company_id, "filters[by_status]": "All", key: value}):
                    found.update((p["id"], p) for p in page if isinstance(p.get("id"), int))
        return [found[pid] for pid in sorted(found)]

    def project(self, project_id: int) -> dict:
        what = f"reading project {project_id}"
        response = self.request("GET", f"/rest/v1.0/projects/{int(project_id)}", params={"company_id": self.company_id}, what=what)
        found = answer_of(response, what)
        if not isinstance(found, dict) or found.get("id") != int(project_id):
            raise ProcoreError(f"Procore answered {what} without that project: {response.text[:200]!r}.")
        return found

    def project_update(self, project_id: int, fields: dict) -> dict:
        what = f"updating project {project_id}"
        response = self.request("PATCH", f"/rest/v1.0/projects/{int(project_id)}",
                                json={"company_id": self.company_id, "project": fields}, what=what)
        return answer_of(response, what)

    def cost_codes(self, project_id: int, sub_job_id: int | None = None) -> list[dict]:
        params = {"project_id": project_id, **({"sub_job_id": sub_job_id} if sub_job_id else {})}
        return [c for page in self.pages("/rest/v1.0/cost_codes", params) for c in page]

    def project_create(self, project: dict) -> dict:
        what = f"creating project {project.get('project_number')}"
        response = self.request("POST", "/rest/v1.0/projects", json={"company_id": self.company_id, "project": project}, what=what)
        created = answer_of(response, what)
        if not isinstance(created, dict) or not isinstance(created.get("id"), int):
            raise ProcoreError(f"Procore answered {what} without the project's id: {response.text[:200]!r}.")
        return created

    def sync(self, path: str, updates: list[dict], *, params: dict | None = None, body: dict | None = None) -> tuple[list, list]:
        """A sync action in batches of at most 1,000; returns (entities, errors) of all batches."""
        entities, errors = [], []
        what = path.rsplit("/", 2)[-2].replace("_", " ") + " sync"
        for start in range(0, len(updates), SYNC_BATCH):
            response = self.request("PATCH", path, params=params, json={**(body or {}), "updates": updates[start:start + SYNC_BATCH]},
                                    what=what)
            answer = answer_of(response, f"the {what}")
            if not isinstance(answer, dict) or not isinstance(answer.get("entities", []), list) \
                    or not isinstance(answer.get("errors", []), list):
                raise ProcoreError(f"Procore answered the {what} without lists of entities and errors: {response.text[:200]!r}.")
            entities += [e for e in answer.get("entities", []) if isinstance(e, dict)]
            errors += [e for e in answer.get("errors", []) if isinstance(e, dict)]
        return entities, errors


def answer_of(response: httpx.Response, what: str):
    """A response's JSON, or a plain error quoting what Procore sent instead."""
    try:
        return response.json()
    except ValueError:
        raise ProcoreError(f"Procore answered {what} with something that is not JSON: {response.text[:200]!r}.") from None


def _errors_text(errors) -> str:
    if isinstance(errors, str):
        return errors
    if isinstance(errors, dict):
        return "; ".join(f"{field} {' '.join(map(str, messages if isinstance(messages, list) else [messages]))}"
                         for field, messages in errors.items())
    return str(errors)


def item_errors_text(item: dict) -> str:
    return _errors_text(item.get("errors") or {})

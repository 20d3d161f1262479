"""CMiC's REST API (Oracle ADF Business Components): auth, paging and plain-worded refusals."""

import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

import httpx

from erpsync.connectors.base import ConnectorError
from erpsync.connectors.cmic.mapping import RESOURCES
from erpsync.connectors.cmic.pages import envelope_items
from erpsync.connectors.http import HttpClient, RetryPolicy

MAX_PAGE = 1000  # CMiC answers HTTP 400 above this
TOKEN_MARGIN = 60  # seconds before expiry when a cached token is renewed
# Resources on which CMiC documents orderBy=default for consistent paging.
ORDER_BY_DEFAULT = {"jcjob", "jcjobcategory", "jcdetailposted"}


class CmicClient:
    def __init__(self, *, base_url: str, environment: str, auth: str = "basic", client_id: str = "", user_id: str = "",
                 password: str = "", token_url: str = "", oauth_client_id: str = "", client_secret: str = "", scope: str = "",
                 resources: Mapping | None = None, page_size: int = 500, timeout: float = 30.0,
                 retry: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None):
        if auth not in ("basic", "oauth"):
            raise ConnectorError(f"Unknown CMiC auth mode {auth!r}; use 'basic' or 'oauth'.")
        self.root = f"{base_url.rstrip('/')}/{environment.strip('/')}"
        self.auth = auth
        self.basic = (f"{client_id}||{user_id}", password)
        self.token_url, self.oauth_client_id, self.client_secret, self.scope = token_url, oauth_client_id, client_secret, scope
        self.resources = resources or {}
        self.page_size = max(1, min(int(page_size), MAX_PAGE))
        self.http = HttpClient(timeout=timeout, retry=retry, transport=transport, what="CMiC")
        self._token: tuple[str, float] | None = None

    def close(self) -> None:
        self.http.close()

    # --- where things are ----------------------------------------------------------------

    def resource_name(self, entity: str) -> str:
        return self.resource_path(entity).rsplit("/", 1)[-1]

    def resource_path(self, entity: str) -> str:
        return self.resources.get(entity, {}).get("path") or RESOURCES[entity].path

    def url(self, entity: str, suffix: str = "") -> str:
        return f"{self.root}/{self.resource_path(entity).strip('/')}{suffix}"

    # --- auth ----------------------------------------------------------------------------

    def _token_value(self, *, fresh: bool = False) -> str:
        if not fresh and self._token and self._token[1] > time.monotonic():
            return self._token[0]
        response = self.http.request("POST", self.token_url, data={
            "grant_type": "client_credentials", "client_id": self.oauth_client_id,
            "client_secret": self.client_secret, "scope": self.scope,
        })
        if response.status_code != 200:
            raise ConnectorError(f"The identity provider refused the CMiC client credentials (HTTP {response.status_code}); "
                                 "check the client id, secret and scope.")
        try:
            body = response.json()
            token, expires_in = body["access_token"], float(body.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise ConnectorError("The identity provider's token answer has no access_token.") from None
        self._token = (token, time.monotonic() + max(0.0, expires_in - TOKEN_MARGIN))
        return token

    def _auth_kwargs(self, *, fresh: bool = False) -> dict:
        if self.auth == "basic":
            return {"auth": self.basic}
        return {"headers": {"Authorization": f"Bearer {self._token_value(fresh=fresh)}"}}

    # --- requests ------------------------------------------------------------------------

    def get(self, entity: str, *, suffix: str = "", params: Mapping | None = None) -> httpx.Response:
        headers = {"Accept": "application/json"}
        kwargs = self._auth_kwargs()
        response = self.http.request("GET", self.url(entity, suffix), params=params,
                                     headers=headers | kwargs.pop("headers", {}), **kwargs)
        if response.status_code == 401 and self.auth == "oauth":
            kwargs = self._auth_kwargs(fresh=True)  # the token may have been revoked or expired early
            response = self.http.request("GET", self.url(entity, suffix), params=params,
                                         headers=headers | kwargs.pop("headers", {}), **kwargs)
        if response.status_code >= 400:
            raise self.refusal(entity, response)
        return response

    def refusal(self, entity: str, response: httpx.Response) -> ConnectorError:
        name = self.resource_name(entity)
        status = response.status_code
        if status == 401:
            what = "the user name and password" if self.auth == "basic" else "the access token"
            return ConnectorError(f"CMiC refused {what} (HTTP 401): check the API user (CLIENTID||USERID) and its password.")
        if status == 403:
            return ConnectorError(f"CMiC refused {name} (HTTP 403): the service user lacks API security for {name}.")
        if status == 404:
            return ConnectorError(f"CMiC has no {name} at {self.url(entity)} (HTTP 404): check the environment and the container path.")
        detail = response.text[:200].strip()
        return ConnectorError(f"CMiC refused the request for {name} (HTTP {status}){': ' + detail if detail else ''}.")

    def pages(self, entity: str, *, q: list[str] = (), order_by: str = "") -> Iterator[tuple[int, list]]:
        """Yield (offset, items) page by page while CMiC says there is more.

        The next page is fetched and decoded while the caller works on this one, so CMiC's
        time to answer and ours to map and stage overlap.
        """
        name = self.resource_name(entity)
        order = order_by or self.resources.get(entity, {}).get("order_by") or ("default" if name in ORDER_BY_DEFAULT else "")
        params = {"limit": self.page_size}
        if q:
            params["q"] = ";".join(q)
        if order:
            params["orderBy"] = order
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="cmic-page") as pool:
            pending = pool.submit(self._page, entity, params, 0)
            while pending is not None:
                offset, items, has_more = pending.result()
                if has_more and not items:  # taking it for the end would lose the rest without a word
                    raise ConnectorError(f"CMiC answered {name} at offset {offset} with no items but said there were more; "
                                         "nothing was changed.", permanent=False)
                pending = pool.submit(self._page, entity, params, offset + len(items)) if has_more else None
                yield offset, items

    def _page(self, entity: str, params: dict, offset: int) -> tuple[int, list, bool]:
        name = self.resource_name(entity)
        try:
            response = self.get(entity, params={**params, "offset": offset})
        except ConnectorError as exc:
            raise ConnectorError(f"Reading {name} at offset {offset}: {exc.message}", permanent=exc.permanent) from None
        items, has_more = envelope_items(response.content, name, offset)
        return offset, items, has_more

    def describe(self, entity: str) -> dict:
        response = self.get(entity, suffix="/describe")
        try:
            return response.json()
        except ValueError:
            raise ConnectorError(f"CMiC's describe of {self.resource_name(entity)} is not JSON.") from None


def quote_value(value: str) -> str:
    """A value inside an ADF q expression: single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def describe_attributes(describe: dict) -> set[str]:
    """Attribute names anywhere in an ADF describe answer."""
    names = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("attributes"), list):
                names.update(a.get("name") for a in node["attributes"] if isinstance(a, dict) and a.get("name"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(describe)
    return names


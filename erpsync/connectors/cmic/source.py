"""CMiC over REST: the Source that pulls jobs, phases, categories and posted costs."""

from collections.abc import Mapping
from datetime import datetime

import httpx

from erpsync.connectors.base import CheckResult, ConnectorError
from erpsync.connectors.cmic.client import CmicClient, describe_attributes, quote_value
from erpsync.connectors.cmic.mapping import RESOURCES, CmicMapper
from erpsync.connectors.cmic.pages import checked_items
from erpsync.connectors.http import RetryPolicy

PARALLEL_REQUESTS = 2  # what most tenants allow one API user; a connection may set its own


class CmicRestSource:
    kind = "cmic"
    supports_since = True

    def __init__(self, *, base_url: str, environment: str, company_codes: list[str], attributes: Mapping | None = None,
                 parallel_requests: int = PARALLEL_REQUESTS, retry: RetryPolicy | None = None,
                 transport: httpx.BaseTransport | None = None, **client_settings):
        if not company_codes:
            raise ConnectorError("The CMiC connection names no company code to pull.")
        self.company_codes = [str(c) for c in company_codes]
        self.mapper = CmicMapper(attributes)
        # How many resources a refresh reads at once, each over a connection of its own.
        self.parallel_requests = max(1, int(parallel_requests))
        self.client = CmicClient(base_url=base_url, environment=environment, retry=retry, transport=transport,
                                 **{k: v for k, v in client_settings.items() if k in _CLIENT_SETTINGS})

    @property
    def requests_made(self) -> int:
        return self.client.http.requests

    # --- the Source protocol -------------------------------------------------------------

    def check(self) -> list[CheckResult]:
        results = []
        for entity, resource in RESOURCES.items():
            name = self.client.resource_name(entity)
            try:
                known = describe_attributes(self.client.describe(entity))
            except ConnectorError as exc:
                results.append(CheckResult(name, False, exc.message))
                continue
            optional = resource.optional
            absent = {f: a for f, a in self.mapper.attrs[entity].items() if a and known and a not in known}
            required = sorted(a for f, a in absent.items() if f not in optional)
            lost = sorted(f"{a} ({optional[f]})" for f, a in absent.items() if f in optional)
            if required:
                results.append(CheckResult(name, False, f"Reachable, but {name} has no attribute(s) {', '.join(required)}; "
                                           "set the tenant's names in the connection's attribute mapping."))
            elif lost:
                results.append(CheckResult(name, True, f"Reachable, without the optional attribute(s) {'; '.join(lost)}. "
                                           "Map each to null in the attribute mapping to stop asking for it.", warning=True))
            elif not known:
                results.append(CheckResult(name, True, f"Reachable; {name}'s description lists no attributes, so they "
                                           "could not be checked.", warning=True))
            else:
                results.append(CheckResult(name, True, "Reachable; every configured attribute exists."))
        return results

    def jobs(self, *, since: datetime | None = None):
        yield from self._records("jobs", self.mapper.job, since=since)

    def cost_codes(self, *, since=None, job_codes=None):
        yield from self._records("cost_codes", self.mapper.cost_code, since=since, job_codes=job_codes)

    def cost_types(self):
        yield from self._records("cost_types", self.mapper.cost_type)

    def budget_lines(self, *, since=None, job_codes=None):
        yield from self._records("budget_lines", self.mapper.budget_line, since=since, job_codes=job_codes)

    def cost_transactions(self, *, since=None, job_codes=None):
        yield from self._records("cost_transactions", self.mapper.cost_transaction, since=since, job_codes=job_codes)

    # --- paging --------------------------------------------------------------------------

    def _filters(self, entity: str, *, since: datetime | Mapping[str, datetime] | None = None,
                 job_codes: set[str] | None = None) -> list[list[str]]:
        """The q conditions of each query that together read what is asked: per company, and per job if asked.

        `since` is one time for every company, or a time per company code (a company without one is read in full).
        """
        attrs = self.mapper.attrs[entity]
        filters = []
        for company_code in self.company_codes:
            base = [f"{attrs['company_code']}={quote_value(company_code)}"]
            changed_since = since.get(company_code) if isinstance(since, Mapping) else since
            audit = attrs.get("updated_at")  # None: the tenant has no audit date here, so everything is read
            if changed_since is not None and audit:
                base.append(f"{audit}>{quote_value(changed_since.isoformat(timespec='seconds'))}")
            filters += [base + [f"{attrs['job_code']}={quote_value(code)}"] for code in sorted(job_codes)] if job_codes else [base]
        return filters

    def _records(self, entity: str, make, *, since: datetime | None = None, job_codes: set[str] | None = None):
        name = self.client.resource_name(entity)
        for q in self._filters(entity, since=since, job_codes=job_codes):
            for offset, items in self.client.pages(entity, q=q):
                for where, item in checked_items(items, name, offset):
                    yield make(item, where)


_CLIENT_SETTINGS = {"auth", "client_id", "user_id", "password", "token_url", "oauth_client_id", "client_secret", "scope",
                    "resources", "page_size", "timeout"}

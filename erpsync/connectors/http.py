"""The one HTTP helper every connector uses: where retries are decided.

429, 5xx (but 501 and 505, which no retry mends), timeouts and connection errors are retried
with exponential backoff and jitter, honouring Retry-After, up to a bound; every other 4xx is
permanent and returned to the caller, which knows what it means for its ERP. Nothing here logs headers or bodies, so secrets
never reach a log.
"""

import email.utils
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from erpsync.connectors.base import ConnectorError

RETRY_STATUSES = frozenset({429, *range(500, 600)}) - {501, 505}
MAX_RETRY_AFTER = 300.0  # seconds; a longer Retry-After is capped rather than obeyed blindly


class TransientHttpError(Exception):
    def __init__(self, response: httpx.Response):
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.retry_after = retry_after_seconds(response)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """How long the server asked us to wait: Retry-After, or for a 429 the rate-limit reset time."""
    value = response.headers.get("Retry-After")
    if not value and response.status_code == 429 and response.headers.get("X-Rate-Limit-Reset"):
        try:
            return max(0.0, min(float(response.headers["X-Rate-Limit-Reset"]) - time.time(), MAX_RETRY_AFTER))
        except ValueError:
            return None
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        when = email.utils.parsedate_to_datetime(value) if value else None
        if when is None:
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, min(seconds, MAX_RETRY_AFTER))


def wait_for_real(seconds: float) -> None:
    time.sleep(seconds)


def _transient(exc: BaseException) -> bool:
    return isinstance(exc, (TransientHttpError, httpx.TimeoutException, httpx.TransportError))


@dataclass
class RetryPolicy:
    attempts: int = 6
    initial_wait: float = 0.5
    max_wait: float = 30.0
    sleep: Callable[[float], None] | None = None  # None: wait for real (tests record waits instead)


class HttpClient:
    def __init__(self, *, timeout: float = 30.0, retry: RetryPolicy | None = None, transport: httpx.BaseTransport | None = None,
                 what: str = "the ERP"):
        self.retry = retry or RetryPolicy()
        self.what = what
        self.client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)
        self.requests = 0

    def close(self) -> None:
        self.client.close()

    def wait(self, seconds: float) -> None:
        """Wait as the retry policy waits (tests record the wait instead)."""
        (self.retry.sleep or wait_for_real)(seconds)

    def _wait(self, state) -> float:
        exc = state.outcome.exception()
        if isinstance(exc, TransientHttpError) and exc.retry_after is not None:
            return exc.retry_after
        return wait_exponential_jitter(multiplier=self.retry.initial_wait, max=self.retry.max_wait, jitter=self.retry.initial_wait)(state)

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        """Send, retrying what is worth retrying; return the final response (any status)."""
        retrying = Retrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            retry=retry_if_exception(_transient),
            sleep=self.retry.sleep or wait_for_real,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    self.requests += 1
                    response = self.client.request(method, url, **kwargs)
                    if response.status_code in RETRY_STATUSES:
                        raise TransientHttpError(response)
                    return response
        except TransientHttpError as exc:
            raise ConnectorError(
                f"{self.what} kept answering HTTP {exc.response.status_code} after {self.retry.attempts} attempts; "
                "it may be overloaded or down. Try again later.",
                permanent=False,
            ) from None
        except httpx.TimeoutException:
            raise ConnectorError(f"{self.what} did not answer in time after {self.retry.attempts} attempts.", permanent=False) from None
        except httpx.TransportError as exc:
            raise ConnectorError(f"{self.what} could not be reached ({type(exc).__name__}) after {self.retry.attempts} attempts.",
                                 permanent=False) from None
        raise AssertionError("unreachable")  # pragma: no cover

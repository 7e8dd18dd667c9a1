"""The Query API client: GET only, authenticated, throttled, retried.

Every request goes through one pooled ``httpx.Client``: it takes a place in the host's
:class:`~extract.throttle.Throttle`, carries the bearer token and the ``applicationId``
header, and its outcome is judged by :func:`~extract.errors.classify_response`. Retryable
failures (429, 5xx, network errors, bodies ``parse`` cannot read) are retried with jittered
exponential backoff; a 401 refreshes the token once; anything else is raised at once.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata as importlib_metadata
from typing import Generic, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import httpx

from extract.auth import TokenProvider
from extract.config import ApiSettings, Settings, ThrottleSettings
from extract.errors import (
    AuthError,
    BadPayload,
    BudgetExhausted,
    DataContractError,
    ExtractError,
    NetworkError,
    RateLimited,
    RetryableError,
    ServerError,
    classify_response,
    map_transport_error,
    response_date,
)
from extract.redact import mask_url, redact_logger
from extract.stats import RequestStats
from extract.throttle import Throttle, ThrottleRegistry, default_registry

__all__ = ["QUERY_PATH", "Fetched", "QueryClient", "RequestBudget"]

log = logging.getLogger(__name__)

T = TypeVar("T")

QUERY_PATH = "/commerce/query/2.0"
"""Query API 2.0 root, relative to the tenant root."""
MAX_RETRY_AFTER_S = 600.0
"""A ``Retry-After`` longer than this is not waited out: the request fails with the 429."""
_QUERY_SAFE = "$,'():/*"
"""Characters left readable in query strings (OData syntax); spaces become ``%20``."""


def _version() -> str:
    try:
        return importlib_metadata.version("norce-warehouse")
    except importlib_metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"norce-warehouse/{_version()}"


@dataclass(frozen=True)
class Fetched(Generic[T]):
    """A successful response and what ``parse`` made of it."""

    value: T
    """``parse(raw)``."""
    raw: bytes
    """The response body."""
    url: str
    """The request URL, masked."""
    server_date: datetime | None
    """The server's ``Date`` header (aware), for watermarks that must not trust our clock."""
    status: int
    """HTTP status (2xx)."""


class RequestBudget:
    """A run's cap on API requests; thread-safe.

    Args:
        limit: Most requests (attempts) allowed; ``None`` is unlimited.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        """Requests taken so far."""
        with self._lock:
            return self._used

    @property
    def remaining(self) -> int | None:
        """Requests left, or ``None`` when unlimited."""
        with self._lock:
            return None if self.limit is None else max(self.limit - self._used, 0)

    def take(self, entity: str | None = None) -> None:
        """Take one request from the budget.

        Args:
            entity: ``Namespace/EntitySet`` about to be requested, for the message.

        Raises:
            BudgetExhausted: The budget is spent; nothing may be sent.
        """
        with self._lock:
            if self.limit is not None and self._used >= self.limit:
                raise BudgetExhausted(
                    f"request budget of {self.limit} requests spent", entity=entity
                )
            self._used += 1


class QueryClient:
    """GET-only client for the Query API 2.0 of one tenant.

    Args:
        settings: Full settings, or the ``(api, throttle)`` pair.
        transport: httpx transport (``MockTransport`` in tests); default: real network.
        throttle: Limiter to use; default: the process-wide one for the host.
        budget: Request budget; default: ``settings.throttle.request_budget``.
        registry: Where to find the host's limiter when ``throttle`` is not given.
        sleep: Wait used between retries (injectable for tests).
        rng: Randomness for backoff jitter (injectable for tests).
        clock: Monotonic seconds for timing and token expiry.
    """

    def __init__(
        self,
        settings: Settings | tuple[ApiSettings, ThrottleSettings],
        *,
        transport: httpx.BaseTransport | None = None,
        throttle: Throttle | None = None,
        budget: RequestBudget | None = None,
        registry: ThrottleRegistry | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(settings, Settings):
            api, limits = settings.api, settings.throttle
        else:
            api, limits = settings
        self.api = api
        self.limits = limits
        self.base_url = api.base_url
        parts = urlsplit(api.base_url)
        self._root = f"{parts.scheme}://{parts.netloc}"
        self._origin = _origin(api.base_url)
        self._http = httpx.Client(
            transport=transport,
            timeout=httpx.Timeout(api.timeout_s, connect=api.connect_timeout_s),
            limits=httpx.Limits(
                max_connections=limits.max_inflight + 1,  # +1: the token request
                max_keepalive_connections=limits.max_inflight + 1,
            ),
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            # A redirect would carry the bearer token elsewhere; classify_response reports it.
            follow_redirects=False,
        )
        redact_logger("httpx")
        redact_logger(__name__)
        self.throttle = throttle or (registry or default_registry()).for_url(api.base_url, limits)
        self.budget = budget if budget is not None else RequestBudget(limits.request_budget)
        self.tokens = TokenProvider(api, self._http, clock=clock, sleep=sleep)
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._rng_lock = threading.Lock()
        self._clock = clock

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> QueryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def token_requests(self) -> int:
        """Requests sent to the token endpoint so far."""
        return self.tokens.token_requests

    # -- URLs ---------------------------------------------------------------------------------

    def query_url(self, path: str) -> str:
        """``<base>/commerce/query/2.0/<path>`` for a path like ``Orders/Orders``."""
        return f"{self.base_url}{QUERY_PATH}/{path.lstrip('/')}"

    def _resolve(self, path_or_url: str, params: Mapping[str, str] | None) -> str:
        if path_or_url.startswith(("http://", "https://")):
            url = path_or_url
            if _origin(url) != self._origin:
                # A nextLink to another host would receive our bearer token.
                raise DataContractError(
                    f"refusing a link to another host: {mask_url(url)}",
                    hint="the API returned an @odata.nextLink outside NORCE_BASE_URL",
                )
        elif path_or_url.startswith("/"):
            url = self._root + path_or_url
        else:
            url = self.query_url(path_or_url)
        if params:
            query = urlencode(dict(params), quote_via=quote, safe=_QUERY_SAFE)
            url = f"{url}{'&' if '?' in url else '?'}{query}"
        return url

    # -- requests -----------------------------------------------------------------------------

    def get(
        self,
        path_or_url: str,
        params: Mapping[str, str] | None,
        *,
        application_id: int | None,
        entity: str,
        stats: RequestStats,
        parse: Callable[[bytes], T],
        accept: str | None = None,
        page_retries: int | None = None,
    ) -> Fetched[T]:
        """GET a Query API resource and parse its body, retrying what may succeed later.

        Retried with jittered exponential backoff from ``backoff_base_s`` capped at
        ``backoff_max_s`` (a 429's ``Retry-After`` is waited out instead, and pauses every
        thread via the throttle): 429 and network errors, up to ``max_retries`` times; 5xx
        and bodies ``parse`` cannot read (any exception that is not an
        :class:`~extract.errors.ExtractError` becomes :class:`BadPayload`), up to
        ``max_retries`` times counted separately. A 401 drops the token and retries once.

        Args:
            path_or_url: ``Namespace/Set`` path, a path from the tenant root, or an absolute
                URL on the same host (an ``@odata.nextLink``, followed verbatim).
            params: Query options (``$filter``, ``$top``, ...), or ``None``.
            application_id: Sent as the ``applicationId`` header when given.
            entity: ``Namespace/EntitySet`` for messages.
            stats: Counts every attempt, retry, error and byte.
            parse: Turns the body into a value; raise to reject it.
            accept: ``Accept`` header override (``$metadata`` is XML).
            page_retries: Fewer retries (never more than ``max_retries``) for 5xx and
                unreadable bodies -- the failures a smaller page may cure; the pager uses it
                while it shrinks a failing page. 429 and network errors keep the full count.

        Returns:
            The parsed value with the raw body, masked URL and the server's ``Date``.

        Raises:
            BudgetExhausted: The run's request budget is spent (checked before each send).
            RetryableError: The last failure, once retries are used up (``attempts`` set).
            AuthError: A second 401 in a row, or the token endpoint refusing credentials.
            RequestRejected: 400/403/404/405 and other non-retryable statuses.
            DataContractError: From ``parse``, or a link to another host.
        """
        url = self._resolve(path_or_url, params)
        headers = {"Accept": accept} if accept else {}
        if application_id is not None:
            headers["applicationId"] = str(application_id)
        max_retries = self.limits.max_retries
        shrinkable_retries = max_retries
        if page_retries is not None:
            shrinkable_retries = max(0, min(page_retries, max_retries))
        attempt = 0
        page_failures = transport_failures = 0
        refreshed = False
        with stats.timed(self._clock):
            while True:
                attempt += 1
                self.budget.take(entity)
                # Outside the retry handling: the provider retries the token endpoint itself,
                # and retrying it again here would exceed that endpoint's per-minute limit.
                token = self.tokens.token(stats)
                try:
                    return self._attempt(url, headers, token, entity, stats, parse, attempt > 1)
                except _Unauthorized as unauthorized:
                    if refreshed:
                        raise unauthorized.error from None
                    refreshed = True
                    self.tokens.invalidate(unauthorized.token)
                    attempt -= 1  # the refresh retry is extra, not one of max_retries
                except RetryableError as err:
                    # Each kind of failure has its own count, so a stray connection reset
                    # in a run of 5xx answers does not decide which error the caller sees:
                    # a 5xx streak must end as ServerError for the pager to shrink the page.
                    if isinstance(err, ServerError | BadPayload):
                        page_failures += 1
                        failures, limit = page_failures, shrinkable_retries
                    else:
                        transport_failures += 1
                        failures, limit = transport_failures, max_retries
                    if failures > limit or _too_long(err):
                        err.attempts = attempt
                        raise
                    delay = self._delay(failures, err)
                    log.info(
                        "%s: %s; retry %d/%d in %.2f s",
                        entity,
                        err.message,
                        failures,
                        limit,
                        delay,
                    )
                    self._sleep(delay)

    def metadata(
        self,
        namespace: str,
        *,
        application_id: int | None = None,
        stats: RequestStats | None = None,
    ) -> bytes:
        """The namespace's ``$metadata`` document (EDMX XML), same retry policy as :meth:`get`.

        Raises:
            BudgetExhausted, RetryableError, AuthError, RequestRejected: As :meth:`get`.
        """
        fetched = self.get(
            f"{namespace}/$metadata",
            None,
            application_id=application_id,
            entity=f"{namespace}/$metadata",
            stats=stats if stats is not None else RequestStats(),
            parse=_non_empty,
            accept="application/xml",
        )
        return fetched.value

    def _attempt(
        self,
        url: str,
        headers: dict[str, str],
        token: str,
        entity: str,
        stats: RequestStats,
        parse: Callable[[bytes], T],
        is_retry: bool,
    ) -> Fetched[T]:
        request = self._http.build_request(
            "GET", url, headers={**headers, "Authorization": f"Bearer {token}"}
        )
        with self.throttle.slot():
            stats.add(requests=1, retries=int(is_retry))
            try:
                response = self._http.send(request)
                raw = response.read()
            except httpx.HTTPError as exc:
                err = map_transport_error(exc, entity=entity, url=url)
                if isinstance(err, NetworkError):
                    stats.add(network_errors=1)
                elif isinstance(err, BadPayload):
                    stats.add(bad_payloads=1)
                raise err from None
        stats.add(bytes=len(raw))
        log.debug("GET %s -> %d (%d bytes)", mask_url(url), response.status_code, len(raw))
        try:
            classify_response(response, entity=entity)
        except AuthError as err:  # only a 401 classifies as AuthError
            raise _Unauthorized(err, token) from None
        except RateLimited as err:
            stats.add(rate_limited=1)
            self.throttle.penalize(err.retry_after)
            raise
        except ServerError as err:
            stats.add(server_errors=1)
            err.payload = raw or None
            raise
        try:
            value = parse(raw)
        except ExtractError as err:
            if isinstance(err, BadPayload):
                stats.add(bad_payloads=1)
                err.payload = raw
                err.entity = err.entity or entity
                err.url = err.url or mask_url(url)
            raise
        except Exception as exc:
            stats.add(bad_payloads=1)
            raise BadPayload(
                f"unreadable response body ({type(exc).__name__}: {str(exc)[:200]})",
                status=response.status_code,
                payload=raw,
                entity=entity,
                url=url,
            ) from exc
        self.throttle.reward()
        return Fetched(
            value=value,
            raw=raw,
            url=mask_url(url),
            server_date=response_date(response),
            status=response.status_code,
        )

    def _delay(self, attempt: int, err: RetryableError) -> float:
        if isinstance(err, RateLimited) and err.retry_after is not None:
            return err.retry_after
        step = self.limits.backoff_base_s * 2.0 ** min(attempt - 1, 32)
        ceiling = min(self.limits.backoff_max_s, step)
        with self._rng_lock:
            # "Equal jitter": at least half the exponential step, so waits stay bounded
            # below and threads that failed together do not retry together.
            return ceiling / 2 + self._rng.uniform(0, ceiling / 2)


class _Unauthorized(Exception):
    """Internal: a 401, carrying the token it answered and the error to raise if it repeats."""

    def __init__(self, error: ExtractError, token: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.token = token


def _too_long(err: RetryableError) -> bool:
    return err.retry_after is not None and err.retry_after > MAX_RETRY_AFTER_S


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _non_empty(raw: bytes) -> bytes:
    if not raw.strip():
        raise ValueError("empty $metadata document")
    return raw

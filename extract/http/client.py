"""The Query API client: GET only, authenticated, throttled, retried.

Every request goes through one pooled ``httpx.Client``: it takes a request from the run's
:class:`~extract.http.budget.RequestBudget`, a place in the host's
:class:`~extract.http.throttle.Throttle`, carries the bearer token and the ``applicationId``
header, and its outcome is judged by :func:`~extract.http.status.classify_response`.
Retryable failures are retried as the :class:`~extract.http.retry.RetryPolicy` says; a 401
refreshes the token once; anything else is raised at once.

What a request is for -- the entity set in messages, the ``applicationId`` header, the
counters it adds to, a narrower retry policy -- travels in a :class:`RequestContext`, bound
once per partition (or sweep) and passed with every call.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata as importlib_metadata
from typing import Generic, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import httpx

from extract.errors import (
    AuthError,
    BadPayload,
    DataContractError,
    ExtractError,
    NetworkError,
    RateLimited,
    RetryableError,
    ServerError,
)
from extract.http.auth import TokenProvider
from extract.http.body import MIB, BodyLimits, read_body, with_body
from extract.http.budget import RequestBudget
from extract.http.context import Fetched, RequestContext
from extract.http.retry import RetryPolicy, failure_kind
from extract.http.stats import RequestStats
from extract.http.status import classify_response, map_transport_error, response_date
from extract.http.throttle import Throttle, ThrottleRegistry, default_registry
from extract.redact import mask_url, redact_logger
from extract.settings import ApiSettings, Settings, ThrottleSettings

__all__ = ["QUERY_PATH", "Fetched", "QueryClient", "RequestContext"]

log = logging.getLogger(__name__)

T = TypeVar("T")

QUERY_PATH = "/commerce/query/2.0"
"""Query API 2.0 root, relative to the tenant root."""
_QUERY_SAFE = "$,'():/*"
"""Characters left readable in query strings (OData syntax); spaces become ``%20``."""


def _version() -> str:
    try:
        return importlib_metadata.version("norce-warehouse")
    except importlib_metadata.PackageNotFoundError:
        return "0"


USER_AGENT = f"norce-warehouse/{_version()}"


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
        api, limits = (
            (settings.api, settings.throttle) if isinstance(settings, Settings) else settings
        )
        self.api = api
        self.base_url = api.base_url
        self.retry = RetryPolicy.from_settings(limits)
        """The default retry policy of every request (a context may narrow it)."""
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
        self._page_limits = BodyLimits(api.deadline_s, api.max_reply_mb * MIB, "NORCE_MAX_REPLY_MB")
        self._metadata_limits = BodyLimits(
            api.deadline_s,
            api.max_metadata_mb * MIB,
            "NORCE_MAX_METADATA_MB",
            what="$metadata",
            size_is_retryable=False,
        )
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
        parse: Callable[[bytes], T],
        context: RequestContext,
        accept: str | None = None,
        limits: BodyLimits | None = None,
    ) -> Fetched[T]:
        """GET a Query API resource and parse its body, retrying what may succeed later.

        429s and network errors, 5xx answers and bodies ``parse`` cannot read (any
        exception that is not an :class:`~extract.errors.ExtractError` becomes
        :class:`BadPayload`) are retried as ``context.retry`` (else the client's policy)
        says; a 429's ``Retry-After`` also pauses every thread via the throttle, unless it
        asks for longer than the policy waits (then the request fails at once, retryable,
        and nothing else pauses). A 401 drops the token and retries once, outside the
        retry count. The body is streamed within a deadline (``NORCE_REPLY_DEADLINE_S``)
        and a size cap (``NORCE_MAX_REPLY_MB``): a reply breaking either is a retryable
        failure.

        Args:
            path_or_url: ``Namespace/Set`` path, a path from the tenant root, or an absolute
                URL on the same host (an ``@odata.nextLink``, followed verbatim).
            params: Query options (``$filter``, ``$top``, ...), or ``None``.
            parse: Turns the body into a value; raise to reject it.
            context: Entity, ``applicationId`` header, counters and retry policy.
            accept: ``Accept`` header override (``$metadata`` is XML).
            limits: Deadline and size cap of the reply; default: a page's.

        Returns:
            The parsed value with the raw body, masked URL and the server's ``Date``.

        Raises:
            BudgetExhausted: The run's request budget is spent (checked before each send).
            RetryableError: The last failure, once retries are used up (``attempts`` set),
                or a 429 asking to wait longer than the policy's ``max_retry_after_s``.
            AuthError: A second 401 in a row, or the token endpoint refusing credentials.
            RequestRejected: 400/403/404/405 and other non-retryable statuses.
            DataContractError: From ``parse``, a link to another host, or a body over a
                cap that ``limits`` does not retry (``$metadata``).
        """
        url = self._resolve(path_or_url, params)
        headers = {"Accept": accept} if accept else {}
        if context.application_id is not None:
            headers["applicationId"] = str(context.application_id)
        request = _Request(url, headers, parse, limits or self._page_limits)
        with context.stats.timed(self._clock):
            return self._with_retries(request, context)

    def _with_retries(self, req: _Request[T], context: RequestContext) -> Fetched[T]:
        """Send until a success, a failure not worth retrying, or the policy gives up."""
        policy = context.retry or self.retry
        failures = {"page": 0, "transport": 0}
        refreshed = False
        while True:
            self.budget.take(context.entity)
            # Outside the retry handling: the provider retries the token endpoint itself,
            # and retrying it again here would exceed that endpoint's per-minute limit.
            token = self.tokens.token(context.stats)
            attempt = 1 + sum(failures.values())
            try:
                return self._attempt(req, token, context, attempt > 1)
            except _Unauthorized as unauthorized:
                if refreshed:
                    raise unauthorized.error from None
                refreshed = True  # the refresh retry is extra, not one of the retries
                self.tokens.invalidate(unauthorized.token)
            except RetryableError as err:
                kind = failure_kind(err)
                failures[kind] += 1
                delay = policy.wait(err, failures[kind], self._draw)
                if delay is None:
                    err.attempts = attempt
                    _explain_long_wait(err, policy.max_retry_after_s)
                    raise
                log.info(
                    "%s: %s; retry %d/%d in %.2f s",
                    context.entity,
                    err.message,
                    failures[kind],
                    policy.limit(kind),
                    delay,
                )
                self._sleep(delay)

    def _draw(self) -> float:
        with self._rng_lock:
            return self._rng.random()

    def metadata(self, namespace: str, context: RequestContext) -> bytes:
        """The namespace's ``$metadata`` document (EDMX XML), retried as :meth:`get`.

        Raises:
            BudgetExhausted, RetryableError, AuthError, RequestRejected: As :meth:`get`.
            DataContractError: The document is bigger than ``NORCE_MAX_METADATA_MB``.
        """
        fetched = self.get(
            f"{namespace}/$metadata",
            None,
            parse=_non_empty,
            context=context,
            accept="application/xml",
            limits=self._metadata_limits,
        )
        return fetched.value

    def _attempt(
        self, req: _Request[T], token: str, context: RequestContext, is_retry: bool
    ) -> Fetched[T]:
        stats, entity = context.stats, context.entity
        request = self._http.build_request(
            "GET", req.url, headers={**req.headers, "Authorization": f"Bearer {token}"}
        )
        with self.throttle.slot():
            stats.add(requests=1, retries=int(is_retry))
            started = self._clock()
            try:
                streamed = self._http.send(request, stream=True)
                try:
                    raw = read_body(
                        streamed, req.limits, started=started, clock=self._clock, entity=entity
                    )
                finally:
                    streamed.close()
            except httpx.HTTPError as exc:
                err: ExtractError = map_transport_error(exc, entity=entity, url=req.url)
                _count(stats, err)
                raise err from None
            except ExtractError as err:  # a reply over its deadline or size cap
                _count(stats, err)
                raise
        response = with_body(streamed, raw)
        stats.add(bytes=len(raw))
        log.debug("GET %s -> %d (%d bytes)", mask_url(req.url), response.status_code, len(raw))
        self._judge(response, raw, token, context)
        value = self._parse(req.parse, raw, response.status_code, req.url, context)
        self.throttle.reward()
        return Fetched(
            value=value,
            raw=raw,
            url=mask_url(req.url),
            server_date=response_date(response),
            status=response.status_code,
        )

    def _judge(
        self, response: httpx.Response, raw: bytes, token: str, context: RequestContext
    ) -> None:
        """Apply the status policy, counting what it found."""
        try:
            classify_response(response, entity=context.entity)
        except AuthError as err:  # only a 401 classifies as AuthError
            raise _Unauthorized(err, token) from None
        except RateLimited as err:
            context.stats.add(rate_limited=1)
            # Capped before it reaches the shared throttle: a wait longer than the policy
            # accepts fails this request alone; it must not pause every other request.
            cap = (context.retry or self.retry).max_retry_after_s
            wait = err.retry_after
            self.throttle.penalize(wait if wait is not None and wait <= cap else None)
            raise
        except ServerError as err:
            context.stats.add(server_errors=1)
            err.payload = raw or None
            raise

    @staticmethod
    def _parse(
        parse: Callable[[bytes], T], raw: bytes, status: int, url: str, context: RequestContext
    ) -> T:
        """``parse(raw)``; anything but an :class:`ExtractError` becomes :class:`BadPayload`."""
        try:
            return parse(raw)
        except ExtractError as err:
            if isinstance(err, BadPayload):
                context.stats.add(bad_payloads=1)
                err.payload = raw
                err.entity = err.entity or context.entity
                err.url = err.url or mask_url(url)
            raise
        except Exception as exc:
            context.stats.add(bad_payloads=1)
            raise BadPayload(
                f"unreadable response body ({type(exc).__name__}: {str(exc)[:200]})",
                status=status,
                payload=raw,
                entity=context.entity,
                url=url,
            ) from exc


@dataclass(frozen=True)
class _Request(Generic[T]):
    """One GET as the retry loop repeats it."""

    url: str
    headers: dict[str, str]
    parse: Callable[[bytes], T]
    limits: BodyLimits


def _count(stats: RequestStats, err: ExtractError) -> None:
    """Count a failed attempt that got no judged response."""
    if isinstance(err, NetworkError):
        stats.add(network_errors=1)
    elif isinstance(err, BadPayload):
        stats.add(bad_payloads=1)


def _explain_long_wait(err: RetryableError, cap: float) -> None:
    """Say why a 429 was not waited out (the partition is retried later instead)."""
    if isinstance(err, RateLimited) and err.retry_after is not None and err.retry_after > cap:
        err.message = f"{err.message}, longer than the {cap:g} s a request waits"


class _Unauthorized(Exception):
    """Internal: a 401, carrying the token it answered and the error to raise if it repeats."""

    def __init__(self, error: ExtractError, token: str) -> None:
        super().__init__(str(error))
        self.error = error
        self.token = token


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def _non_empty(raw: bytes) -> bytes:
    if not raw.strip():
        raise ValueError("empty $metadata document")
    return raw

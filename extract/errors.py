"""Every error the extractor raises, and the one place HTTP outcomes become errors.

::

    ExtractError                      .message, .hint (what to do next), .exit_code
     +-- ConfigError                  .problems: list[str]                      exit 2
     +-- RetryableError               .status, .retry_after, .url (masked)      exit 5
     |    +-- RateLimited (429)
     |    +-- ServerError (5xx)
     |    +-- NetworkError (timeout / reset / connect)
     |    +-- BadPayload (truncated / invalid JSON)
     +-- FatalError                                                             exit 4
     |    +-- AuthError (bad credentials; 401 that survives one refresh)        exit 3
     |    +-- RequestRejected (400/403/404/405; carries the OData error message)
     +-- BudgetExhausted              the run's request budget is spent         exit 0
     +-- DataContractError            missing key/cursor, incompatible drift    exit 6
     +-- StateError                   warehouse locked by another run, bad state exit 7
     +-- WarehouseError               path unwritable, disk full                exit 8

The library raises; the edge (flow, CLI) prints ``str(err)`` -- one actionable line: what
failed, for which entity set, at which masked URL, what to do next -- and exits with
``err.exit_code``. Inputs stay available as attributes. Messages pass through
:func:`extract.redact.scrub`, so a registered secret never reaches a person.

:func:`classify_response` is the single status policy; :func:`map_transport_error` is the
single translation of httpx exceptions.
"""

from __future__ import annotations

import email.utils
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import ClassVar

import httpx
import orjson

from extract.redact import mask_url, scrub

__all__ = [
    "AuthError",
    "BadPayload",
    "BudgetExhausted",
    "ConfigError",
    "DataContractError",
    "ExtractError",
    "FatalError",
    "NetworkError",
    "RateLimited",
    "RequestRejected",
    "RetryableError",
    "ServerError",
    "StateError",
    "WarehouseError",
    "classify_response",
    "map_transport_error",
    "odata_error_message",
    "parse_retry_after",
]

_MAX_DETAIL = 300
"""Longest server-provided text quoted in a message; error bodies can be whole HTML pages."""


class ExtractError(Exception):
    """Base of every extractor error.

    Attributes:
        message: What failed, in one sentence.
        hint: What to do next (may be empty).
        entity: The ``Namespace/EntitySet`` concerned, when there is one.
        url: The request URL, already masked.
    """

    exit_code: ClassVar[int] = 1
    default_hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        entity: str | None = None,
        url: str | httpx.URL | None = None,
    ) -> None:
        self.message = scrub(message)
        self.hint = scrub(hint if hint is not None else self.default_hint)
        self.entity = entity
        self.url = mask_url(url) if url is not None else None
        super().__init__(self.message)

    def _details(self) -> list[str]:
        """Extra facts for the one-line message (status, attempts); subclasses add theirs."""
        return []

    def __str__(self) -> str:
        text = self.message
        if self.entity and self.entity not in text:
            text = f"{self.entity}: {text}"
        details = self._details()
        if details:
            text = f"{text} ({', '.join(details)})"
        if self.url:
            text = f"{text} at {self.url}"
        if self.hint:
            text = f"{text} -- {self.hint}"
        return scrub(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Callable[..., ExtractError], tuple[object, ...]]:
        # Errors cross process boundaries (Prefect task results); keep the attributes.
        return _rebuild, (type(self), dict(self.__dict__))


def _rebuild(cls: type[ExtractError], state: dict[str, object]) -> ExtractError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class ConfigError(ExtractError):
    """The configuration is invalid; ``problems`` lists every problem found, not just one.

    Attributes:
        problems: One line per problem, each naming the setting and how to fix it.
    """

    exit_code: ClassVar[int] = 2

    def __init__(self, problems: Iterable[str], *, hint: str | None = None) -> None:
        self.problems = [scrub(p) for p in problems]
        count = len(self.problems)
        summary = "; ".join(self.problems) if self.problems else "unknown problem"
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"invalid configuration ({count} {noun}): {summary}",
            hint=hint
            if hint is not None
            else "fix the settings above (environment, NORCE_CONFIG file or flags)",
        )


class RetryableError(ExtractError):
    """A request failed in a way that may succeed if repeated later.

    Attributes:
        status: HTTP status, or ``None`` when no response arrived.
        retry_after: Seconds the server asked us to wait, if it said.
        attempts: How many attempts were made before giving up (set by the client).
        payload: The response body that failed, when there was one (kept for quarantine,
            never put into the message).
    """

    exit_code: ClassVar[int] = 5
    default_hint: ClassVar[str] = "transient failure; the run can be retried as is"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
        payload: bytes | None = None,
        hint: str | None = None,
        entity: str | None = None,
        url: str | httpx.URL | None = None,
    ) -> None:
        super().__init__(message, hint=hint, entity=entity, url=url)
        self.status = status
        self.retry_after = retry_after
        self.attempts = attempts
        self.payload = payload

    def _details(self) -> list[str]:
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.attempts > 1:
            details.append(f"after {self.attempts} attempts")
        return details


class RateLimited(RetryableError):
    """HTTP 429: the API asked us to slow down (``retry_after`` says for how long)."""

    default_hint: ClassVar[str] = (
        "the API is rate limiting this client; lower NORCE_MAX_RPS / NORCE_MAX_INFLIGHT "
        "or run less often"
    )


class ServerError(RetryableError):
    """HTTP 5xx: the service or a gateway failed."""

    default_hint: ClassVar[str] = (
        "the service failed; it is retried with backoff, and a page that keeps failing is "
        "shrunk until the bad record is quarantined"
    )


class NetworkError(RetryableError):
    """No usable response: connect failure, timeout, connection reset."""

    default_hint: ClassVar[str] = (
        "check NORCE_BASE_URL, DNS and network access to the host; raise NORCE_TIMEOUT_S "
        "if replies are slow"
    )


class BadPayload(RetryableError):
    """The response arrived but its body is truncated or not valid JSON."""

    default_hint: ClassVar[str] = (
        "the body was truncated or malformed; it is retried, then isolated and quarantined"
    )


class FatalError(ExtractError):
    """Repeating the same request will not help."""

    exit_code: ClassVar[int] = 4


class AuthError(FatalError):
    """Credentials were refused, or a 401 survived one token refresh."""

    exit_code: ClassVar[int] = 3
    default_hint: ClassVar[str] = (
        "check NORCE_CLIENT_ID/NORCE_CLIENT_SECRET and that the integration user may use "
        "the configured scope (NORCE_SCOPE) and application"
    )


class RequestRejected(FatalError):
    """HTTP 400/403/404/405 (and other client errors): the request itself is wrong.

    Attributes:
        status: HTTP status.
        odata_message: ``error.message`` from the OData error body, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        odata_message: str | None = None,
        hint: str | None = None,
        entity: str | None = None,
        url: str | httpx.URL | None = None,
    ) -> None:
        super().__init__(message, hint=hint, entity=entity, url=url)
        self.status = status
        self.odata_message = scrub(odata_message) if odata_message is not None else None

    def _details(self) -> list[str]:
        return [f"HTTP {self.status}"]


class BudgetExhausted(ExtractError):
    """The run's request budget is spent. Not a failure: the runner stops cleanly and the
    next run resumes from the committed state."""

    exit_code: ClassVar[int] = 0
    default_hint: ClassVar[str] = (
        "the next run resumes from the last committed batch; raise NORCE_REQUEST_BUDGET "
        "to do more per run"
    )


class DataContractError(ExtractError):
    """The data breaks the raw-table contract: missing key or cursor, incompatible drift,
    a pager that does not advance."""

    exit_code: ClassVar[int] = 6


class StateError(ExtractError):
    """Warehouse bookkeeping is unusable: locked by another run, or inconsistent state."""

    exit_code: ClassVar[int] = 7


class WarehouseError(ExtractError):
    """The warehouse file cannot be written: bad path, permissions, disk full."""

    exit_code: ClassVar[int] = 8


# --- status policy ------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header: delta-seconds or an HTTP date.

    Args:
        value: The header value, or ``None``.
        now: The moment an HTTP date is measured from; pass the response's ``Date`` so the
            delay does not depend on our clock's skew. Defaults to the current UTC time.

    Returns:
        Seconds to wait (never negative), or ``None`` when absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN -> unreadable
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    return max((moment - reference).total_seconds(), 0.0)


def response_date(response: httpx.Response) -> datetime | None:
    """The server's clock from the ``Date`` header, or ``None`` if absent or unreadable."""
    value: str | None = response.headers.get("date")
    if not value:
        return None
    try:
        moment: datetime = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def odata_error_message(response: httpx.Response) -> str | None:
    """The ``error.message`` of an OData error body, else a short excerpt of the body."""
    body = response.content
    if not body:
        return None
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = None
    if isinstance(doc, dict):
        err = doc.get("error")
        if isinstance(err, dict):
            message = err.get("message")
            if isinstance(message, dict):  # OData v3 style {"lang": .., "value": ..}
                message = message.get("value")
            if isinstance(message, str) and message:
                return scrub(message[:_MAX_DETAIL])
    text = body[:_MAX_DETAIL].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return scrub(text) if text else None


_REJECT_HINTS = {
    400: "the service rejected the query; check $filter/$select against the namespace "
    "$metadata (e.g. ApplicationId is not filterable on Core/*)",
    403: "the integration user lacks rights to this entity set or application; grant them "
    "in Norce Admin or drop the entity from NORCE_ENTITIES",
    404: "the entity set does not exist on this tenant or is reachable only via $expand; "
    "check NORCE_ENTITIES and NORCE_BASE_URL",
    405: "the service refused the method; only GET is used against the Query API",
}


def classify_response(response: httpx.Response, *, entity: str | None) -> None:
    """Apply the status policy to a response; return quietly when it succeeded.

    ====================  ==========================================================
    status                outcome
    ====================  ==========================================================
    2xx                   ok (``None``)
    429                   :class:`RateLimited`, ``retry_after`` from ``Retry-After``
                          (seconds or HTTP date, measured from the ``Date`` header)
    5xx                   :class:`ServerError` (``retry_after`` kept when sent)
    401                   :class:`AuthError` (the caller may refresh the token once)
    400/403/404/405       :class:`RequestRejected` with the OData ``error.message``
    other 4xx, 3xx        :class:`RequestRejected`
    ====================  ==========================================================

    Args:
        response: A response whose body has been read.
        entity: ``Namespace/EntitySet`` for the message, if known.

    Raises:
        RateLimited, ServerError, AuthError, RequestRejected: As in the table above.
    """
    status = response.status_code
    if 200 <= status < 300:
        return
    url = response.request.url if _has_request(response) else None
    retry_after = parse_retry_after(
        response.headers.get("retry-after"), now=response_date(response)
    )
    detail = odata_error_message(response)
    suffix = f": {detail}" if detail else ""
    if status == 429:
        wait = f"; asked to wait {retry_after:g} s" if retry_after is not None else ""
        raise RateLimited(
            f"rate limited{wait}",
            status=status,
            retry_after=retry_after,
            entity=entity,
            url=url,
        )
    if status >= 500:
        raise ServerError(
            f"server error{suffix}",
            status=status,
            retry_after=retry_after,
            entity=entity,
            url=url,
        )
    if status == 401:
        raise AuthError(f"not authorized{suffix}", entity=entity, url=url)
    if 300 <= status < 400:
        location = mask_url(response.headers.get("location"))
        raise RequestRejected(
            f"unexpected redirect to {location or 'an unknown location'}",
            status=status,
            hint="set NORCE_BASE_URL to the tenant root the redirect points at",
            entity=entity,
            url=url,
        )
    raise RequestRejected(
        f"request rejected{suffix}",
        status=status,
        odata_message=detail,
        hint=_REJECT_HINTS.get(status, "the request is not acceptable to the service"),
        entity=entity,
        url=url,
    )


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - the property raises when no request is attached
    except RuntimeError:
        return False
    return True


def map_transport_error(
    exc: httpx.HTTPError, *, entity: str | None = None, url: str | httpx.URL | None = None
) -> ExtractError:
    """Translate an httpx exception into the error tree (the only place that does).

    Args:
        exc: What httpx raised while sending or reading.
        entity: ``Namespace/EntitySet`` for the message.
        url: The request URL, if ``exc`` does not carry one.

    Returns:
        :class:`NetworkError` for timeouts, connect failures, resets and protocol errors;
        :class:`BadPayload` for a body that could not be decoded; :class:`FatalError` for a
        URL httpx cannot send to (a configuration problem).
    """
    if url is None:
        try:
            url = exc.request.url
        except RuntimeError:
            url = None
    kind = type(exc).__name__
    if isinstance(exc, httpx.DecodingError):
        return BadPayload(f"could not decode the response body ({kind})", entity=entity, url=url)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return FatalError(
            f"cannot send to this URL ({kind})",
            hint="check NORCE_BASE_URL: it must be an https:// tenant root",
            entity=entity,
            url=url,
        )
    if isinstance(exc, httpx.TimeoutException):
        what = "timed out"
    elif isinstance(exc, httpx.ConnectError):
        what = "could not connect"
    elif isinstance(exc, httpx.RemoteProtocolError):
        what = "connection dropped mid-response"
    else:
        what = "network failure"
    return NetworkError(f"{what} ({kind})", entity=entity, url=url)

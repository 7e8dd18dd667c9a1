"""The one place HTTP outcomes become errors: the status policy and httpx failures.

:func:`classify_response` is the single status policy (status -> error, with the
``Retry-After`` and the OData error message); :func:`map_transport_error` is the single
translation of httpx exceptions into the error tree of :mod:`extract.errors`.
"""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime

import httpx
import orjson

from extract.errors import (
    AuthError,
    BadPayload,
    ExtractError,
    FatalError,
    NetworkError,
    RateLimited,
    RequestRejected,
    ServerError,
)
from extract.redact import mask_url, scrub, terminal_safe

__all__ = [
    "LONGEST_RETRY_AFTER_S",
    "classify_response",
    "map_transport_error",
    "odata_error_message",
    "parse_retry_after",
    "response_date",
]

_MAX_DETAIL = 300
"""Longest server-provided text quoted in a message; error bodies can be whole HTML pages."""


LONGEST_RETRY_AFTER_S = 10 * 365 * 86400.0
"""The longest wait a ``Retry-After`` is read as (ten years). A longer one -- a huge number
of seconds, a date in year 9999 -- reads as this: far beyond any wait the client accepts,
and small enough for clock arithmetic to stay exact (no overflow)."""

_DELTA_SECONDS = re.compile(r"-?\d+(?:\.\d+)?")
"""RFC 9110 delta-seconds (digits); a fraction is tolerated, a negative number means now."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header: delta-seconds or an HTTP date.

    Anything else -- ``inf``, ``NaN``, words, a malformed date -- is no advice
    (``None``): the client then backs off as for any other 429.

    Args:
        value: The header value, or ``None``.
        now: The moment an HTTP date is measured from; pass the response's ``Date`` so the
            delay does not depend on our clock's skew. Defaults to the current UTC time.

    Returns:
        Seconds to wait, between 0 and :data:`LONGEST_RETRY_AFTER_S`, or ``None`` when
        absent or unreadable.
    """
    text = (value or "").strip()
    if not text:
        return None
    if _DELTA_SECONDS.fullmatch(text):
        return min(max(float(text), 0.0), LONGEST_RETRY_AFTER_S)
    try:
        moment = email.utils.parsedate_to_datetime(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        reference = now if now is not None else datetime.now(UTC)
        seconds = (moment - reference).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(seconds, 0.0), LONGEST_RETRY_AFTER_S)


def response_date(response: httpx.Response) -> datetime | None:
    """The server's clock from the ``Date`` header, or ``None`` if absent or unreadable."""
    value: str | None = response.headers.get("date")
    if not value:
        return None
    try:
        moment: datetime = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def odata_error_message(response: httpx.Response) -> str | None:
    """The ``error.message`` of an OData error body, else a short excerpt of the body;
    secrets scrubbed, control characters made visible
    (:func:`~extract.redact.terminal_safe`)."""
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
                return terminal_safe(scrub(message[:_MAX_DETAIL]))
    text = body[:_MAX_DETAIL].decode("utf-8", errors="replace")
    text = " ".join(text.split())
    return terminal_safe(scrub(text)) if text else None


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
        wait = f"; asked to wait {_seconds(retry_after)} s" if retry_after is not None else ""
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
    raise _rejected(response, detail, entity=entity, url=url)


def _seconds(value: float) -> str:
    return f"{value:g}" if value < 1e6 else f"{value:.0f}"


def _rejected(
    response: httpx.Response, detail: str | None, *, entity: str | None, url: httpx.URL | None
) -> RequestRejected:
    """The error for a 3xx or a 4xx other than 401 and 429."""
    status = response.status_code
    if 300 <= status < 400:
        location = mask_url(response.headers.get("location"))
        return RequestRejected(
            f"unexpected redirect to {location or 'an unknown location'}",
            status=status,
            hint="set NORCE_BASE_URL to the tenant root the redirect points at",
            entity=entity,
            url=url,
        )
    return RequestRejected(
        f"request rejected{': ' + detail if detail else ''}",
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

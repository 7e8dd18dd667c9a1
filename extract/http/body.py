"""Reading a reply's body within bounds: a total deadline and a cap on its decoded size.

httpx's timeouts are per network operation: a server that sends one byte just inside the
read timeout, forever, never times out, and a small gzip reply can inflate to gigabytes.
:func:`read_body` streams the body instead of reading it whole, counting decoded bytes (so
a gzip bomb is stopped by what it inflates to, never held whole) and checking the reply's
deadline after every chunk. A reply that stalls without sending anything is still ended
by the read timeout, so no reply takes longer than its deadline plus one read timeout.

httpx inflates each network chunk in one go: a chunk can briefly grow to about a thousand
times its size (zlib's best ratio) before it is counted, which keeps memory bounded at a
few times the cap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx

from extract.errors import BadPayload, DataContractError, ExtractError, NetworkError

__all__ = ["MIB", "BodyLimits", "read_body", "with_body"]

MIB = 1 << 20


@dataclass(frozen=True)
class BodyLimits:
    """How long a reply may take and how big it may be.

    Attributes:
        deadline_s: Seconds from sending the request to the body's last byte.
        max_bytes: Most decoded bytes accepted.
        size_setting: The setting that raises ``max_bytes``, named in the error.
        what: What the reply is, for messages (``reply``, ``$metadata``, ``token reply``).
        size_is_retryable: A body over the cap is a :class:`BadPayload` (retried; a page
            that stays too big is shrunk) rather than a :class:`DataContractError` (a
            document that cannot get smaller, such as ``$metadata``).
    """

    deadline_s: float
    max_bytes: int
    size_setting: str
    what: str = "reply"
    size_is_retryable: bool = True


def read_body(
    response: httpx.Response,
    limits: BodyLimits,
    *,
    started: float,
    clock: Callable[[], float],
    entity: str | None = None,
) -> bytes:
    """Read a streamed response's decoded body, or fail once it breaks a limit.

    Args:
        response: A response sent with ``stream=True``; the caller closes it.
        limits: The deadline and size cap.
        started: ``clock()`` when the request was sent.
        clock: Monotonic seconds.
        entity: ``Namespace/EntitySet`` for messages.

    Raises:
        NetworkError: The deadline passed before the body was complete (retryable).
        BadPayload, DataContractError: The body is bigger than ``limits.max_bytes``
            (see :attr:`BodyLimits.size_is_retryable`).
        httpx.HTTPError: From the transport, for the caller to translate.
    """
    url = response.request.url
    declared = _declared_size(response)
    if declared is not None and declared > limits.max_bytes:
        raise _too_large(limits, declared, entity, url)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limits.max_bytes:
            raise _too_large(limits, size, entity, url)
        chunks.append(chunk)
        if clock() - started > limits.deadline_s:
            raise _too_slow(limits, size, entity, url)
    return b"".join(chunks)


def with_body(response: httpx.Response, body: bytes) -> httpx.Response:
    """A complete copy of a streamed ``response`` holding its decoded ``body``, so the status
    policy can read ``.content`` (the copy drops the encoding headers: the body is decoded)."""
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    return httpx.Response(
        response.status_code,
        headers=headers,
        content=body,
        request=response.request,
        extensions=response.extensions,
    )


def _declared_size(response: httpx.Response) -> int | None:
    """The ``Content-Length`` of an unencoded body (an encoded one only hints at its size)."""
    if response.headers.get("content-encoding", "identity").strip().lower() != "identity":
        return None
    try:
        return int(response.headers["content-length"])
    except (KeyError, ValueError):
        return None


def _too_large(limits: BodyLimits, size: int, entity: str | None, url: httpx.URL) -> ExtractError:
    cap_mb = limits.max_bytes / MIB
    message = f"{limits.what} larger than {cap_mb:g} MB ({limits.size_setting}); refused"
    if limits.size_is_retryable:
        return BadPayload(
            message,
            status=200,
            hint=f"a page that stays this big is shrunk; raise {limits.size_setting} if "
            "pages of this set are really that large",
            entity=entity,
            url=url,
        )
    return DataContractError(
        message,
        hint=f"raise {limits.size_setting} if the service's {limits.what} is really that big",
        entity=entity,
        url=url,
    )


def _too_slow(limits: BodyLimits, size: int, entity: str | None, url: httpx.URL) -> NetworkError:
    return NetworkError(
        f"{limits.what} not complete after {limits.deadline_s:g} s ({size} bytes received); "
        "gave up on it",
        hint="the server sends too slowly; it is retried, and NORCE_REPLY_DEADLINE_S "
        "(or NORCE_TIMEOUT_S) allows more time per reply",
        entity=entity,
        url=url,
    )

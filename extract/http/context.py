"""What a request is for, and what a successful one returns.

A :class:`RequestContext` is bound once per partition (or sweep, or planning step) and
passed with every :meth:`~extract.http.client.QueryClient.get`; a :class:`Fetched` is the
parsed body with its request context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from extract.http.retry import RetryPolicy
from extract.http.stats import RequestStats

__all__ = ["Fetched", "RequestContext"]

T = TypeVar("T")


@dataclass(frozen=True)
class RequestContext:
    """What the requests of one partition (or sweep, or planning step) are for.

    Attributes:
        entity: ``Namespace/EntitySet`` named in messages and errors.
        application_id: Sent as the ``applicationId`` header; ``None``: the client's
            context application (the header goes on every call once one is known).
        stats: Counts every attempt, retry, error and byte.
        retry: The retry policy; ``None`` uses the client's (``NORCE_MAX_RETRIES``).
    """

    entity: str
    application_id: int | None = None
    stats: RequestStats = field(default_factory=RequestStats)
    retry: RetryPolicy | None = None


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

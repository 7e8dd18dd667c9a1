"""Shrink-to-quarantine: one page fetch that survives a bad record.

:class:`ShrinkingFetch` wraps the fetch of the page at a cursor. A page that still fails
after the client's retries (5xx, unreadable body) is shrunk: its ``$top`` is halved at the
same position until it succeeds. If even ``$top=1`` fails, the record there is isolated: the
next good record is found with ``$top=1&$skip=k``, a :class:`Quarantined` is yielded for the
key range between the last good record and that one, and paging carries on from it. Rate
limits and network errors that outlast the retries, and fatal errors, propagate without
shrinking -- a smaller page would not help them.

After a success the page grows back (doubling) up to the size that last failed; once a bad
record is isolated, the size was not the problem and the full ``$top`` is allowed again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Generic, TypeVar

from extract.errors import BadPayload, ServerError
from extract.http.client import Fetched
from extract.paging.cursors import Cursor, DecodedPage, Request

__all__ = ["MAX_CONSECUTIVE_BAD", "Quarantined", "ShrinkingFetch"]

log = logging.getLogger(__name__)

P = TypeVar("P", bound=DecodedPage)

MAX_CONSECUTIVE_BAD = 5
"""Failing records in a row isolated before deciding the set itself is broken."""

Fetch = Callable[[Request, bool], Fetched[P]]
"""``fetch(request, narrowing)``: send one request; ``narrowing`` asks for fewer retries of
5xx/unreadable bodies (the page size, not patience, is the remedy then)."""


@dataclass(frozen=True)
class Quarantined:
    """Records that could not be read even one at a time; stored and reported, not dropped.

    The bad records lie strictly between ``key_after`` and ``key_before`` in key order.
    """

    entity: str
    """``Namespace/EntitySet``."""
    url: str
    """The failing ``$top=1`` request, masked."""
    key_after: tuple[object, ...] | None
    """Key of the last good record before the bad ones (``None``: from the start)."""
    key_before: tuple[object, ...] | None
    """Key of the first good record after them (``None``: to the end)."""
    skip: int | None
    """Offset of the first bad record (``skip``/``nextlink`` paging; ``None`` for keyset)."""
    error: str
    """The last error, one line."""
    payload: bytes | None
    """The failing response body, when there was one."""


class ShrinkingFetch(Generic[P]):
    """Fetch the next good page at a cursor, shrinking and isolating around bad records.

    Args:
        fetch: Sends one request (see :data:`Fetch`).
        top: The query's ``$top``: the page size to start from and grow back to.
        entity: ``Namespace/EntitySet`` for messages and quarantine records.
    """

    def __init__(self, fetch: Fetch[P], top: int, entity: str) -> None:
        if top < 1:
            raise ValueError("PageQuery.top must be >= 1")
        self._fetch = fetch
        self._full = top
        self.top = top
        """``$top`` of the next request."""
        self._limit = top  # lowered after a page that failed only at its size
        self._failing = False  # inside a shrink/isolate streak (since the last success)

    def next(
        self, cursor: Cursor, *, first: bool
    ) -> Generator[Quarantined, None, tuple[Fetched[P], Request] | None]:
        """Fetch the page at ``cursor``; yields a :class:`Quarantined` per bad spot passed.

        Args:
            cursor: Where the page is.
            first: No page of the pass was delivered yet (count it; give up quickly).

        Returns:
            The fetched page and its request, or ``None`` when isolating found the end.

        Raises:
            RetryableError: 429/network failures that outlasted retries; 5xx/bad bodies at
                more than :data:`MAX_CONSECUTIVE_BAD` records in a row (one, before any
                page succeeded).
        """
        while True:
            request = cursor.request(self.top, count=first)
            try:
                fetched = self._fetch(request, self._narrowing() and self.top > 1)
            except (ServerError, BadPayload) as err:
                self._failing = True
                if self.top > 1:
                    self._shrink(err, cursor)
                    continue
                got = yield from self._isolate(err, cursor, first)
                self._failing = False
                return got
            self._failing = False
            return fetched, request

    def grow(self) -> None:
        """A page was delivered: ask for twice as many rows next time, up to the limit."""
        self.top = min(self._limit, self.top * 2)

    def _narrowing(self) -> bool:
        """True from a failed page until its bad record is isolated (or the size settles):
        requests then are probes of a known problem, not of a flaky service."""
        return self._failing or self._limit < self._full

    def _shrink(self, err: ServerError | BadPayload, cursor: Cursor) -> None:
        failed = self.top
        self.top = max(1, failed // 2)
        # Until a record is isolated, assume the size was the problem: don't grow back to it.
        self._limit = self.top
        cursor.forget_link()
        log.warning(
            "%s: page of %d failed (%s); retrying with $top=%d",
            cursor.query.path,
            failed,
            err.message,
            self.top,
        )

    def _isolate(
        self, err: ServerError | BadPayload, cursor: Cursor, first: bool
    ) -> Generator[Quarantined, None, tuple[Fetched[P], Request] | None]:
        """Quarantine the record(s) at the cursor; return the next good record's page."""
        first_bad = cursor.skip_of_next
        last_err = err
        # Before any page succeeded, a failing first record and a failing neighbour mean the
        # set itself is broken (some tenants 500 on whole sets): give up quickly then.
        for k in range(1, (1 if first else MAX_CONSECUTIVE_BAD) + 1):
            probe = cursor.request(1, probe=k)
            try:
                # A single-row request that would declare a record bad gets every retry: a
                # random 5xx must never quarantine a good record.
                fetched = self._fetch(probe, False)
            except (ServerError, BadPayload) as probe_err:
                last_err = probe_err
                continue
            page = fetched.value
            before = page.last_key if page.row_count else None
            log.error(
                "%s: quarantined %s after key %s (before %s): %s",
                cursor.query.path,
                "record" if k == 1 else f"{k} records",
                cursor.after,
                before,
                err.message,
            )
            yield Quarantined(
                entity=cursor.query.path,
                url=err.url or "",
                key_after=cursor.after,
                key_before=before,
                skip=first_bad,
                error=str(err),
                payload=err.payload,
            )
            if page.row_count == 0:
                return None
            cursor.passed(k)
            self._limit = self._full  # the record was the problem, not the size
            self.top = 1  # grows back from the one-record page
            return fetched, probe
        raise last_err

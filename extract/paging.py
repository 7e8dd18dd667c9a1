"""Page through one partition of an entity set: keyset, nextLink or ``$skip`` paging.

:func:`iter_pages` yields each page with its request context, in order, and never loops: a
key that does not advance or a ``@odata.nextLink`` seen twice raises
:class:`~extract.errors.DataContractError`. The server clamps ``$top`` to 500, so the end of
the data is a page with no rows, or a short page (fewer rows than ``min($top, 500)``) with
no nextLink -- never just "fewer rows than asked".

A page that still fails after the client's retries (5xx, unreadable body) is shrunk: its
``$top`` is halved at the same position until it succeeds. If even ``$top=1`` fails, the
record there is isolated: the pager finds the next good record (``$top=1&$skip=k``), yields
a :class:`Quarantined` for the key range between the last good record and that one, and
carries on. Rate limits and network errors that outlast the retries, and fatal errors,
propagate without shrinking -- a smaller page would not help them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, Protocol, TypeVar
from urllib.parse import urljoin

from extract.client import Fetched, QueryClient
from extract.errors import BadPayload, DataContractError, ServerError
from extract.odata import after_key_filter, and_filters, odata_literal
from extract.redact import mask_url
from extract.stats import RequestStats

__all__ = [
    "SERVER_PAGE_CAP",
    "DecodedPage",
    "PageQuery",
    "PageResult",
    "Quarantined",
    "Strategy",
    "after_key_filter",
    "iter_pages",
    "odata_literal",
]

log = logging.getLogger(__name__)

SERVER_PAGE_CAP = 500
"""Most rows the Query API returns per page, whatever ``$top`` asks."""
MAX_CONSECUTIVE_BAD = 5
"""Failing records in a row the pager isolates before deciding the set itself is broken."""
SHRINK_RETRIES = 1
"""Client retries of 5xx/unreadable bodies per request while shrinking or isolating: the
first failure already used the full retry count, and a smaller page, not patience, is the
remedy now. 429s and network errors keep their full retries."""

Strategy = Literal["keyset", "nextlink", "skip"]


class DecodedPage(Protocol):
    """What the pager needs from a decoded page (``extract.records`` provides it)."""

    @property
    def row_count(self) -> int:
        """Top-level rows on the page."""

    @property
    def last_key(self) -> tuple[object, ...] | None:
        """Key of the last top-level row in page order; ``None`` on an empty page."""

    @property
    def next_link(self) -> str | None:
        """``@odata.nextLink``, if the server sent one."""

    @property
    def count(self) -> int | None:
        """``@odata.count``, when asked for."""


P = TypeVar("P", bound=DecodedPage)


@dataclass(frozen=True)
class PageQuery:
    """One partition's query."""

    path: str
    """Entity set path, e.g. ``Orders/Orders``."""
    key: tuple[str, ...]
    """Key columns, e.g. ``("Id",)``; the page order."""
    filter: str | None = None
    """``$filter`` of the partition, e.g. ``ApplicationId eq 1 and (Updated ge ...)``."""
    select: str | None = None
    """``$select``."""
    expand: str | None = None
    """``$expand``."""
    top: int = SERVER_PAGE_CAP
    """``$top`` per request (the server clamps it to 500)."""
    count: bool = False
    """Ask ``$count=true`` on the first page only."""


@dataclass(frozen=True)
class PageResult(Generic[P]):
    """One delivered page with its request context."""

    page: P
    """The decoded page."""
    raw: bytes
    """The response body."""
    url: str
    """The request URL, masked."""
    request_index: int
    """0-based position of this page among the pages this iteration yielded."""
    server_date: datetime | None
    """The response's ``Date`` header."""


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


# --- the pager ----------------------------------------------------------------------------


def iter_pages(
    client: QueryClient,
    query: PageQuery,
    *,
    strategy: Strategy,
    start_after: tuple[object, ...] | None = None,
    application_id: int | None,
    entity: str,
    stats: RequestStats,
    decode: Callable[[bytes], P],
) -> Iterator[PageResult[P] | Quarantined]:
    """Yield every page of ``query`` in key order, and a :class:`Quarantined` per bad spot.

    Args:
        client: The Query API client (retries single requests).
        query: Path, key, options and page size.
        strategy: ``keyset`` (``Key gt last``; composite keys compare lexicographically),
            ``nextlink`` (follow
            ``@odata.nextLink`` verbatim), ``skip`` (``$skip`` offsets).
        start_after: Resume strictly after this key (any strategy; a lexicographic filter
            for composite keys).
        application_id: ``applicationId`` header.
        entity: ``Namespace/EntitySet`` for messages and quarantine records.
        stats: Request counters.
        decode: Body -> page; raise :class:`BadPayload` for an unreadable body.

    Raises:
        DataContractError: The key does not advance, a nextLink repeats, rows lack a key,
            or numeric keys come back out of order.
        RetryableError: 429/network failures that outlasted retries; 5xx/bad bodies at
            more than :data:`MAX_CONSECUTIVE_BAD` records in a row (one, before any page
            succeeded).
        FatalError, BudgetExhausted: From the client, unchanged.
    """
    if strategy not in ("keyset", "nextlink", "skip"):
        raise ValueError(f"unknown paging strategy {strategy!r}")
    if query.top < 1:
        raise ValueError("PageQuery.top must be >= 1")
    pager = _Pager(client, query, strategy, start_after, application_id, entity, stats, decode)
    return pager.run()


class _Pager(Generic[P]):
    def __init__(
        self,
        client: QueryClient,
        query: PageQuery,
        strategy: Strategy,
        start_after: tuple[object, ...] | None,
        application_id: int | None,
        entity: str,
        stats: RequestStats,
        decode: Callable[[bytes], P],
    ) -> None:
        self.client = client
        self.query = query
        self.strategy = strategy
        self.application_id = application_id
        self.entity = entity
        self.stats = stats
        self.decode = decode
        self.base_url = client.query_url(query.path)
        # Fixed lower bound for skip/nextlink (offsets count from it); keyset moves it.
        self.start_filter = (
            None if start_after is None else after_key_filter(query.key, start_after)
        )
        self.after = start_after  # key of the last delivered record
        self.offset = 0  # records delivered or quarantined since start_after
        self.next_link: str | None = None
        self.seen_links: set[str] = set()
        self.cap = SERVER_PAGE_CAP
        self.top = query.top
        self.top_limit = query.top  # lowered after a page that failed only at its size
        self.first = True
        self.index = 0
        self.failing = False  # inside a shrink/isolate streak (since the last success)
        # nextlink paging: rows since the last explicit request, and the $top it asked for
        self.chain_rows = 0
        self.chain_top = query.top

    # -- requests -----------------------------------------------------------------------------

    def _request(self, top: int, probe: int = 0) -> tuple[str, dict[str, str] | None]:
        """Target and params for the next request; ``probe`` skips that many extra records."""
        if self.next_link is not None and probe == 0 and top == self.query.top:
            return self.next_link, None
        q = self.query
        if self.strategy == "keyset":
            position = None if self.after is None else after_key_filter(q.key, self.after)
            skip = probe
        else:
            position = self.start_filter
            skip = self.offset + probe
        params: dict[str, str] = {}
        flt = and_filters(q.filter, position)
        if flt:
            params["$filter"] = flt
        if q.select:
            params["$select"] = q.select
        if q.expand:
            params["$expand"] = q.expand
        params["$orderby"] = ",".join(q.key)
        params["$top"] = str(top)
        if skip:
            params["$skip"] = str(skip)
        if self.first and q.count and probe == 0:
            params["$count"] = "true"
        return self.base_url, params

    def _get(self, target: str, params: dict[str, str] | None) -> Fetched[P]:
        return self.client.get(
            target,
            params,
            application_id=self.application_id,
            entity=self.entity,
            stats=self.stats,
            parse=self.decode,
            # Halving steps retry little (size, not patience, is the remedy), but the single-row
            # request that would declare a record bad gets every retry: a random 5xx must
            # never quarantine a good record.
            page_retries=SHRINK_RETRIES if self._narrowing() and self.top > 1 else None,
        )

    def _narrowing(self) -> bool:
        """True from a failed page until its bad record is isolated (or the size settles):
        requests then are probes of a known problem, not of a flaky service."""
        return self.failing or self.top_limit < self.query.top

    def _result(self, fetched: Fetched[P]) -> PageResult[P]:
        result = PageResult(
            fetched.value, fetched.raw, fetched.url, self.index, fetched.server_date
        )
        self.index += 1
        return result

    # -- the loop -----------------------------------------------------------------------------

    def run(self) -> Iterator[PageResult[P] | Quarantined]:
        while True:
            target, params = self._request(self.top)
            via_link = params is None
            try:
                fetched = self._get(target, params)
            except (ServerError, BadPayload) as err:
                self.failing = True
                if self.top > 1:
                    self._shrink(err)
                    continue
                ended = yield from self._isolate(err)
                self.failing = False
                if ended:
                    return
                continue
            self.failing = False
            if not via_link:
                self.chain_rows, self.chain_top = 0, self.top
            self.first = False
            yield self._result(fetched)
            requested = self.query.top if via_link else self.top
            if self._advance(fetched.value, requested, via_link):
                return
            self.top = min(self.top_limit, self.top * 2)

    def _shrink(self, err: ServerError | BadPayload) -> None:
        failed = self.top
        self.top = max(1, failed // 2)
        # Until a record is isolated, assume the size was the problem: don't grow back to it.
        self.top_limit = self.top
        # Leave nextLinks for explicit offsets: a link cannot be asked for fewer rows.
        self.next_link = None
        log.warning(
            "%s: page of %d failed (%s); retrying with $top=%d",
            self.entity,
            failed,
            err.message,
            self.top,
        )

    def _isolate(
        self, err: ServerError | BadPayload
    ) -> Generator[PageResult[P] | Quarantined, None, bool]:
        """Quarantine the record(s) at the current position; returns True at the end."""
        bad_url = err.url or ""
        first_bad = None if self.strategy == "keyset" else self.offset
        last_err = err
        # Before any page succeeded, a failing first record and a failing neighbour mean the
        # set itself is broken (some tenants 500 on whole sets): give up quickly then.
        probes = MAX_CONSECUTIVE_BAD if self.index else 1
        for k in range(1, probes + 1):
            target, params = self._request(1, probe=k)
            try:
                fetched = self._get(target, params)
            except (ServerError, BadPayload) as probe_err:
                last_err = probe_err
                continue
            page = fetched.value
            before = page.last_key if page.row_count else None
            noun = "record" if k == 1 else f"{k} records"
            log.error(
                "%s: quarantined %s after key %s (before %s): %s",
                self.entity,
                noun,
                self.after,
                before,
                err.message,
            )
            yield Quarantined(
                entity=self.entity,
                url=bad_url,
                key_after=self.after,
                key_before=before,
                skip=first_bad,
                error=str(err),
                payload=err.payload,
            )
            if page.row_count == 0:
                return True
            self.offset += k
            self.top_limit = self.query.top  # the record was the problem, not the size
            self.first = False
            yield self._result(fetched)
            self.chain_rows, self.chain_top = 0, 1
            ended = self._advance(page, 1, via_link=False)
            self.top = min(self.top_limit, 2)
            return ended
        raise last_err

    def _advance(self, page: P, requested: int, via_link: bool) -> bool:
        """Move past a delivered page; True when it was the last one."""
        rows = page.row_count
        link = page.next_link
        if rows == 0:
            if link is not None and self.strategy == "nextlink":
                self._follow(link)
                return False
            return True
        key = page.last_key
        if key is None:
            raise DataContractError(
                "a page has rows but no key; the key columns must be selected",
                entity=self.entity,
            )
        if self.after is not None:
            if key == self.after:
                raise DataContractError(
                    f"paging does not advance: key {key} repeats",
                    entity=self.entity,
                    hint="the service ignored the paging options; check $orderby support",
                )
            if self.strategy == "keyset" and _not_after(key, self.after):
                raise DataContractError(
                    f"keys are not ascending: {key} after {self.after}",
                    entity=self.entity,
                    hint="the service ignored $orderby; use nextlink paging for this set",
                )
        self.after = key
        self.offset += rows
        self.chain_rows += rows
        expected = min(requested, self.cap)
        if link is not None and rows < expected:
            self.cap = rows  # the server pages smaller than we thought
        if self.strategy == "nextlink":
            return self._chain_ended(rows, link)
        return link is None and rows < expected

    def _chain_ended(self, rows: int, link: str | None) -> bool:
        """End rule for nextlink paging: one explicit request plus the links it leads to.

        Servers read ``$top`` two ways: as a page size (links go on to the end of the data)
        or, per OData, as a total for the chain (links stop after ``$top`` rows). More rows
        than ``$top`` in a chain proves the first; a chain stopping at exactly ``$top`` rows
        may be the second, so the pager continues with an explicit ``$skip``.
        """
        if link is not None:
            if self.chain_top == self.query.top:
                self._follow(link)
            else:
                self.next_link = None  # shrunk: continue by explicit offsets
            return False
        self.next_link = None
        if self.chain_rows > self.chain_top:
            return True
        return self.chain_rows < self.chain_top and rows < min(self.chain_top, self.cap)

    def _follow(self, link: str) -> None:
        # Relative links resolve against the request URL, as OData prescribes.
        url = urljoin(self.base_url, link)
        if url in self.seen_links:
            raise DataContractError(
                f"@odata.nextLink repeats: {mask_url(url)}",
                entity=self.entity,
                hint="the service's paging is looping; try keyset or skip paging for this set",
            )
        self.seen_links.add(url)
        self.next_link = url


def _not_after(key: tuple[object, ...], after: tuple[object, ...]) -> bool:
    # Strings are ordered by the tenant's collation (SQL Server's is case-insensitive), not
    # by Python's code points: only numbers, dates and the like can be judged here.
    if any(isinstance(v, str) for v in (*key, *after)):
        return False
    try:
        return bool(key <= after)
    except TypeError:
        return False  # incomparable values (None, mixed types): cannot judge, trust the server

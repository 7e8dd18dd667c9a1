"""Where the next page is: keyset, nextLink and ``$skip`` cursors.

A cursor only decides "the next request, or stop". It builds the request for a page of
``top`` rows at its position (:meth:`Cursor.request`), and moves past each delivered page
(:meth:`Cursor.delivered`, true at the end). It never loops: a key that does not advance or
a ``@odata.nextLink`` seen twice raises :class:`~extract.errors.DataContractError`.

The server clamps ``$top`` to 500, so the end of the data is a page with no rows, or a short
page (fewer rows than ``min($top, 500)``) with no nextLink -- never just "fewer rows than
asked". Real tenants need all three strategies: keyset (``Key gt last``; composite keys
compare lexicographically) is safe at any depth; nextLink follows the server's own links;
``$skip`` offsets are the fallback when neither works.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol
from urllib.parse import urljoin

from extract.errors import DataContractError
from extract.paging.odata import after_key_filter, and_filters
from extract.redact import mask_url

__all__ = [
    "SERVER_PAGE_CAP",
    "Cursor",
    "DecodedPage",
    "KeysetCursor",
    "NextLinkCursor",
    "PageQuery",
    "Request",
    "SkipCursor",
    "Strategy",
    "cursor_for",
]

SERVER_PAGE_CAP = 500
"""Most rows the Query API returns per page, whatever ``$top`` asks."""

Strategy = Literal["keyset", "nextlink", "skip"]


class DecodedPage(Protocol):
    """What paging needs from a decoded page (:mod:`extract.decode` provides it)."""

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
    ordered: bool = True
    """Send ``$orderby=<key>`` (off for a tenant that refuses it: pages in server order)."""


@dataclass(frozen=True)
class Request:
    """One page request: a target and its query options, or a nextLink to follow verbatim."""

    target: str
    """A set path (``Orders/Orders``) or an absolute nextLink URL."""
    params: dict[str, str] | None
    """Query options; ``None`` for a nextLink."""
    top: int
    """Rows asked for (for a nextLink: the ``$top`` of the chain it continues)."""

    @property
    def via_link(self) -> bool:
        """True for a followed ``@odata.nextLink``."""
        return self.params is None


class Cursor:
    """Position in one partition's rows, and the rule for the end of the data.

    Args:
        query: The partition's query.
        start_after: Resume strictly after this key.
    """

    def __init__(self, query: PageQuery, start_after: tuple[object, ...] | None) -> None:
        self.query = query
        self.after = start_after
        """Key of the last delivered record."""
        self.offset = 0
        """Records delivered or passed over since ``start_after``."""
        self.cap = SERVER_PAGE_CAP
        """Rows the server sends per page at most (lowered when it pages smaller)."""

    # -- requests -------------------------------------------------------------------------

    def request(self, top: int, *, probe: int = 0, count: bool = False) -> Request:
        """The request for ``top`` rows here, skipping ``probe`` more records first.

        Args:
            top: Rows to ask for.
            probe: Extra records to skip (isolating a bad record probes past it).
            count: Add ``$count=true`` (the first page of a pass).
        """
        q = self.query
        position, skip = self._position(probe)
        params: dict[str, str] = {}
        flt = and_filters(q.filter, position)
        if flt:
            params["$filter"] = flt
        if q.select:
            params["$select"] = q.select
        if q.expand:
            params["$expand"] = q.expand
        if q.ordered:
            params["$orderby"] = ",".join(q.key)
        params["$top"] = str(top)
        if skip:
            params["$skip"] = str(skip)
        if count and q.count and probe == 0:
            params["$count"] = "true"
        return Request(q.path, params, top)

    def _position(self, probe: int) -> tuple[str | None, int]:
        """The position filter and the ``$skip`` of the next request."""
        raise NotImplementedError

    @property
    def skip_of_next(self) -> int | None:
        """Offset of the next record for strategies that count offsets (else ``None``)."""
        return self.offset

    def passed(self, records: int) -> None:
        """``records`` records here were quarantined; move past them."""
        self.offset += records

    def forget_link(self) -> None:
        """Continue by explicit requests (a link cannot be asked for fewer rows)."""

    # -- moving past a page ---------------------------------------------------------------

    def delivered(self, page: DecodedPage, request: Request) -> bool:
        """Move past a delivered page; True when it was the last one.

        Raises:
            DataContractError: Rows without a key, a key that does not advance, keys out
                of order, or a nextLink seen before.
        """
        rows = page.row_count
        if rows == 0:
            return self._ended_empty(page)
        self._move_past(page)
        expected = min(request.top, self.cap)
        if page.next_link is not None and rows < expected:
            self.cap = rows  # the server pages smaller than we thought
        return self._ended(page, rows, expected)

    def _ended_empty(self, page: DecodedPage) -> bool:
        return True

    def _ended(self, page: DecodedPage, rows: int, expected: int) -> bool:
        return page.next_link is None and rows < expected

    def _move_past(self, page: DecodedPage) -> None:
        key = page.last_key
        if key is None:
            raise DataContractError(
                "a page has rows but no key; the key columns must be selected",
                entity=self.query.path,
            )
        if self.after is not None:
            if key == self.after:
                raise DataContractError(
                    f"paging does not advance: key {key} repeats",
                    entity=self.query.path,
                    hint="the service ignored the paging options; check $orderby support",
                )
            self._check_order(key, self.after)
        self.after = key
        self.offset += page.row_count

    def _check_order(self, key: tuple[object, ...], after: tuple[object, ...]) -> None:
        """Offset strategies trust the server's order."""


class KeysetCursor(Cursor):
    """``$filter=<key> gt <last>&$orderby=<key>``: the position is the last key."""

    def _position(self, probe: int) -> tuple[str | None, int]:
        position = None if self.after is None else after_key_filter(self.query.key, self.after)
        return position, probe

    @property
    def skip_of_next(self) -> int | None:
        return None

    def _check_order(self, key: tuple[object, ...], after: tuple[object, ...]) -> None:
        if _not_after(key, after):
            raise DataContractError(
                f"keys are not ascending: {key} after {after}",
                entity=self.query.path,
                hint="the service ignored $orderby; use nextlink paging for this set",
            )


class SkipCursor(Cursor):
    """``$skip`` offsets counted from a fixed lower bound (the resume key, if any)."""

    def __init__(self, query: PageQuery, start_after: tuple[object, ...] | None) -> None:
        super().__init__(query, start_after)
        self._start = None if start_after is None else after_key_filter(query.key, start_after)

    def _position(self, probe: int) -> tuple[str | None, int]:
        return self._start, self.offset + probe


class NextLinkCursor(SkipCursor):
    """Follow ``@odata.nextLink`` verbatim; explicit ``$skip`` requests where links stop.

    Servers read ``$top`` two ways: as a page size (links go on to the end of the data) or,
    per OData, as a total for the chain (links stop after ``$top`` rows). A chain is one
    explicit request plus the links it leads to; more rows than ``$top`` in a chain proves
    the first reading, a chain stopping at exactly ``$top`` rows may be the second, so the
    cursor continues with an explicit ``$skip``.

    Args:
        query: The partition's query.
        start_after: Resume strictly after this key.
        base_url: The set's URL; relative links resolve against it, as OData prescribes.
    """

    def __init__(
        self, query: PageQuery, start_after: tuple[object, ...] | None, base_url: str
    ) -> None:
        super().__init__(query, start_after)
        self._base_url = base_url
        self._link: str | None = None
        self._seen: set[str] = set()
        self._chain_rows = 0
        self._chain_top = query.top

    def request(self, top: int, *, probe: int = 0, count: bool = False) -> Request:
        if self._link is not None and probe == 0 and top == self.query.top:
            return Request(self._link, None, self.query.top)
        return super().request(top, probe=probe, count=count)

    def forget_link(self) -> None:
        self._link = None

    def delivered(self, page: DecodedPage, request: Request) -> bool:
        if not request.via_link:
            self._chain_rows, self._chain_top = 0, request.top
        self._chain_rows += page.row_count
        return super().delivered(page, request)

    def _ended_empty(self, page: DecodedPage) -> bool:
        if page.next_link is not None:
            self._follow(page.next_link)
            return False
        return True

    def _ended(self, page: DecodedPage, rows: int, expected: int) -> bool:
        link = page.next_link
        if link is not None:
            if self._chain_top == self.query.top:
                self._follow(link)
            else:
                self._link = None  # shrunk: continue by explicit offsets
            return False
        self._link = None
        if self._chain_rows > self._chain_top:
            return True
        return self._chain_rows < self._chain_top and rows < min(self._chain_top, self.cap)

    def _follow(self, link: str) -> None:
        url = urljoin(self._base_url, link)
        if url in self._seen:
            raise DataContractError(
                f"@odata.nextLink repeats: {mask_url(url)}",
                entity=self.query.path,
                hint="the service's paging is looping; try keyset or skip paging for this set",
            )
        self._seen.add(url)
        self._link = url


def cursor_for(
    strategy: Strategy,
    query: PageQuery,
    start_after: tuple[object, ...] | None,
    base_url: str,
) -> Cursor:
    """The cursor of ``strategy`` for ``query``, resuming after ``start_after``.

    Raises:
        ValueError: Unknown strategy.
    """
    if strategy == "keyset":
        return KeysetCursor(query, start_after)
    if strategy == "skip":
        return SkipCursor(query, start_after)
    if strategy == "nextlink":
        return NextLinkCursor(query, start_after, base_url)
    raise ValueError(f"unknown paging strategy {strategy!r}")


def _not_after(key: tuple[object, ...], after: tuple[object, ...]) -> bool:
    # Strings are ordered by the tenant's collation (SQL Server's is case-insensitive), not
    # by Python's code points: only numbers, dates and the like can be judged here.
    if any(isinstance(v, str) for v in (*key, *after)):
        return False
    try:
        return bool(key <= after)
    except TypeError:
        return False  # incomparable values (None, mixed types): cannot judge, trust the server

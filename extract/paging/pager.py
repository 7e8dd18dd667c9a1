"""Page through one partition of an entity set: the request loop.

:func:`iter_pages` asks the cursor (:mod:`extract.paging.cursors`: keyset, nextLink or
``$skip``) for the next request, fetches it through the shrink-to-quarantine wrapper
(:mod:`extract.paging.quarantine`), yields each page with its request context, in order, and
a :class:`Quarantined` per bad spot, until the cursor says the data ended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Generic, TypeVar

from extract.errors import DataContractError
from extract.http.client import Fetched, QueryClient, RequestContext
from extract.paging.cursors import (
    SERVER_PAGE_CAP,
    Cursor,
    DecodedPage,
    PageQuery,
    Request,
    Strategy,
    cursor_for,
)
from extract.paging.quarantine import MAX_CONSECUTIVE_BAD, Quarantined, ShrinkingFetch

__all__ = [
    "MAX_CONSECUTIVE_BAD",
    "SERVER_PAGE_CAP",
    "DecodedPage",
    "PageQuery",
    "PageResult",
    "Quarantined",
    "Strategy",
    "check_page_size",
    "iter_pages",
]

P = TypeVar("P", bound=DecodedPage)


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


def iter_pages(
    client: QueryClient,
    query: PageQuery,
    *,
    strategy: Strategy,
    context: RequestContext,
    decode: Callable[[bytes], P],
    start_after: tuple[object, ...] | None = None,
) -> Iterator[PageResult[P] | Quarantined]:
    """Yield every page of ``query`` in key order, and a :class:`Quarantined` per bad spot.

    Args:
        client: The Query API client (retries single requests).
        query: Path, key, options and page size.
        strategy: ``keyset``, ``nextlink`` or ``skip`` (see :mod:`extract.paging.cursors`).
        context: Entity, ``applicationId`` header, counters and retry policy of the
            requests; while a failing page is shrunk its 5xx retries are lowered.
        decode: Body -> page; raise :class:`~extract.errors.BadPayload` for an unreadable
            body.
        start_after: Resume strictly after this key (any strategy; a lexicographic filter
            for composite keys).

    Raises:
        DataContractError: The key does not advance, a nextLink repeats, rows lack a key,
            numeric keys come back out of order, or a page has more rows than ``$top``.
        RetryableError: 429/network failures that outlasted retries; 5xx/bad bodies at
            more than :data:`MAX_CONSECUTIVE_BAD` records in a row (one, before any page
            succeeded).
        FatalError, BudgetExhausted: From the client, unchanged.
    """
    cursor = cursor_for(strategy, query, start_after, client.query_url(query.path))
    narrowed = replace(context, retry=(context.retry or client.retry).for_shrinking())

    def fetch(request: Request, narrowing: bool) -> Fetched[P]:
        fetched = client.get(
            request.target,
            request.params,
            parse=decode,
            context=narrowed if narrowing else context,
        )
        check_page_size(fetched.value, request, query.path)
        return fetched

    pages = ShrinkingFetch(fetch, query.top, query.path)
    return _pages(cursor, pages)


def check_page_size(page: DecodedPage, request: Request, path: str) -> None:
    """A page may hold fewer rows than ``$top`` asked, never more: a service that ignores
    ``$top`` cannot be paged safely, and the page is refused whole (nothing of it stored).

    Raises:
        DataContractError: The page has more rows than the request's ``$top``.
    """
    if request.via_link or page.row_count <= request.top:
        return  # a followed nextLink carries the server's own page size
    raise DataContractError(
        f"a page has {page.row_count} rows, more rows than the $top={request.top} asked; "
        "nothing from it was stored",
        entity=path,
        hint="the service ignores $top for this set; report it to Norce, or leave the set "
        "out (NORCE_ENTITIES) until it is fixed",
    )


def _pages(cursor: Cursor, pages: ShrinkingFetch[P]) -> Iterator[PageResult[P] | Quarantined]:
    index = 0
    while True:
        got = yield from pages.next(cursor, first=index == 0)
        if got is None:
            return
        fetched, request = got
        yield PageResult(fetched.value, fetched.raw, fetched.url, index, fetched.server_date)
        index += 1
        if cursor.delivered(fetched.value, request):
            return
        pages.grow()

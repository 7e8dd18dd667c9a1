"""Pagers: keyset, nextLink and skip paging, end detection, loop guards, quarantine."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import httpx
import pytest

from extract.errors import DataContractError, RateLimited, ServerError
from extract.http.client import RequestContext
from extract.http.stats import RequestStats
from extract.paging.odata import after_key_filter, odata_literal
from extract.paging.pager import (
    MAX_CONSECUTIVE_BAD,
    PageQuery,
    PageResult,
    Quarantined,
    iter_pages,
)
from tests.unit.extract.transport_fakes import QUERY, RowsEndpoint, decode_page

PATH = "Test/Rows"


def serve(tenant, **kwargs) -> RowsEndpoint:
    endpoint = RowsEndpoint(**kwargs)
    tenant.route(PATH, endpoint)
    return endpoint


def pages(client, query=None, *, strategy="keyset", stats=None, **kwargs):
    return list(
        iter_pages(
            client,
            query or PageQuery(path=PATH, key=("Id",)),
            strategy=strategy,
            context=RequestContext(PATH, 1, stats if stats is not None else RequestStats()),
            decode=decode_page,
            **kwargs,
        )
    )


def delivered(items) -> list[int]:
    return [i for item in items if isinstance(item, PageResult) for i in item.page.ids]


def test_keyset_1234_rows_in_500_500_234(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)))
    query = PageQuery(path=PATH, key=("Id",), filter="ApplicationId eq 1", select="Id")
    items = pages(make_client(), query)
    assert [item.page.row_count for item in items] == [500, 500, 234]
    assert [item.request_index for item in items] == [0, 1, 2]
    assert delivered(items) == list(range(1, 1235))
    assert [p["$filter"] for p in endpoint.seen] == [
        "ApplicationId eq 1",
        "(ApplicationId eq 1) and (Id gt 500)",
        "(ApplicationId eq 1) and (Id gt 1000)",
    ]
    assert all(p["$orderby"] == "Id" and p["$top"] == "500" for p in endpoint.seen)
    assert all(p["$select"] == "Id" and "$skip" not in p for p in endpoint.seen)
    assert items[0].url.startswith(f"{QUERY}/{PATH}?$filter=ApplicationId%20eq%201")


def test_keyset_exact_multiple_ends_on_empty_page(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1001)))
    items = pages(make_client())
    assert [item.page.row_count for item in items] == [500, 500, 0]
    assert len(endpoint.seen) == 3


def test_keyset_clamped_top_is_not_the_end(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)), next_links=True)
    items = pages(make_client(), PageQuery(path=PATH, key=("Id",), top=1000))
    assert [item.page.row_count for item in items] == [500, 500, 234]
    assert delivered(items) == list(range(1, 1235))
    assert all(p["$top"] == "1000" for p in endpoint.seen)


def test_keyset_clamped_top_without_next_links_still_continues(tenant, make_client):
    # A page of exactly 500 (the server's cap) is never taken as the end.
    endpoint = serve(tenant, ids=list(range(1, 1235)))
    items = pages(make_client(), PageQuery(path=PATH, key=("Id",), top=1000))
    assert delivered(items) == list(range(1, 1235))
    assert len(endpoint.seen) == 3


def test_server_with_smaller_cap_is_learned_from_next_links(tenant, make_client):
    serve(tenant, ids=list(range(1, 451)), cap=100, next_links=True)
    items = pages(make_client())
    assert delivered(items) == list(range(1, 451))
    assert [item.page.row_count for item in items] == [100, 100, 100, 100, 50]


def test_keyset_resumes_after_start_key(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)))
    items = pages(make_client(), start_after=(1200,))
    assert delivered(items) == list(range(1201, 1235))
    assert endpoint.seen[0]["$filter"] == "Id gt 1200"


def test_count_only_on_first_request(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)))
    items = pages(make_client(), PageQuery(path=PATH, key=("Id",), count=True))
    assert items[0].page.count == 1234
    assert [p.get("$count") for p in endpoint.seen] == ["true", None, None]


def test_key_that_does_not_advance_raises(tenant, make_client):
    serve(tenant, ids=list(range(1, 1235)), ignore_filter=True)
    with pytest.raises(DataContractError, match="does not advance"):
        pages(make_client())


def test_nextlink_following(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)), next_links=True)
    query = PageQuery(path=PATH, key=("Id",), filter="ApplicationId eq 1", top=500)
    items = pages(make_client(), query, strategy="nextlink")
    assert delivered(items) == list(range(1, 1235))
    assert [p.get("$skip") for p in endpoint.seen] == [None, "500", "1000"]
    assert endpoint.seen[0]["$orderby"] == "Id"
    assert all(p["$filter"] == "ApplicationId eq 1" for p in endpoint.seen)
    assert "$skip=500" in items[1].url


def test_nextlink_in_server_order_for_a_tenant_refusing_orderby_on_the_key(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)), next_links=True)
    query = PageQuery(path=PATH, key=("Id",), top=500, ordered=False)
    items = pages(make_client(), query, strategy="nextlink")
    assert delivered(items) == list(range(1, 1235))
    assert not any("$orderby" in p for p in endpoint.seen)


@pytest.mark.parametrize("total", [1234, 1000, 1500, 499])
@pytest.mark.parametrize("top", [1000, 500, 200])
def test_nextlink_with_top_capping_the_chain(tenant, make_client, top, total):
    # OData reading of $top (what the simulator does): the links stop after $top rows.
    endpoint = serve(tenant, ids=list(range(1, total + 1)), next_links=True, strict_top=True)
    items = pages(make_client(), PageQuery(path=PATH, key=("Id",), top=top), strategy="nextlink")
    assert delivered(items) == list(range(1, total + 1))
    assert len(endpoint.seen) <= total // min(top, 500) + 2


@pytest.mark.parametrize("total", [1234, 1000, 499])
def test_keyset_with_top_capping_the_chain(tenant, make_client, total):
    serve(tenant, ids=list(range(1, total + 1)), next_links=True, strict_top=True)
    items = pages(make_client(), PageQuery(path=PATH, key=("Id",), top=1000))
    assert delivered(items) == list(range(1, total + 1))


def test_relative_next_links_resolve_against_the_request(tenant, make_client):
    serve(tenant, ids=list(range(1, 1235)), next_links=True, relative_links=True)
    items = pages(make_client(), strategy="nextlink")
    assert delivered(items) == list(range(1, 1235))
    assert items[2].url.startswith(f"{QUERY}/{PATH}?")


def test_nextlink_without_links_continues_by_offset(tenant, make_client):
    # A server that honours $top literally sends no nextLink; full pages are not the end.
    endpoint = serve(tenant, ids=list(range(1, 1235)))
    items = pages(make_client(), strategy="nextlink")
    assert delivered(items) == list(range(1, 1235))
    assert [p.get("$skip") for p in endpoint.seen] == [None, "500", "1000"]


def test_repeated_next_link_raises(tenant, make_client):
    link = f"{QUERY}/{PATH}?$skip=500"

    served = iter(range(1, 100))

    def looping(request: httpx.Request) -> httpx.Response:
        row = {"Id": next(served)}
        return httpx.Response(200, json={"value": [row], "@odata.nextLink": link})

    tenant.route(PATH, looping)
    with pytest.raises(DataContractError, match="nextLink repeats"):
        pages(make_client(), strategy="nextlink")


def test_skip_paging(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)))
    items = pages(make_client(), strategy="skip")
    assert delivered(items) == list(range(1, 1235))
    assert [p.get("$skip") for p in endpoint.seen] == [None, "500", "1000"]
    assert all("$filter" not in p for p in endpoint.seen)


def test_poison_record_is_quarantined_and_every_other_row_delivered(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)), poison={777})
    stats = RequestStats()
    items = pages(make_client(max_retries=1), stats=stats)
    assert delivered(items) == [i for i in range(1, 1235) if i != 777]
    (q,) = [item for item in items if isinstance(item, Quarantined)]
    assert (q.key_after, q.key_before, q.skip) == ((776,), (778,), None)
    assert q.entity == PATH and "HTTP 500" in q.error and "boom" in (q.payload or b"").decode()
    assert "$top=1" in q.url
    probe = next(p for p in endpoint.seen if p.get("$skip") == "1")
    assert (probe["$filter"], probe["$top"]) == ("Id gt 776", "1")
    assert len(endpoint.seen) < 60  # shrinking is logarithmic, not row by row
    indexes = [item.request_index for item in items if isinstance(item, PageResult)]
    assert indexes == list(range(len(indexes)))


def test_poison_bad_json_is_quarantined_with_payload(tenant, make_client):
    serve(tenant, ids=list(range(1, 301)), poison={150}, poison_mode="json")
    items = pages(make_client(max_retries=1))
    assert delivered(items) == [i for i in range(1, 301) if i != 150]
    (q,) = [item for item in items if isinstance(item, Quarantined)]
    assert (q.key_after, q.key_before) == ((149,), (151,))
    assert q.payload is not None and q.payload.startswith(b'{"value":[{"Id":150')
    assert "invalid JSON" in q.error


def test_adjacent_poison_records_make_one_range(tenant, make_client):
    serve(tenant, ids=list(range(1, 101)), poison={40, 41})
    items = pages(make_client(max_retries=0))
    assert delivered(items) == [i for i in range(1, 101) if i not in (40, 41)]
    (q,) = [item for item in items if isinstance(item, Quarantined)]
    assert (q.key_after, q.key_before) == ((39,), (42,))


def test_poison_at_the_very_end(tenant, make_client):
    serve(tenant, ids=list(range(1, 11)), poison={10})
    items = pages(make_client(max_retries=0))
    assert delivered(items) == list(range(1, 10))
    assert [(q.key_after, q.key_before) for q in items if isinstance(q, Quarantined)] == [
        ((9,), None)
    ]


def test_poison_first_record(tenant, make_client):
    serve(tenant, ids=list(range(1, 11)), poison={1})
    items = pages(make_client(max_retries=0))
    assert delivered(items) == list(range(2, 11))
    (q,) = [item for item in items if isinstance(item, Quarantined)]
    assert (q.key_after, q.key_before) == (None, (2,))


def test_quarantine_with_skip_paging(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 1235)), poison={777})
    items = pages(make_client(max_retries=0), strategy="skip")
    assert delivered(items) == [i for i in range(1, 1235) if i != 777]
    (q,) = [item for item in items if isinstance(item, Quarantined)]
    assert (q.key_after, q.key_before, q.skip) == ((776,), (778,), 776)
    assert any(p.get("$skip") == "777" and p["$top"] == "1" for p in endpoint.seen)


def test_quarantine_with_nextlink_paging(tenant, make_client):
    serve(tenant, ids=list(range(1, 1235)), poison={777}, next_links=True)
    items = pages(make_client(max_retries=0), strategy="nextlink")
    assert delivered(items) == [i for i in range(1, 1235) if i != 777]
    (q,) = [item for item in items if isinstance(item, Quarantined)]
    assert (q.key_after, q.key_before, q.skip) == ((776,), (778,), 776)


def test_transient_truncated_json_is_retried_not_quarantined(tenant, make_client):
    endpoint = RowsEndpoint(ids=list(range(1, 11)))
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 1:
            return httpx.Response(200, content=b'{"value": [{"Id": 1}, {"Id"')
        return endpoint(request)

    tenant.route(PATH, flaky)
    stats = RequestStats()
    items = pages(make_client(), stats=stats)
    assert delivered(items) == list(range(1, 11))
    assert not any(isinstance(item, Quarantined) for item in items)
    assert stats.bad_payloads == 1


def test_rate_limits_propagate_without_shrinking(tenant, make_client):
    calls: list[str] = []

    def limited(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.params["$top"])
        return httpx.Response(429, headers={"Retry-After": "1"})

    tenant.route(PATH, limited)
    with pytest.raises(RateLimited):
        pages(make_client(max_retries=2))
    assert calls == ["500", "500", "500"]


def test_a_set_that_always_fails_gives_up_quickly(tenant, make_client):
    tenant.route(PATH, lambda request: httpx.Response(500))
    with pytest.raises(ServerError, match="HTTP 500"):
        pages(make_client(max_retries=3), PageQuery(path=PATH, key=("Id",), top=500))
    tops = [r.url.params["$top"] for r in tenant.gets]
    # 4 attempts at 500, 2 per halving step, then full retries at $top=1 and for the one
    # probe ($top=1&$skip=1) before giving up.
    steps = ["250", "125", "62", "31", "15", "7", "3"]
    assert tops == ["500"] * 4 + [t for t in steps for _ in range(2)] + ["1"] * 8


def test_shrinking_uses_fewer_retries(tenant, make_client):
    endpoint = serve(tenant, ids=list(range(1, 21)), poison={5})
    items = pages(make_client(max_retries=3), PageQuery(path=PATH, key=("Id",), top=8))
    assert delivered(items) == [i for i in range(1, 21) if i != 5]
    tops = [(p["$top"], p.get("$filter"), p.get("$skip")) for p in endpoint.seen]
    assert tops == [
        *[("8", None, None)] * 4,  # full retries on the first failure
        ("4", None, None),  # ids 1-4: fine, but 5-8 are still suspect:
        *[("4", "Id gt 4", None)] * 2,  # one retry per halving step until isolated,
        *[("2", "Id gt 4", None)] * 2,
        *[("1", "Id gt 4", None)] * 4,  # every retry before a record is declared bad
        ("1", "Id gt 4", "1"),  # the probe finds the next good record (6)
        ("2", "Id gt 6", None),  # then the page grows back
        ("4", "Id gt 8", None),
        ("8", "Id gt 12", None),
        ("8", "Id gt 20", None),  # a full page is not the end; an empty one is
    ]


def test_shrinking_keeps_full_retries_for_network_errors(tenant, make_client):
    endpoint = RowsEndpoint(ids=list(range(1, 21)), poison={5})
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] in (5, 6, 7):  # while shrinking: three resets in a row
            raise httpx.ReadError("connection reset")
        return endpoint(request)

    tenant.route(PATH, flaky)
    items = pages(make_client(max_retries=3), PageQuery(path=PATH, key=("Id",), top=8))
    assert delivered(items) == [i for i in range(1, 21) if i != 5]


def test_consecutive_bad_records_beyond_the_limit_raise(tenant, make_client):
    serve(tenant, ids=list(range(1, 31)), poison=set(range(10, 10 + MAX_CONSECUTIVE_BAD + 1)))
    with pytest.raises(ServerError):
        pages(make_client(max_retries=0), PageQuery(path=PATH, key=("Id",), top=4))


def test_composite_key_resume_with_nextlink(tenant, make_client):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params.get("$filter"))
        return httpx.Response(200, json={"value": [{"Id": 9}]})

    tenant.route(PATH, handler)
    query = PageQuery(path=PATH, key=("PartNo", "PriceListId"), filter="IsActive eq true")
    pages(make_client(), query, strategy="nextlink", start_after=("A'1", 3))
    assert seen == [
        "(IsActive eq true) and ((PartNo gt 'A''1') or (PartNo eq 'A''1' and PriceListId gt 3))"
    ]


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "null"),
        (True, "true"),
        (False, "false"),
        (42, "42"),
        (-7, "-7"),
        ("O'Brien", "'O''Brien'"),
        ("", "''"),
        (datetime(2026, 1, 1, tzinfo=UTC), "2026-01-01T00:00:00Z"),
        (datetime(2026, 1, 1, 2, 0, tzinfo=timezone(timedelta(hours=2))), "2026-01-01T00:00:00Z"),
        (datetime(2026, 1, 1, 0, 0, 0, 120000, tzinfo=UTC), "2026-01-01T00:00:00.12Z"),
        (datetime(2026, 1, 1), "2026-01-01T00:00:00Z"),
        (date(2026, 3, 4), "2026-03-04"),
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+3"), "1000"),
        (1.5, "1.5"),
        (uuid.UUID("12345678-1234-5678-1234-567812345678"), "12345678-1234-5678-1234-567812345678"),
    ],
)
def test_odata_literal(value, literal):
    assert odata_literal(value) == literal


@pytest.mark.parametrize("value", [float("nan"), Decimal("Infinity"), object(), b"x"])
def test_odata_literal_rejects(value):
    with pytest.raises((TypeError, ValueError)):
        odata_literal(value)


def test_after_key_filter():
    assert after_key_filter(("Id",), (5,)) == "Id gt 5"
    assert after_key_filter(("A", "B", "C"), (1, "x", 2)) == (
        "(A gt 1) or (A eq 1 and B gt 'x') or (A eq 1 and B eq 'x' and C gt 2)"
    )
    with pytest.raises(ValueError):
        after_key_filter(("A",), (1, 2))


def test_transient_errors_do_not_quarantine_a_good_record(tenant, make_client):
    endpoint = RowsEndpoint(ids=list(range(1, 11)))
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= 6:  # 3 tries at $top=4, 2 at $top=2, the first at $top=1
            return httpx.Response(503)
        return endpoint(request)

    tenant.route(PATH, flaky)
    items = pages(make_client(max_retries=2), PageQuery(path=PATH, key=("Id",), top=4))
    assert delivered(items) == list(range(1, 11))
    assert not any(isinstance(item, Quarantined) for item in items)

"""429s without Retry-After under a per-minute quota: the load waits for the window to turn.

A gateway in front of the tenant allows N requests per fixed 60 s window and then answers
429 with no ``Retry-After`` until the window turns (the ``minute_budget`` switch of the
simulator's ``docs-2.0`` profile). Six quick backoffs (31.5 s at most) give up inside such a
window; the client must keep waiting -- bounded by ``NORCE_RATE_LIMIT_PATIENCE_S`` -- and
say how long it waited.
"""

from __future__ import annotations

import math

import httpx
import orjson
import pytest

from extract.errors import RateLimited
from extract.http.client import RequestContext
from extract.http.stats import RequestStats
from extract.paging.pager import PageQuery, PageResult, iter_pages
from tests.unit.extract.transport_fakes import FakeClock, RowsEndpoint, decode_page

WINDOW_S = 60.0


class MinuteQuota:
    """``limit`` requests per fixed window of the fake clock, then 429 without Retry-After."""

    def __init__(self, clock: FakeClock, limit: int, inner: RowsEndpoint) -> None:
        self.clock, self.limit, self.inner = clock, limit, inner
        self.window, self.used, self.rejected = -1, 0, 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        window = math.floor(self.clock() / WINDOW_S)
        if window != self.window:
            self.window, self.used = window, 0
        if self.used >= self.limit:
            self.rejected += 1
            body = orjson.dumps({"statusCode": 429, "message": "Rate limit is exceeded."})
            return httpx.Response(429, content=body)
        self.used += 1
        return self.inner(request)


def load_all(client, stats: RequestStats) -> list[int]:
    query = PageQuery(path="Test/Rows", key=("Id",), top=10)
    ids: list[int] = []
    for item in iter_pages(
        client,
        query,
        strategy="keyset",
        context=RequestContext("Test/Rows", None, stats),
        decode=decode_page,
    ):
        assert isinstance(item, PageResult)
        ids += item.page.ids
    return ids


@pytest.fixture
def quota(tenant, clock: FakeClock) -> MinuteQuota:
    clock.now = 20 * WINDOW_S  # a window just began: its quota is spent with 60 s to go
    endpoint = MinuteQuota(clock, limit=5, inner=RowsEndpoint(list(range(1, 251)), cap=10))
    tenant.route("Test/Rows", endpoint)
    return endpoint


def test_a_load_outlasts_a_per_minute_quota_and_reports_its_waits(make_client, quota, clock):
    # the defaults a user runs with: 6 retries, 60 s longest backoff, 180 s patience
    client = make_client(max_retries=6, backoff_max_s=60.0)
    stats = RequestStats()
    started = clock()
    ids = load_all(client, stats)
    assert ids == list(range(1, 251))  # 25 pages, 5 per window: every row, in order
    assert quota.rejected > 0
    assert stats.rate_limited == quota.rejected
    assert stats.rate_limit_waits == quota.rejected
    # four whole windows were waited out (the first five pages went in the first one)
    assert stats.rate_limit_wait_s >= 4 * WINDOW_S - 5 * 15.0
    assert clock() - started >= 4 * WINDOW_S


def test_patience_bounds_the_wait_for_one_request(make_client, quota, clock):
    client = make_client(max_retries=6, backoff_max_s=60.0, rate_limit_patience_s=20.0)
    with pytest.raises(RateLimited) as info:
        load_all(client, RequestStats())
    assert info.value.retry_after is None
    waited = sum(clock.sleeps)
    assert 20.0 <= waited < 30.0  # the patience, plus the throttle's own spacing

"""Token provider: one token per run, refresh near expiry, 401 handling, token-endpoint 429."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl

import httpx
import pytest

from extract.errors import AuthError, BadPayload, RateLimited, RequestRejected
from extract.http.auth import TokenProvider
from extract.http.stats import RequestStats
from tests.unit.extract.transport_fakes import (
    CLIENT_SECRET,
    TOKEN_PATH,
    FakeClock,
    Tenant,
    api_settings,
)


def provider(tenant: Tenant, clock: FakeClock, **kwargs) -> tuple[TokenProvider, httpx.Client]:
    http = httpx.Client(transport=tenant.transport())
    return TokenProvider(api_settings(**kwargs), http, clock=clock, sleep=clock.sleep), http


def test_posts_client_credentials_form(tenant, clock):
    tokens, http = provider(tenant, clock, scope="stage")
    with http:
        assert tokens.token() == "tok-1-abcdef"
    (post,) = tenant.token_posts
    assert post.method == "POST"
    assert str(post.url) == "https://tenant.test" + TOKEN_PATH
    assert post.headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(post.content.decode())) == {
        "grant_type": "client_credentials",
        "client_id": "cid",
        "client_secret": CLIENT_SECRET,
        "scope": "stage",
    }


def test_one_token_for_many_requests_and_threads(tenant, clock):
    tokens, http = provider(tenant, clock)
    stats = RequestStats()
    with http, ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: tokens.token(stats), range(200)))
    assert set(results) == {"tok-1-abcdef"}
    assert tokens.token_requests == 1
    assert stats.token_requests == 1
    assert len(tenant.token_posts) == 1


def test_one_refresh_at_a_time_while_the_endpoint_is_slow(tenant, clock):
    release = threading.Event()
    entered = threading.Event()

    def slow_token(request: httpx.Request) -> httpx.Response:
        entered.set()
        release.wait(timeout=10)
        return tenant.issue_token()

    tenant.token_handler = slow_token
    tokens, http = provider(tenant, clock)
    with http, ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(tokens.token) for _ in range(6)]
        assert entered.wait(timeout=10)
        release.set()
        assert {f.result(timeout=10) for f in futures} == {"tok-1-abcdef"}
    assert len(tenant.token_posts) == 1


def test_refresh_sixty_seconds_before_expiry(tenant, clock):
    tokens, http = provider(tenant, clock)
    with http:
        first = tokens.token()
        clock.advance(3600 - 61)
        assert tokens.token() == first
        clock.advance(2)  # 59 s left
        assert tokens.token() != first
    assert tokens.token_requests == 2


def test_short_lived_token_refreshes_at_ten_percent(clock):
    tenant = Tenant(lifetime=100)
    tokens, http = provider(tenant, clock)
    with http:
        first = tokens.token()
        clock.advance(89)
        assert tokens.token() == first
        clock.advance(2)
        assert tokens.token() != first


def test_invalidate_only_drops_the_token_that_failed(tenant, clock):
    tokens, http = provider(tenant, clock)
    with http:
        old = tokens.token()
        tokens.invalidate(old)
        new = tokens.token()
        assert new != old
        tokens.invalidate(old)  # a late 401 for the old token keeps the new one
        assert tokens.token() == new
        tokens.invalidate()
        assert tokens.token() not in (old, new)
    assert tokens.token_requests == 3


def test_token_endpoint_429_honours_retry_after(tenant, clock):
    replies = iter([429, 429, 200])

    def limited(request: httpx.Request) -> httpx.Response:
        status = next(replies)
        if status == 429:
            return httpx.Response(429, headers={"Retry-After": "20"})
        return tenant.issue_token()

    tenant.token_handler = limited
    tokens, http = provider(tenant, clock)
    with http:
        assert tokens.token() == "tok-1-abcdef"
    assert clock.sleeps == [20.0, 20.0]
    assert tokens.token_requests == 3


def test_token_endpoint_429_retries_are_bounded(tenant, clock):
    tenant.token_handler = lambda request: httpx.Response(429)
    tokens, http = provider(tenant, clock)
    with http, pytest.raises(RateLimited) as info:
        tokens.token()
    assert tokens.token_requests == 4  # 1 + 3 retries
    assert info.value.attempts == 4
    assert clock.sleeps == [2.0, 4.0, 8.0]  # backoff when no Retry-After


@pytest.mark.parametrize("status", [400, 401, 403])
def test_refused_credentials_are_an_auth_error(tenant, clock, status):
    tenant.token_handler = lambda request: httpx.Response(
        status, json={"error": "invalid_client", "error_description": f"bad {CLIENT_SECRET}"}
    )
    tokens, http = provider(tenant, clock, scope="playground")
    with http, pytest.raises(AuthError) as info:
        tokens.token()
    text = str(info.value)
    assert f"HTTP {status}: invalid_client" in text
    assert "NORCE_CLIENT_ID/NORCE_CLIENT_SECRET" in text and "'playground'" in text
    assert CLIENT_SECRET not in text and CLIENT_SECRET not in repr(info.value)
    assert info.value.exit_code == 3
    assert tokens.token_requests == 1  # never retried


def test_missing_token_endpoint_points_at_base_url(tenant, clock):
    tenant.token_handler = lambda request: httpx.Response(404)
    tokens, http = provider(tenant, clock)
    with http, pytest.raises(RequestRejected) as info:
        tokens.token()
    assert "NORCE_BASE_URL" in str(info.value)


def test_garbled_token_response_is_retried_then_reported(tenant, clock):
    tenant.token_handler = lambda request: httpx.Response(200, content=b'{"access_tok')
    tokens, http = provider(tenant, clock)
    with http, pytest.raises(BadPayload):
        tokens.token()
    assert tokens.token_requests == 4

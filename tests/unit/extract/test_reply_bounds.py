"""Every wait and every reply is bounded (issue 16): an absurd ``Retry-After`` never pauses
the shared throttle, a dripping reply fails at its deadline, a reply or ``$metadata`` over
its size cap is refused (counted decoded, so a gzip bomb too), and a token whose lifetime is
not believable is kept for a sane time instead of being fetched before every request."""

from __future__ import annotations

import gzip
import logging
import math
from collections.abc import Iterator

import httpx
import orjson
import pytest

from extract.errors import BadPayload, DataContractError, NetworkError, RateLimited
from extract.http.auth import DEFAULT_LIFETIME_S, TokenProvider, believed_lifetime
from extract.http.client import QueryClient, RequestContext
from extract.http.stats import RequestStats
from extract.http.throttle import MAX_PAUSE_S, Throttle
from tests.unit.extract.transport_fakes import FakeClock, Tenant, api_settings

MIB = 1 << 20


def get(client: QueryClient, path: str = "Orders/Orders") -> object:
    context = RequestContext("Orders/Orders", None, RequestStats())
    return client.get(path, None, parse=orjson.loads, context=context).value


# -- Retry-After ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "retry_after", ["1000000000", "Fri, 31 Dec 9999 23:59:59 GMT"], ids=["1e9-s", "year-9999"]
)
def test_a_wait_beyond_the_cap_fails_the_request_and_pauses_nobody(
    tenant: Tenant, make_client, clock: FakeClock, retry_after: str
) -> None:
    """Found: ``Retry-After: 1000000000`` paused the shared throttle for ever (the pause was
    applied before the too-long check); a date in year 9999 overflowed."""
    reply = httpx.Response(429, headers={"Retry-After": retry_after})
    tenant.route("Orders/Orders", lambda request: reply)
    tenant.route("Core/Currencies", lambda request: httpx.Response(200, json={"value": []}))
    throttle = Throttle(8.0, 4, clock=clock, sleep=clock.sleep)
    client = make_client(throttle=throttle)

    with pytest.raises(RateLimited) as info:
        get(client)

    assert "longer than the 600 s a request waits" in str(info.value)
    assert throttle.paused_until <= clock() + 1.0  # one interval, not the asked wait
    started = clock()
    assert get(client, "Core/Currencies") == {"value": []}
    assert clock() - started < 1.0  # the next request goes out at once


@pytest.mark.parametrize("retry_after", ["inf", "NaN", "soon-ish, maybe", "-inf"])
def test_an_unreadable_retry_after_is_no_advice(
    tenant: Tenant, make_client, clock: FakeClock, retry_after: str
) -> None:
    replies = iter([httpx.Response(429, headers={"Retry-After": retry_after})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(replies, httpx.Response(200, json={"value": [1]}))

    tenant.route("Orders/Orders", handler)

    assert get(make_client()) == {"value": [1]}
    assert clock.sleeps and max(clock.sleeps) <= 4.0  # the normal backoff


def test_the_throttle_never_pauses_longer_than_its_cap(clock: FakeClock) -> None:
    throttle = Throttle(8.0, 4, clock=clock, sleep=clock.sleep)

    for absurd in (1e12, math.inf, -5.0, math.nan):
        throttle.penalize(absurd)

    assert throttle.paused_until <= clock() + MAX_PAUSE_S


# -- deadline and size caps -------------------------------------------------------------------


class Drip(httpx.SyncByteStream):
    """``{"value":[`` and then a byte per read, each read taking ``every_s`` of fake time."""

    def __init__(self, clock: FakeClock, every_s: float) -> None:
        self.clock, self.every_s, self.sent = clock, every_s, 0

    def __iter__(self) -> Iterator[bytes]:
        yield b'{"value":['
        while self.sent < 10_000:
            self.clock.sleep(self.every_s)
            self.sent += 1
            yield b" "


def test_a_dripping_reply_fails_at_its_deadline_and_is_retried(
    tenant: Tenant, make_client, clock: FakeClock
) -> None:
    """Found: one byte every 2 s with a 3 s timeout hung the run (the timeout is per read)."""
    drips: list[Drip] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if not drips:
            drips.append(Drip(clock, 2.0))
            return httpx.Response(200, stream=drips[0])
        return httpx.Response(200, json={"value": [7]})

    tenant.route("Orders/Orders", handler)
    client = make_client(api=api_settings(timeout_s=3.0))

    assert get(client) == {"value": [7]}
    assert drips[0].sent <= 7  # gave up after 12 s (4 x NORCE_TIMEOUT_S), not 20,000 s


def test_the_deadline_is_a_setting(tenant: Tenant, make_client, clock: FakeClock) -> None:
    tenant.route("Orders/Orders", lambda request: httpx.Response(200, stream=Drip(clock, 1.0)))
    client = make_client(api=api_settings(reply_deadline_s=5.0), max_retries=0)

    with pytest.raises(NetworkError) as info:
        get(client)

    assert "not complete after 5 s" in str(info.value)
    assert "NORCE_REPLY_DEADLINE_S" in str(info.value)


def test_a_gzip_bomb_is_refused_by_what_it_inflates_to(tenant: Tenant, make_client) -> None:
    """Found: a 1 MB gzip reply inflating to 1 GiB was read whole (2.44 GB peak)."""
    bomb = gzip.compress(b'{"value":[' + b" " * (3 * MIB) + b"]}", 9)
    assert len(bomb) < MIB / 50
    served = iter([bomb])

    def handler(request: httpx.Request) -> httpx.Response:
        body = next(served, None)
        if body is None:
            return httpx.Response(200, json={"value": [1]})
        return httpx.Response(200, content=body, headers={"content-encoding": "gzip"})

    tenant.route("Orders/Orders", handler)
    client = make_client(api=api_settings(max_reply_mb=2))

    assert get(client) == {"value": [1]}  # refused once, then the retry loaded


def test_a_reply_over_the_cap_names_the_setting(tenant: Tenant, make_client) -> None:
    big = b'{"value":[' + b" " * (2 * MIB) + b"]}"
    tenant.route("Orders/Orders", lambda request: httpx.Response(200, content=big))
    client = make_client(api=api_settings(max_reply_mb=1), max_retries=0)

    with pytest.raises(BadPayload) as info:
        get(client)

    assert "larger than 1 MB (NORCE_MAX_REPLY_MB)" in str(info.value)


def test_a_huge_metadata_document_is_refused_and_not_retried(tenant: Tenant, make_client) -> None:
    """Found: a 300 MB ``$metadata`` was read whole (1.56 GB peak); no cap anywhere."""
    big = b"<?xml version='1.0'?><!--" + b"x" * (2 * MIB) + b"-->"
    tenant.route("Customers/$metadata", lambda request: httpx.Response(200, content=big))
    client = make_client(api=api_settings(max_metadata_mb=1))

    with pytest.raises(DataContractError) as info:
        client.metadata("Customers", RequestContext("Customers/Customers"))

    assert "$metadata larger than 1 MB (NORCE_MAX_METADATA_MB)" in str(info.value)
    assert len(tenant.gets) == 1


# -- token lifetimes --------------------------------------------------------------------------


@pytest.mark.parametrize("expires_in", [0, -30, "NaN", "soon", None, True, 1e400, 59])
def test_an_unbelievable_token_lifetime_falls_back_to_the_default(
    expires_in: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="extract.http.auth"):
        assert believed_lifetime(expires_in) == DEFAULT_LIFETIME_S
    assert "keeping the token for 3600 s" in caplog.text


@pytest.mark.parametrize("expires_in", [60, 3600, "1800", 86400.5])
def test_a_believable_token_lifetime_is_kept(expires_in: object) -> None:
    assert believed_lifetime(expires_in) == float(expires_in)  # type: ignore[arg-type]


@pytest.mark.parametrize("expires_in", [0, -30, "NaN"])
def test_a_token_that_claims_to_expire_at_once_is_fetched_once_per_real_expiry(
    clock: FakeClock, expires_in: object
) -> None:
    """Found: ``expires_in`` of 0, negative or "NaN" fetched a token before every request
    (37 token requests for 28 GETs)."""
    tenant = Tenant()

    def token(request: httpx.Request) -> httpx.Response:
        issued = tenant.issue_token()
        doc = orjson.loads(issued.content)
        return httpx.Response(200, json={**doc, "expires_in": expires_in})

    tenant.token_handler = token
    http = httpx.Client(transport=tenant.transport())
    tokens = TokenProvider(api_settings(), http, clock=clock, sleep=clock.sleep)
    with http:
        first = {tokens.token() for _ in range(30)}
        tokens.invalidate(first.pop())  # the API's 401: the token really expired
        second = {tokens.token() for _ in range(30)}

    assert len(first) == 0 and len(second) == 1
    assert tokens.token_requests == 2

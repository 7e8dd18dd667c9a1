"""The Query API client: headers, URLs, retries and backoff, 401 refresh, budget, GET only."""

from __future__ import annotations

import logging
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from extract.errors import (
    AuthError,
    BadPayload,
    BudgetExhausted,
    DataContractError,
    NetworkError,
    RateLimited,
    RequestRejected,
    ServerError,
)
from extract.http.budget import RequestBudget
from extract.http.client import QueryClient, RequestContext
from extract.http.retry import MAX_RETRY_AFTER_S
from extract.http.stats import RequestStats
from extract.http.throttle import Throttle, ThrottleRegistry
from extract.settings import load_settings
from tests.unit.extract.transport_fakes import (
    BASE,
    CLIENT_SECRET,
    QUERY,
    TOKEN_PATH,
    api_settings,
    params_of,
    throttle_settings,
)


def ok(doc: object = None, **headers: str) -> httpx.Response:
    return httpx.Response(200, content=orjson.dumps(doc or {"value": []}), headers=headers)


def sequence(*replies: httpx.Response | Exception):
    """A handler returning (or raising) the given replies in order, then the last forever."""
    items = list(replies)

    def handler(request: httpx.Request) -> httpx.Response:
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler


def get(client: QueryClient, path: str = "Orders/Orders", params=None, stats=None, **kwargs):
    context = RequestContext(
        kwargs.pop("entity", "Orders/Orders"),
        kwargs.pop("application_id", None),
        stats if stats is not None else RequestStats(),
    )
    return client.get(path, params, parse=kwargs.pop("parse", orjson.loads), context=context)


def test_request_shape(tenant, make_client):
    tenant.route(
        "Orders/Orders", lambda r: ok({"value": [{"Id": 1}]}, Date="Wed, 21 Oct 2026 07:28:00 GMT")
    )
    client = make_client()
    fetched = get(
        client, params={"$filter": "ApplicationId eq 1 and Name eq 'a b+c'", "$top": "5"},
        application_id=7,
    )  # fmt: skip
    assert fetched.value == {"value": [{"Id": 1}]}
    assert fetched.status == 200
    assert fetched.server_date == datetime(2026, 10, 21, 7, 28, tzinfo=UTC)
    (request,) = tenant.gets
    assert request.method == "GET"
    assert request.url.path == "/commerce/query/2.0/Orders/Orders"
    assert params_of(request) == {"$filter": "ApplicationId eq 1 and Name eq 'a b+c'", "$top": "5"}
    assert "%20" in str(request.url) and "%2B" in str(request.url)  # '+' is not a space
    assert request.headers["authorization"] == "Bearer tok-1-abcdef"
    assert request.headers["applicationid"] == "7"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("norce-warehouse/")
    assert fetched.url == str(request.url)


def test_query_url_and_settings_object(tenant):
    settings = load_settings(
        {"NORCE_BASE_URL": BASE + "/", "NORCE_CLIENT_ID": "c", "NORCE_CLIENT_SECRET": "s-e-c"}
    )
    with QueryClient(settings, transport=tenant.transport(), registry=ThrottleRegistry()) as c:
        assert c.query_url("Core/Currencies") == f"{QUERY}/Core/Currencies"
        assert c.query_url("/Core/Currencies") == f"{QUERY}/Core/Currencies"


def test_no_application_header_when_not_given(tenant, make_client):
    tenant.route("Core/Currencies", lambda r: ok())
    get(make_client(), "Core/Currencies")
    assert "applicationid" not in tenant.gets[0].headers


def test_retries_server_errors_with_bounded_jittered_backoff(tenant, make_client, clock):
    tenant.route("Orders/Orders", sequence(httpx.Response(503), httpx.Response(502), ok()))
    stats = RequestStats()
    get(make_client(max_retries=3, backoff_base_s=1.0, backoff_max_s=1.5), stats=stats)
    assert len(tenant.gets) == 3
    assert (stats.requests, stats.retries, stats.server_errors) == (3, 2, 2)
    first, second = clock.sleeps
    assert 0.5 <= first <= 1.0  # half to all of base * 2^0
    assert 0.75 <= second <= 1.5  # capped at backoff_max_s


def test_backoff_is_jittered(tenant):
    delays = []
    for seed in range(5):
        recorded: list[float] = []
        tenant.route("Orders/Orders", sequence(httpx.Response(500), ok()))
        client = QueryClient(
            (api_settings(), throttle_settings(backoff_base_s=1.0)),
            transport=tenant.transport(),
            throttle=Throttle(1e6, 4, sleep=lambda s: None),
            sleep=recorded.append,
            rng=random.Random(seed),
        )
        with client:
            get(client)
        delays += recorded
    assert len(delays) == 5 and len(set(delays)) == 5
    assert all(0.5 <= d <= 1.0 for d in delays)


def test_gives_up_after_max_retries_with_the_last_error(tenant, make_client, clock):
    tenant.route("Orders/Orders", sequence(httpx.Response(500)))
    stats = RequestStats()
    with pytest.raises(ServerError) as info:
        get(make_client(max_retries=4), stats=stats)
    assert len(tenant.gets) == 5
    assert info.value.attempts == 5
    assert "after 5 attempts" in str(info.value)
    assert len(clock.sleeps) == 4
    assert all(d <= 4.0 for d in clock.sleeps)  # backoff_max_s
    assert stats.requests == 5 and stats.server_errors == 5


def test_429_retry_after_is_honoured_and_slows_the_throttle(tenant, make_client, clock):
    tenant.route("Orders/Orders", sequence(httpx.Response(429, headers={"Retry-After": "3"}), ok()))
    throttle = Throttle(8.0, 4, clock=clock, sleep=clock.sleep)
    stats = RequestStats()
    get(make_client(throttle=throttle), stats=stats)
    assert 3.0 in clock.sleeps
    assert throttle.current_rps == 4.0
    assert throttle.penalties == 1
    assert stats.rate_limited == 1 and stats.requests == 2


def test_429_beyond_the_longest_wait_fails_at_once(tenant, make_client, clock):
    wait = str(int(MAX_RETRY_AFTER_S) + 1)
    tenant.route("Orders/Orders", sequence(httpx.Response(429, headers={"Retry-After": wait})))
    with pytest.raises(RateLimited) as info:
        get(make_client())
    assert len(tenant.gets) == 1
    assert "NORCE_MAX_RPS" in str(info.value)


def test_network_errors_are_retried(tenant, make_client):
    tenant.route(
        "Orders/Orders", sequence(httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), ok())
    )
    stats = RequestStats()
    get(make_client(), stats=stats)
    assert stats.network_errors == 2 and stats.requests == 3


def test_network_errors_exhausted(tenant, make_client):
    tenant.route("Orders/Orders", sequence(httpx.ConnectTimeout("slow")))
    with pytest.raises(NetworkError) as info:
        get(make_client(max_retries=1))
    assert info.value.attempts == 2


def test_truncated_json_is_retried(tenant, make_client):
    body = orjson.dumps({"value": [{"Id": 1}, {"Id": 2}]})
    tenant.route(
        "Orders/Orders", sequence(httpx.Response(200, content=body[:-7]), ok({"value": []}))
    )
    stats = RequestStats()
    fetched = get(make_client(), stats=stats)
    assert fetched.value == {"value": []}
    assert stats.bad_payloads == 1 and stats.retries == 1


def test_bad_payload_after_retries_keeps_the_body(tenant, make_client):
    tenant.route("Orders/Orders", sequence(httpx.Response(200, content=b'{"value": [')))
    with pytest.raises(BadPayload) as info:
        get(make_client(max_retries=1))
    assert info.value.payload == b'{"value": ['
    assert info.value.attempts == 2
    assert "Orders/Orders" in str(info.value)


def test_contract_errors_from_parse_are_not_retried(tenant, make_client):
    tenant.route("Orders/Orders", lambda r: ok())

    def parse(raw: bytes) -> object:
        raise DataContractError("missing key column Id")

    with pytest.raises(DataContractError):
        get(make_client(), parse=parse)
    assert len(tenant.gets) == 1


@pytest.mark.parametrize("status", [400, 403, 404, 405])
def test_fatal_statuses_raise_at_once(tenant, make_client, status):
    tenant.route(
        "Orders/Orders", lambda r: httpx.Response(status, json={"error": {"message": "no way"}})
    )
    with pytest.raises(RequestRejected) as info:
        get(make_client())
    assert len(tenant.gets) == 1
    assert info.value.status == status and info.value.odata_message == "no way"


def test_401_refreshes_the_token_once(tenant, make_client):
    tenant.route("Orders/Orders", lambda r: ok())
    client = make_client()
    get(client)
    tenant.revoked.add("tok-1-abcdef")  # the server forgets the token early
    stats = RequestStats()
    get(client, stats=stats)
    assert client.token_requests == 2
    assert [r.headers["authorization"] for r in tenant.gets[-2:]] == [
        "Bearer tok-1-abcdef",
        "Bearer tok-2-abcdef",
    ]
    assert stats.token_requests == 1 and stats.requests == 2


def test_second_401_is_an_auth_error(tenant, make_client):
    tenant.route("Orders/Orders", lambda r: httpx.Response(401))
    client = make_client()
    with pytest.raises(AuthError) as info:
        get(client)
    assert len(tenant.gets) == 2
    assert client.token_requests == 2
    assert info.value.exit_code == 3
    assert "NORCE_CLIENT_ID" in str(info.value)


def test_one_token_for_many_requests(tenant, make_client):
    tenant.route("Orders/Orders", lambda r: ok())
    client = make_client()
    for _ in range(25):
        get(client)
    assert client.token_requests == 1 and len(tenant.token_posts) == 1


def test_budget_exhaustion_stops_before_sending(tenant):
    tenant.route("Orders/Orders", lambda r: ok())
    client = QueryClient(
        (api_settings(), throttle_settings()),
        transport=tenant.transport(),
        throttle=Throttle(1e6, 4),
        budget=RequestBudget(2),
    )
    with client:
        get(client)
        get(client)
        with pytest.raises(BudgetExhausted) as info:
            get(client)
    assert len(tenant.gets) == 2
    assert info.value.exit_code == 0
    assert "Orders/Orders" in str(info.value)
    assert client.budget.remaining == 0 and client.budget.used == 2


def test_budget_counts_retries(tenant):
    tenant.route("Orders/Orders", sequence(httpx.Response(500), httpx.Response(500), ok()))
    budget = RequestBudget(2)
    client = QueryClient(
        (api_settings(), throttle_settings()),
        transport=tenant.transport(),
        throttle=Throttle(1e6, 4),
        budget=budget,
        sleep=lambda s: None,
    )
    with client, pytest.raises(BudgetExhausted):
        get(client)
    assert len(tenant.gets) == 2


def test_budget_from_settings():
    client = QueryClient(
        (api_settings(), throttle_settings(request_budget=9)), registry=ThrottleRegistry()
    )
    with client:
        assert client.budget.limit == 9
    assert RequestBudget(None).remaining is None


def test_next_link_to_another_host_is_refused(tenant, make_client):
    with pytest.raises(DataContractError) as info:
        get(make_client(), "https://evil.test/commerce/query/2.0/Orders/Orders?$skip=500")
    assert tenant.gets == []
    assert "another host" in str(info.value)


def test_absolute_same_host_link_is_followed_verbatim(tenant, make_client):
    tenant.route("Orders/Orders", lambda r: ok())
    link = f"{QUERY}/Orders/Orders?%24skip=500&%24top=500"
    get(make_client(), link)
    assert str(tenant.gets[0].url) == link


def test_metadata_uses_the_namespace_path_and_xml(tenant, make_client):
    tenant.route("Orders/$metadata", lambda r: httpx.Response(200, content=b"<edmx/>"))
    assert make_client().metadata("Orders", RequestContext("Orders/$metadata", 3)) == b"<edmx/>"
    (request,) = tenant.gets
    assert request.url.path == "/commerce/query/2.0/Orders/$metadata"
    assert request.headers["accept"] == "application/xml"
    assert request.headers["applicationid"] == "3"


def test_only_get_and_the_token_post_leave_the_client(tenant, make_client):
    tenant.route("Orders/Orders", sequence(httpx.Response(500), httpx.Response(429), ok()))
    tenant.route("Orders/$metadata", lambda r: httpx.Response(200, content=b"<edmx/>"))
    tenant.route("Core/Cultures", lambda r: httpx.Response(400))
    client = make_client()
    get(client)
    client.metadata("Orders", RequestContext("Orders/$metadata"))
    tenant.revoked.add("tok-1-abcdef")
    with pytest.raises(RequestRejected):
        get(client, "Core/Cultures")
    methods = {(r.method, r.url.path == TOKEN_PATH) for r in tenant.requests}
    assert methods == {("GET", False), ("POST", True)}
    assert len(tenant.requests) > 6


def test_secret_and_token_never_in_errors_or_logs(tenant, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    echo = f"{CLIENT_SECRET} tok-1-abcdef"
    tenant.route(
        "Orders/Orders",
        sequence(
            httpx.Response(500, json={"error": {"message": echo}}),
            httpx.Response(400, json={"error": {"message": echo}}),
        ),
    )
    client = make_client()
    with pytest.raises(RequestRejected) as info:
        get(client, params={"access_token": "tok-1-abcdef"})
    texts = [str(info.value), repr(info.value), info.value.odata_message or "", caplog.text]
    texts += [repr(client.api), repr(client.tokens.__dict__.get("_api"))]
    for text in texts:
        assert CLIENT_SECRET not in text
        assert "tok-1-abcdef" not in text


def test_request_stats_add_merge_snapshot():
    a, b = RequestStats(), RequestStats()
    a.add(requests=2, bytes=100)
    b.add(requests=1, retries=1, elapsed_s=0.5)
    assert a.merge(b) is a
    assert a.as_dict() == {
        "requests": 3,
        "retries": 1,
        "rate_limited": 0,
        "server_errors": 0,
        "network_errors": 0,
        "bad_payloads": 0,
        "bytes": 100,
        "rate_limit_waits": 0,
        "rate_limit_wait_s": 0.0,
        "token_requests": 0,
        "elapsed_s": 0.5,
    }
    with pytest.raises(AttributeError):
        a.add(nonsense=1)


def test_request_stats_are_thread_safe():
    stats = RequestStats()

    def bump() -> None:
        for _ in range(2000):
            stats.add(requests=1)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for future in [pool.submit(bump) for _ in range(8)]:
            future.result()
    assert stats.requests == 16000


def test_a_reset_inside_a_5xx_streak_does_not_change_the_outcome(tenant, make_client):
    reset = httpx.ReadError("connection reset")
    replies = [httpx.Response(500)] * 2 + [reset] + [httpx.Response(500), reset]
    tenant.route("Orders/Orders", sequence(*replies, httpx.Response(503)))
    stats = RequestStats()
    with pytest.raises(ServerError) as info:
        get(make_client(max_retries=3), stats=stats)
    # four 5xx exhaust the 5xx count (3 retries); the two resets are counted on their own
    assert info.value.attempts == 6 and info.value.status == 503
    assert (stats.server_errors, stats.network_errors) == (4, 2)


def test_page_retries_limit_only_5xx_and_bad_bodies(tenant, make_client):
    reset = httpx.ReadError("connection reset")
    tenant.route("Orders/Orders", sequence(reset, reset, httpx.Response(500), ok()))
    client = make_client(max_retries=3)
    narrowed = RequestContext("Orders/Orders", retry=client.retry.for_shrinking())
    fetched = client.get("Orders/Orders", None, parse=orjson.loads, context=narrowed)
    assert fetched.status == 200
    tenant.route("Orders/Orders", sequence(httpx.Response(500)))
    with pytest.raises(ServerError) as info:
        client.get("Orders/Orders", None, parse=orjson.loads, context=narrowed)
    assert info.value.attempts == 2

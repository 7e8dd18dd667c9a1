"""The simulator over a real loopback socket: what an HTTP client actually sees."""

from __future__ import annotations

import json
import threading
import time
from email.utils import parsedate_to_datetime

import httpx
import orjson
import polars as pl
import pytest

from simulator.control import Simulator
from simulator.faults import FaultConfig
from simulator.server import SimulatorServer

Q = "/commerce/query/2.0"


def follow(client, url, params=None):
    rows, first = [], None
    response = client.get(url, params=params)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        first = first or body
        rows += body["value"]
        link = body.get("@odata.nextLink")
        if link is None:
            return rows, first
        response = client.get(link)


def test_base_url_is_loopback_with_a_real_port(server):
    assert server.base_url.startswith("http://127.0.0.1:")
    assert server.port > 0


def test_refuses_non_loopback_hosts(sim):
    with pytest.raises(ValueError, match="non-loopback"):
        SimulatorServer(sim, host="0.0.0.0")
    with pytest.raises(ValueError):
        SimulatorServer(sim, host="192.168.1.10")


def test_paging_over_http_reaches_the_count(http, sim):
    rows, first = follow(
        http,
        f"{Q}/Orders/Orders",
        {"$filter": "ApplicationId eq 2", "$count": "true", "$expand": "Items($select=Id)"},
    )
    truth = sim.truth("Orders", "Orders").filter(pl.col("ApplicationId") == 2)
    assert first["@odata.count"] == len(rows) == truth.height
    assert [r["Id"] for r in rows] == truth["Id"].to_list()
    lines = sum(len(r["Items"]) for r in rows)
    items = sim.store.frame("Orders", "OrderItem")
    assert lines == items.filter(pl.col("OrderId").is_in(truth["Id"].implode())).height


def test_next_links_are_absolute_urls_on_the_server(http, server):
    body = http.get(f"{Q}/Orders/Orders", params={"$select": "Id"}).json()
    assert body["@odata.nextLink"].startswith(f"{server.base_url}{Q}/Orders/Orders?")
    assert body["@odata.context"] == f"{server.base_url}{Q}/Orders/$metadata#Orders"


def test_date_header_is_the_simulated_clock_only(http, sim):
    response = http.get(f"{Q}/Core/Currencies")
    assert len(response.headers.get_list("date")) == 1
    assert "server" not in response.headers
    served = parsedate_to_datetime(response.headers["date"])
    assert abs((served - sim.clock.now()).total_seconds()) < 5


def test_errors_over_http(http):
    assert http.get(f"{Q}/Orders/OrderItems").status_code == 404
    assert http.post(f"{Q}/Orders/Orders").status_code == 405
    assert http.get(f"{Q}/Orders/Orders", params={"$filter": "Nope eq 1"}).status_code == 400
    assert http.get(f"{Q}/Orders/Orders", headers={"Authorization": "Bearer x"}).status_code == 401


def test_concurrent_clients_get_consistent_pages(http, sim):
    truth = sim.truth("Orders", "Orders")["Id"].to_list()
    results: dict[int, list[int]] = {}

    def read(app_id: int) -> None:
        rows, _ = follow(
            http, f"{Q}/Orders/Orders", {"$filter": f"ApplicationId eq {app_id}", "$select": "Id"}
        )
        results[app_id] = [r["Id"] for r in rows]

    threads = [threading.Thread(target=read, args=(a,)) for a in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(i for ids in results.values() for i in ids) == truth


def test_token_expiry_gives_401(serve):
    _, client = serve(token_ttl=1)
    assert client.get(f"{Q}/Core/Currencies").status_code == 200
    time.sleep(1.2)
    response = client.get(f"{Q}/Core/Currencies")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_token_rate_limit_gives_429(serve, token_form):
    running, _ = serve(token_burst=4, token_per_minute=3)
    url = f"{running.base_url}/identity/1.0/connect/token"
    codes = [httpx.post(url, data=token_form).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = httpx.post(url, data=token_form)
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1


def test_reset_drops_the_connection_without_a_response(serve):
    _, client = serve(faults=FaultConfig(reset_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError, match="without sending"):
        client.get(f"{Q}/Core/Currencies")
    # the server itself is fine: the token endpoint and $metadata are not affected
    assert client.get(f"{Q}/Core/$metadata").status_code == 200


def test_reset_rate_is_about_the_rate(serve):
    _, client = serve(faults=FaultConfig(reset_rate=0.25, seed=3))
    resets = 0
    for _ in range(120):
        try:
            client.get(f"{Q}/Core/Currencies")
        except httpx.RemoteProtocolError:
            resets += 1
    assert 0.15 < resets / 120 < 0.35


def test_truncated_body_over_http(serve):
    _, client = serve(faults=FaultConfig(truncate_rate=1.0))
    response = client.get(f"{Q}/Orders/Orders", params={"$top": "50"})
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(response.content)
    with pytest.raises(json.JSONDecodeError):
        response.json()


def test_invalid_json_over_http(serve):
    _, client = serve(faults=FaultConfig(invalid_json_rate=1.0))
    response = client.get(f"{Q}/Core/Currencies")
    assert response.status_code == 200
    with pytest.raises(orjson.JSONDecodeError):
        orjson.loads(response.content)


def test_rate_limit_over_http(serve):
    _, client = serve(faults=FaultConfig(rate_limit=10))
    codes = [client.get(f"{Q}/Core/Currencies").status_code for _ in range(15)]
    assert codes[:10] == [200] * 10
    assert 429 in codes[10:]
    limited = next(
        r for r in (client.get(f"{Q}/Core/Currencies") for _ in range(20)) if r.status_code == 429
    )
    assert limited.headers["retry-after"] == "1"
    time.sleep(1.05)
    assert client.get(f"{Q}/Core/Currencies").status_code == 200


def test_error_rate_and_latency_over_http(serve, token_form):
    _, client = serve(faults=FaultConfig(error_rate=0.2, latency_ms=20, seed=9))
    started = time.perf_counter()
    codes = [client.get(f"{Q}/Core/Currencies").status_code for _ in range(100)]
    elapsed = time.perf_counter() - started
    errors = sum(c != 200 for c in codes)
    assert 10 <= errors <= 30
    assert set(codes) <= {200, 500, 502, 503, 504}
    assert elapsed >= 100 * 0.020
    # faults never touch the token endpoint
    url = f"{client.base_url}/identity/1.0/connect/token"
    assert all(httpx.post(url, data=token_form).status_code == 200 for _ in range(10))


def test_poison_over_http(serve, sim):
    ids = sim.truth("Orders", "Orders")["Id"].to_list()
    _, client = serve(faults=FaultConfig.parse(f"poison=Orders/Orders:{ids[700]}"))
    codes = [
        client.get(f"{Q}/Orders/Orders", params={"$skip": str(s), "$select": "Id"}).status_code
        for s in range(0, len(ids), 500)
    ]
    assert codes == [200, 500] + [200] * (len(codes) - 2)


def test_admin_over_http(serve, sim):
    own = Simulator.create(seed=3, scale=0.01)
    running, client = serve(sim_override=own, admin=True)
    ids = client.post("/_sim/orders", json={"count": 2}).json()["ids"]
    for order_id in ids:
        assert client.get(f"{Q}/Orders/Orders({order_id})").status_code == 200
    stats = client.get("/_sim/stats").json()
    assert stats["tokens_issued"] == 1
    assert stats["requests"]["by_path"]["Orders/Orders"]["200"] == 2
    assert running.sim is own


def test_stop_closes_the_port(sim):
    running = SimulatorServer(sim).start()
    base_url = running.base_url
    assert httpx.get(f"{base_url}{Q}/Core/Currencies").status_code == 401
    running.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}{Q}/Core/Currencies", timeout=2)

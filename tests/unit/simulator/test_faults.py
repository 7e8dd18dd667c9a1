"""Fault specs and the injector's decisions, without HTTP."""

from __future__ import annotations

import time

import orjson
import polars as pl
import pytest

from simulator.faults import FaultConfig, FaultInjector, PoisonRecord, SimulatedReset


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_empty_spec_injects_nothing():
    assert FaultConfig.parse("") == FaultConfig()
    assert FaultConfig.parse(None) == FaultConfig()
    assert not FaultConfig().active
    assert not FaultConfig(seed=5).active


def test_every_key_parses():
    config = FaultConfig.parse(
        "rate_limit=20,error_rate=0.05,deep_skip=1000,deep_skip_sets=Products/Products,"
        "Orders/Orders,latency=15,latency_jitter=5,spike_rate=0.01,spike_ms=2000,"
        "truncate_rate=0.01,invalid_json_rate=0.02,reset_rate=0.03,"
        "poison=Orders/Orders:1234,poison=Products/Products:7,Orders/Orders:99,"
        "reporting_500=true,seed=7"
    )
    assert config == FaultConfig(
        rate_limit=20.0,
        error_rate=0.05,
        deep_skip=1000,
        deep_skip_sets=("Products/Products", "Orders/Orders"),
        latency_ms=15.0,
        latency_jitter_ms=5.0,
        spike_rate=0.01,
        spike_ms=2000.0,
        truncate_rate=0.01,
        invalid_json_rate=0.02,
        reset_rate=0.03,
        poison=(
            PoisonRecord("Orders/Orders", "1234"),
            PoisonRecord("Products/Products", "7"),
            PoisonRecord("Orders/Orders", "99"),
        ),
        reporting_500=True,
        seed=7,
    )
    assert config.active
    assert FaultConfig.parse(config.to_spec()) == config


def test_all_problems_are_reported_at_once():
    with pytest.raises(ValueError) as info:
        FaultConfig.parse("error_rate=2,bogus=1,latency=-5,poison=Orders,rate_limit=0,seed=x")
    message = str(info.value)
    for part in (
        "error_rate",
        "unknown fault 'bogus'",
        "latency_ms",
        "poison",
        "rate_limit",
        "seed",
    ):
        assert part in message


def test_rate_limit_is_a_sliding_one_second_window():
    clock = FakeClock()
    injector = FaultInjector(FaultConfig(rate_limit=3), clock=clock)
    assert [injector.retry_after() for _ in range(3)] == [None, None, None]
    assert injector.retry_after() == 1
    clock.now += 0.5
    assert injector.retry_after() == 1  # rejected requests do not count
    clock.now += 0.51
    assert injector.retry_after() is None
    assert injector.injected.counts == {"rate_limit": 2}


def test_no_rate_limit_by_default():
    injector = FaultInjector(FaultConfig())
    assert all(injector.retry_after() is None for _ in range(1000))


def test_error_rate_gives_gateway_statuses_at_about_the_rate():
    injector = FaultInjector(FaultConfig(error_rate=0.2, seed=3))
    outcomes = [injector.network_fault() for _ in range(2000)]
    errors = [o for o in outcomes if o is not None]
    assert 0.16 < len(errors) / 2000 < 0.24
    assert set(errors) == {500, 502, 503, 504}


def test_reset_rate():
    injector = FaultInjector(FaultConfig(reset_rate=0.1, seed=1))
    resets = sum(injector.network_fault() == "reset" for _ in range(2000))
    assert 160 < resets < 240


def test_same_seed_same_faults():
    def run(seed):
        injector = FaultInjector(FaultConfig(error_rate=0.3, seed=seed))
        return [injector.network_fault() for _ in range(50)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_deep_skip_and_reporting():
    injector = FaultInjector(FaultConfig(deep_skip=1000, reporting_500=True))
    assert injector.set_failure("Products/Products", 1000) is None
    assert injector.set_failure("Products/Products", 1001) is not None
    assert injector.set_failure("Products/Products", None) is None
    assert injector.set_failure("Orders/Orders", 5000) is None
    assert injector.set_failure("Reporting/OrderSummaryByMonth", None) is not None
    assert injector.set_failure("Core/KpiOrders", None) is not None
    assert injector.set_failure("Core/Currencies", None) is None
    assert FaultInjector(FaultConfig()).set_failure("Reporting/OrderSummaryByMonth", 0) is None


def test_poison_matches_pages_holding_the_record():
    injector = FaultInjector(FaultConfig.parse("poison=Orders/Orders:1234"))
    assert injector.poisoned("Orders/Orders", pl.Series([1233, 1234, 1235]))
    assert not injector.poisoned("Orders/Orders", pl.Series([1, 2]))
    assert not injector.poisoned("Orders/Invoices", pl.Series([1234]))
    assert not injector.poisoned("Orders/Orders", pl.Series([], dtype=pl.Int64))
    strings = FaultInjector(FaultConfig.parse("poison=Products/ProductSkus:100011"))
    assert strings.poisoned("Products/ProductSkus", pl.Series(["100011"]))


def test_mangle_truncates_or_corrupts_at_about_the_rates():
    body = b'{"value":[' + b",".join(b'{"Id":%d}' % i for i in range(100)) + b"]}"
    injector = FaultInjector(FaultConfig(truncate_rate=0.1, invalid_json_rate=0.1, seed=2))
    outcomes = [injector.mangle(body) for _ in range(2000)]
    truncated = [o for o in outcomes if len(o) < len(body)]
    corrupted = [o for o in outcomes if len(o) > len(body)]
    assert 150 < len(truncated) < 250
    assert 130 < len(corrupted) < 230
    assert all(o == body[: len(body) // 2] for o in truncated)
    assert sum(o == body for o in outcomes) == 2000 - len(truncated) - len(corrupted)


def test_latency_jitter_and_spikes():
    injector = FaultInjector(
        FaultConfig(latency_ms=10, latency_jitter_ms=5, spike_rate=0.1, spike_ms=1000, seed=4)
    )
    delays = [injector.delay_seconds() for _ in range(1000)]
    spikes = [d for d in delays if d >= 1.0]
    assert 60 < len(spikes) < 140
    normal = [d for d in delays if d < 1.0]
    assert min(normal) >= 0.010
    assert max(normal) <= 0.015
    assert FaultInjector(FaultConfig()).delay_seconds() == 0


# -- faults through the app, in process ---------------------------------------------

Q = "/commerce/query/2.0"


def statuses(client, n, path="Core/Currencies", **params):
    return [client.get(f"{Q}/{path}", params=params).status_code for _ in range(n)]


def test_no_faults_by_default(make_client):
    assert set(statuses(make_client(), 50)) == {200}


def test_error_rate_through_the_app(make_client):
    client = make_client(faults=FaultConfig(error_rate=0.3, seed=11))
    results = statuses(client, 300)
    errors = [s for s in results if s != 200]
    assert 0.22 < len(errors) / 300 < 0.38
    assert set(errors) <= {500, 502, 503, 504}
    gateway = next(
        r for r in (client.get(f"{Q}/Core/Currencies") for _ in range(100)) if r.status_code == 502
    )
    assert gateway.headers["content-type"].startswith("text/html")


def test_rate_limit_through_the_app(make_client):
    client = make_client(faults=FaultConfig(rate_limit=5))
    results = [client.get(f"{Q}/Core/Currencies") for _ in range(8)]
    assert [r.status_code for r in results] == [200] * 5 + [429] * 3
    assert results[-1].headers["retry-after"] == "1"
    # the token endpoint and $metadata are not rate limited
    assert client.get(f"{Q}/Core/$metadata").status_code == 200


def test_reset_raises_in_process(make_client):
    client = make_client(faults=FaultConfig(reset_rate=1.0))
    with pytest.raises(SimulatedReset):
        client.get(f"{Q}/Core/Currencies")


def test_truncated_and_invalid_json_bodies(make_client):
    client = make_client(faults=FaultConfig(truncate_rate=0.2, invalid_json_rate=0.2, seed=5))
    broken = 0
    for _ in range(200):
        response = client.get(f"{Q}/Core/Currencies")
        assert response.status_code == 200
        assert int(response.headers["content-length"]) == len(response.content)
        try:
            orjson.loads(response.content)
        except orjson.JSONDecodeError:
            broken += 1
    assert 0.3 < broken / 200 < 0.5


def test_deep_skip_500s_only_beyond_the_limit_on_listed_sets(make_client):
    client = make_client(faults=FaultConfig(deep_skip=100))
    assert client.get(f"{Q}/Products/Products", params={"$skip": "100"}).status_code == 200
    assert client.get(f"{Q}/Products/Products", params={"$skip": "101"}).status_code == 500
    assert client.get(f"{Q}/Orders/Orders", params={"$skip": "1000"}).status_code == 200


def test_reporting_500(make_client):
    client = make_client(faults=FaultConfig(reporting_500=True))
    assert client.get(f"{Q}/Reporting/OrderSummaryByMonth").status_code == 500
    assert client.get(f"{Q}/Core/KpiOrders").status_code == 500
    assert client.get(f"{Q}/Core/Currencies").status_code == 200
    assert make_client().get(f"{Q}/Reporting/OrderSummaryByMonth").status_code == 200


def test_poison_500s_exactly_the_pages_that_hold_the_record(make_client, small_sim):
    ids = small_sim.truth("Orders", "Orders")["Id"].to_list()
    poisoned = ids[1234]
    client = make_client(faults=FaultConfig.parse(f"poison=Orders/Orders:{poisoned}"))
    failing = []
    for skip in range(0, len(ids), 500):
        response = client.get(f"{Q}/Orders/Orders", params={"$skip": str(skip), "$select": "Id"})
        if response.status_code == 500:
            failing.append(skip)
        else:
            assert response.status_code == 200
    assert failing == [1000]
    # keyset pages around it: only the one that contains it fails
    assert (
        client.get(
            f"{Q}/Orders/Orders", params={"$filter": f"Id gt {poisoned}", "$top": "100"}
        ).status_code
        == 200
    )
    assert (
        client.get(
            f"{Q}/Orders/Orders", params={"$filter": f"Id ge {poisoned}", "$top": "1"}
        ).status_code
        == 500
    )
    assert client.get(f"{Q}/Orders/Orders({poisoned})").status_code == 500
    assert client.get(f"{Q}/Orders/Orders({ids[0]})").status_code == 200
    # a page that holds the record only inside an expand is not poisoned
    assert client.get(f"{Q}/Orders/Invoices", params={"$top": "5"}).status_code == 200


def test_latency_is_added(make_client):
    client = make_client(faults=FaultConfig(latency_ms=300))
    client.get(f"{Q}/Core/$metadata")  # rendered once, then cached
    started = time.perf_counter()
    assert client.get(f"{Q}/Core/Currencies").status_code == 200
    assert time.perf_counter() - started >= 0.3
    started = time.perf_counter()
    client.get(f"{Q}/Core/$metadata")
    assert time.perf_counter() - started < 0.3


def test_throttle_rate_answers_429_at_about_its_rate() -> None:
    from simulator.faults import FaultConfig, FaultInjector

    injector = FaultInjector(FaultConfig.parse("throttle_rate=0.2,seed=4"))
    waits = [injector.retry_after() for _ in range(2000)]
    share = sum(w is not None for w in waits) / len(waits)
    assert 0.17 < share < 0.23
    assert {w for w in waits if w is not None} == {1}

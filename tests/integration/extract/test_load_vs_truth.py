"""Issue 3 acceptance: raw tables equal the simulator's truth after full and incremental loads."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from extract import RunSummary
from extract.settings import Settings, load_settings
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.integration.truth import CHECKED, SALT, compare_table
from tests.loader import load

pytestmark = pytest.mark.slow


def settings_for(
    base_url: str, tmp: Path, overrides: dict[str, object] | None = None, **extra: str
) -> Settings:
    env = {
        "NORCE_BASE_URL": base_url,
        "NORCE_CLIENT_ID": "demo",
        "NORCE_CLIENT_SECRET": "demo-secret",
        "NORCE_WAREHOUSE": str(tmp / "norce.duckdb"),
        "NORCE_PII_SALT": SALT,
        "NORCE_MAX_RPS": "500",
        "NORCE_MAX_INFLIGHT": "4",
        **extra,
    }
    return load_settings(env=env, overrides=overrides)


def compare_all(settings: Settings, sim: Simulator, tables: tuple[str, ...] | None = None) -> int:
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        return sum(
            compare_table(con, sim, t) for t in CHECKED if tables is None or t.table in tables
        )
    finally:
        con.close()


def orders_requests(summary: RunSummary) -> int:
    return sum(p.stats.requests for p in summary.partitions if p.entity == "Orders/Orders")


@pytest.fixture
def served() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator.create(seed=7, scale=0.05)
    with SimulatorServer(sim) as srv:
        yield sim, srv.base_url


def test_full_then_incremental_load_equals_source(
    served: tuple[Simulator, str], tmp_path: Path
) -> None:
    sim, url = served
    settings = settings_for(url, tmp_path)

    first = load(settings)
    assert first.status == "ok", [p.error for p in first.partitions if p.error]
    assert not first.count_mismatches
    compared = compare_all(settings, sim)
    assert compared > 3000

    sim.advance(3600)
    new_ids = sim.create_orders(25)
    updated = sim.update_orders(30)
    sim.update_customers(10)
    forgotten_orders = sim.forget_orders(3)
    forgotten_customers = sim.forget_customers(2)
    sim.add_property("Orders", "Order", "LoyaltyTier", "Edm.String", default="gold")

    second = load(settings)
    assert second.status == "ok", [p.error for p in second.partitions if p.error]
    compare_all(settings, sim)

    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        ids = {r[0] for r in con.execute("select Id from raw.orders").fetchall()}
        assert set(new_ids) <= ids
        assert set(updated) - set(forgotten_orders) <= ids
        assert not set(forgotten_orders) & ids
        cust = {r[0] for r in con.execute("select Id from raw.customers").fetchall()}
        assert not set(forgotten_customers) & cust
        tiers = con.execute("select count(*) from raw.orders where LoyaltyTier = 'gold'").fetchone()
        assert tiers is not None and tiers[0] > 0
        change = con.execute(
            "select change, new_type from meta.schema_changes "
            "where table_name = 'orders' and column_name = 'LoyaltyTier'"
        ).fetchall()
        assert change == [("added", "VARCHAR")]
        keys = con.execute("select count(*) - count(distinct Id) from raw.orders").fetchone()
        assert keys == (0,)
    finally:
        con.close()


@pytest.mark.parametrize("scale", [0.05, 0.2])
def test_incremental_cost_follows_changes_not_table_size(scale: float, tmp_path: Path) -> None:
    sim = Simulator.create(seed=11, scale=scale)
    with SimulatorServer(sim) as srv:
        settings = settings_for(srv.base_url, tmp_path, NORCE_VERIFY_COUNTS="false")
        full = load(settings, entities=["Orders/Orders"])
        sim.advance(7200)
        sim.update_orders(10)
        small = load(settings, entities=["Orders/Orders"])
        sim.advance(7200)
        sim.update_orders(1200)
        large = load(settings, entities=["Orders/Orders"])
    apps = len({p.application_id for p in full.partitions})
    # one short page per application, whatever the table size
    assert orders_requests(small) == apps
    # 1,200 changed rows over the applications: about 1200/500 pages plus one per app
    assert orders_requests(large) <= 1200 // 500 + 2 * apps
    assert orders_requests(full) > orders_requests(large)

"""The loader against the ``docs-2.0`` tenant profile, as a new user meets it.

String order ids, ``$count`` refused, the ``applicationId`` header required on every call,
Reporting down, customers without a forget flag, delivery notes without ``Updated`` and a
per-minute quota answering 429 without ``Retry-After``: with only the required settings a
first load gets everything the tenant serves (raw equals the source), names what it skipped
and why, and a second load after changes -- people deleted at the source included -- is
still equal to the source.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from extract import RunSummary
from extract.settings import Settings, load_settings
from tests.integration.truth import CHECKED, SALT, compare_table
from tests.loader import load

pytestmark = pytest.mark.slow


def required_only(base_url: str, tmp: Path, **extra: str) -> Settings:
    """The three required settings; a salt to compare hashes; the warehouse in ``tmp``."""
    env = {
        "NORCE_BASE_URL": base_url,
        "NORCE_CLIENT_ID": "demo",
        "NORCE_CLIENT_SECRET": "demo-secret",
        "NORCE_WAREHOUSE": str(tmp / "norce.duckdb"),
        "NORCE_PII_SALT": SALT,
        **extra,
    }
    return load_settings(env=env)


def equal_to_source(settings: Settings, sim: object) -> int:
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        return sum(compare_table(con, sim, t) for t in CHECKED if t.table != "order_summary")
    finally:
        con.close()


def q(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_docs_tenant_first_and_second_run(profile_sim_server, tmp_path: Path) -> None:
    server = profile_sim_server("docs-2.0", scale=0.05, seed=21)
    sim = server.sim
    settings = required_only(server.base_url, tmp_path)

    first = load(settings)
    assert_first_run(first)
    assert equal_to_source(settings, sim) > 3000
    # every order id is a string, the delivery notes loaded by Created
    assert q(settings, "select typeof(Id) from raw.orders limit 1") == [("VARCHAR",)]
    notes = sim.truth("Orders", "DeliveryNotes").height
    assert q(settings, "select count(*) from raw.delivery_notes") == [(notes,)]

    sim.advance(3600)
    sim.create_orders(20)
    sim.update_orders(25)
    deleted = sim.served_ids("Customers", "Customer", sim.delete_customers(3))
    sim.update_customers(5)

    second = load(settings)
    assert second.status == "partial" and [s.entity for s in second.skipped] == [
        "Reporting/OrderSummaryByMonth"
    ]
    assert not [p for p in second.partitions if p.status == "failed"]
    # capabilities were reused: planning asked no probe (applications, $metadata, sweeps)
    assert second.overhead.requests < first.overhead.requests - 15
    equal_to_source(settings, sim)
    left = q(settings, f"select count(*) from raw.customers where Id in {tuple(deleted)}")
    assert left == [(0,)]  # deleted people left raw: the key sweep of a degraded set
    purges = q(settings, "select reason, sum(keys) from meta.purges group by 1 order by 1")
    assert ("deleted at the source", 3) in purges


def assert_first_run(first: RunSummary) -> None:
    assert first.status == "partial"
    (skipped,) = first.skipped
    assert skipped.entity == "Reporting/OrderSummaryByMonth"
    assert "Reporting/$metadata" in skipped.reason and "HTTP 500" in skipped.reason
    assert not [p for p in first.partitions if p.status == "failed"]
    assert first.application_context is not None
    assert "refused it without the header" in first.application_context
    assert [d.split(" ")[0] for d in first.degraded] == ["Customers/Customers"]
    caps = {c.entity: c for c in first.capabilities}
    assert caps["Orders/Orders"].text_keys and caps["Orders/Orders"].count is False
    assert all(p.source_count is None for p in first.partitions)  # no $count, no failure
    assert any("$count refused" in f for f in first.fallbacks)
    assert any("Orders/DeliveryNotes" in w and "use Created" in w for w in first.warnings)


def test_a_per_minute_quota_is_waited_out(profile_sim_server, tmp_path: Path) -> None:
    """429 without Retry-After, a quota of 10 requests per 3 s window: the load completes and
    says how long it waited (the 60 s window of the docs-2.0 profile, made short)."""
    server = profile_sim_server("docs-2.0,minute_budget=10,budget_window_s=3", scale=0.02, seed=22)
    settings = required_only(server.base_url, tmp_path, NORCE_MAX_RPS="50")
    summary = load(settings, entities=[t for t in ENTITIES_OF_CHECKED])
    assert not [p for p in summary.partitions if p.status == "failed"]
    seconds = (summary.finished_at - summary.started_at).total_seconds()
    assert summary.total("rate_limited") > 0, (summary.total("requests"), seconds)
    assert summary.total("rate_limit_waits") > 0 and summary.rate_limit_wait_s > 1.0
    assert equal_to_source(settings, server.sim) > 1000


ENTITIES_OF_CHECKED = (
    "Orders/Orders",
    "Products/Products",
    "Products/ProductSkus",
    "Products/ProductSkuPriceLists",
    "Customers/Customers",
    "Customers/CustomerCompanies",
    "Core/Currencies",
    "Core/Applications",
)


def test_truth_of_the_docs_tenant_keeps_customers_without_a_flag(profile_sim_server) -> None:
    """The comparison itself: a tenant without IsForgotten has no rows to leave out."""
    sim = profile_sim_server("docs-2.0", scale=0.05, seed=21).sim
    assert "IsForgotten" not in sim.truth("Customers", "Customers").columns
    assert sim.truth("Orders", "Orders").schema["Id"] == pl.String

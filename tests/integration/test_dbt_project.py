"""dbt project acceptance: the marts say what the simulator's own data says.

One module-scoped pipeline: start the simulator on loopback, run the real extract, then
``dbt build``. Expectations are computed independently from the simulator's truth frames
with polars (never from the marts or the raw tables), then compared with the marts. A
second stage changes the tenant (new, updated and forgotten orders, forgotten customers),
loads incrementally, builds incrementally, and checks fct_orders against the truth again,
that forgotten customers are in no mart, and that the incremental result equals a
``--full-refresh`` rebuild.

Marts are read into polars right after each build, so tests do not depend on run order.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from extract import erase
from extract.settings import Settings, load_settings
from flows.dbt_runner import DbtRunResult, dbt_build, run_dbt
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.loader import load

pytestmark = pytest.mark.slow

SALT = "dbt-project-test-salt"
MARTS = (
    "fct_orders",
    "fct_order_lines",
    "dim_customers",
    "dim_products",
    "dim_date",
    "mart_sales_daily",
    "mart_sales_monthly",
    "mart_customer_cohorts",
    "mart_customer_rfm",
    "mart_product_performance",
    "mart_reporting_reconciliation",
)


# ----------------------------------------------------------------------------- truth


def email_hash(email: str) -> str:
    """The loader's privacy rule, re-derived: salted SHA-256 of the normalised email."""
    return hashlib.sha256((SALT + "\x00" + email.strip().lower()).encode()).hexdigest()


def truth_orders(sim: Simulator) -> pl.DataFrame:
    """Orders the warehouse must hold, one row each, with customer, month and net amount.

    Forgotten orders are gone; the customer is the buyer's normalised email (the key the
    marts hash); the net amount is the sum of all line amounts, freight included.
    """
    orders = sim.truth("Orders", "Orders").filter(~pl.col("IsForgotten"))
    buyers = sim.store.frame("Orders", "OrderCustomerInfo").select(
        pl.col("Id").alias("BuyerCustomerInfoId"), pl.col("EmailAddress").alias("email")
    )
    net = (
        sim.store.frame("Orders", "OrderItem")
        .group_by("OrderId")
        .agg(pl.col("LineAmount").sum().alias("net_amount"))
    )
    return (
        orders.join(buyers, on="BuyerCustomerInfoId", how="left")
        .join(net, left_on="Id", right_on="OrderId", how="left")
        .with_columns(
            customer=pl.coalesce(
                pl.col("email").str.strip_chars().str.to_lowercase(),
                pl.format("order-{}", pl.col("Id")),
            ),
            month=pl.col("OrderDate").dt.convert_time_zone("UTC").dt.truncate("1mo").dt.date(),
            cancelled=pl.col("StatusId") == 6,
        )
    )


def truth_lines(sim: Simulator, orders: pl.DataFrame) -> pl.DataFrame:
    """Merchandise lines of orders that count as revenue, with their product."""
    skus = sim.truth("Products", "ProductSkus").select("PartNo", "ProductId")
    return (
        sim.store.frame("Orders", "OrderItem")
        .filter(pl.col("PartNo") != "FREIGHT")
        .join(orders.filter(~pl.col("cancelled")).select("Id"), left_on="OrderId", right_on="Id")
        .join(skus, on="PartNo", how="left")
    )


def sim_rates(sim: Simulator) -> pl.DataFrame:
    """Currency code -> value of one unit in EUR, from Core/Currencies."""
    return sim.truth("Core", "Currencies").select("Code", "ExchangeRate")


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


# ----------------------------------------------------------------------------- pipeline


@dataclass
class Build:
    """One dbt build and the marts it left, read right after it."""

    result: DbtRunResult
    marts: dict[str, pl.DataFrame]


@dataclass
class Pipeline:
    sim: Simulator
    settings: Settings
    orders: pl.DataFrame
    """truth_orders() at the time of the first build."""
    first: Build


def settings_for(base_url: str, tmp: Path) -> Settings:
    return load_settings(
        env={
            "NORCE_BASE_URL": base_url,
            "NORCE_CLIENT_ID": "demo",
            "NORCE_CLIENT_SECRET": "demo-secret",
            "NORCE_WAREHOUSE": str(tmp / "norce.duckdb"),
            "NORCE_PII_SALT": SALT,
            "NORCE_MAX_RPS": "200",
            "NORCE_MAX_INFLIGHT": "4",
        }
    )


def read_marts(database: Path) -> dict[str, pl.DataFrame]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return {name: con.sql(f"select * from marts.{name}").pl() for name in MARTS}
    finally:
        con.close()


def build(database: Path, **kwargs: object) -> Build:
    result = dbt_build(database, **kwargs)  # type: ignore[arg-type]
    return Build(result, read_marts(database))


def extract(settings: Settings) -> None:
    summary = load(settings)
    assert summary.status == "ok", [p.error for p in summary.partitions if p.error]


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Simulator, str]]:
    sim = Simulator.create(seed=42, scale=0.1)
    with SimulatorServer(sim, admin=True) as srv:
        yield sim, srv.base_url


@pytest.fixture(scope="module")
def pipeline(server: tuple[Simulator, str], tmp_path_factory: pytest.TempPathFactory) -> Pipeline:
    sim, base_url = server
    settings = settings_for(base_url, tmp_path_factory.mktemp("warehouse"))
    extract(settings)
    first = build(settings.warehouse.work_database)
    return Pipeline(sim, settings, truth_orders(sim), first)


@dataclass
class Changed:
    """The second stage: what was changed at the source and what the builds left."""

    orders: pl.DataFrame
    created: list[int]
    updated: list[int]
    forgotten_orders: list[int]
    forgotten_customers: list[int]
    forgotten_hashes: set[str]
    erased_hash: str
    incremental: Build
    incremental_sql: str
    """What dbt executed for fct_orders in the incremental build."""
    full_refresh: Build


@pytest.fixture(scope="module")
def changed(pipeline: Pipeline) -> Changed:
    sim, settings = pipeline.sim, pipeline.settings
    work_db = settings.warehouse.work_database
    customers = sim.truth("Customers", "Customers")

    sim.advance(3600)
    created = sim.create_orders(40)
    updated = sim.update_orders(60)
    forgotten_orders = sim.forget_orders(3)
    # schema drift: the loader adds the column to raw; staging, which names its columns,
    # must not care
    sim.add_property("Orders", "Order", "LoyaltyTier", "Edm.String", default="gold")
    # Remember who they were: forgetting blanks the source's emails.
    registered = pipeline.orders.filter(pl.col("BuyerCustomerId").is_not_null())
    candidates = registered["BuyerCustomerId"].unique().sort().to_list()[:4]
    before = customers.filter(pl.col("Id").is_in(candidates))
    forgotten_customers = sim.forget_customers(ids=candidates)
    forgotten_hashes = {email_hash(e) for e in before["EmailAddress"].to_list() if e}

    # An erasure (norce-wh erase) while the source still sends the person's rows: removed
    # from raw, re-applied after every load, and hidden by staging. A buyer with orders that
    # are not cancelled, so Norce's Reporting (which still counts them) differs from our
    # facts by exactly those orders -- the reconciliation mart must account for them.
    orders_now = truth_orders(sim)
    buyers = (
        orders_now.filter(~pl.col("customer").str.starts_with("order-"))
        .group_by("customer")
        .agg((~pl.col("cancelled")).sum().alias("kept"))
        .filter(pl.col("kept") >= 2)
        .sort("customer")
    )
    assert buyers.height > 0, "the simulated tenant has no repeat buyer"
    erased_hash = email_hash(buyers["customer"][0])

    extract(settings)
    with erase(settings, email=buyers["customer"][0]) as erased:
        assert erased.email_hash == erased_hash and erased.rows_removed > 0

    incremental = build(work_db)
    executed = incremental.result.target_path / "run/norce_warehouse/models/marts/fct_orders.sql"
    incremental_sql = executed.read_text()
    full_refresh = build(work_db, full_refresh=True)
    return Changed(
        truth_orders(sim),
        created,
        updated,
        forgotten_orders,
        forgotten_customers,
        forgotten_hashes,
        erased_hash,
        incremental,
        incremental_sql,
        full_refresh,
    )


# ----------------------------------------------------------------------------- helpers


def assert_clean(result: DbtRunResult) -> None:
    """Every node passed; the only tolerated warnings are none."""
    assert result.error is None, result.error
    assert result.success, result.summary()
    bad = [(n.name, n.status, n.message) for n in result.nodes if n.status in ("fail", "error")]
    assert not bad, bad
    assert not result.warned_nodes, [(n.name, n.message) for n in result.warned_nodes]


def by_order(frame: pl.DataFrame, *columns: str) -> dict[int, tuple[object, ...]]:
    return {row[0]: tuple(row[1:]) for row in frame.select("order_id", *columns).iter_rows()}


# ----------------------------------------------------------------------------- first build


def test_first_build_passes_every_test(pipeline: Pipeline) -> None:
    result = pipeline.first.result
    assert_clean(result)
    kinds = result.counts()
    assert kinds.get("pass", 0) > 150  # data tests and unit tests all ran
    types = {n.resource_type for n in result.nodes}
    assert {"model", "test", "seed", "unit_test"} <= types
    assert all(pipeline.first.marts[name].height > 0 for name in MARTS)


def test_monthly_net_revenue_per_application_equals_truth(pipeline: Pipeline) -> None:
    expected = {
        (app, month): amount
        for app, month, amount in pipeline.orders.filter(~pl.col("cancelled"))
        .group_by("ApplicationId", "month")
        .agg(pl.col("net_amount").sum())
        .iter_rows()
    }
    mart = pipeline.first.marts["mart_sales_monthly"]
    actual = {
        (app, month): amount
        for app, month, amount in mart.group_by("application_id", "order_month")
        .agg(pl.col("net_revenue").sum())
        .iter_rows()
    }
    assert len(expected) > 24
    # one named month first, for a readable failure, then every month of every application
    month = date(2025, 12, 1)
    for app in sorted({a for a, _ in expected}):
        assert Decimal(actual[(app, month)]) == Decimal(expected[(app, month)]), (app, month)
    assert {k: Decimal(v) for k, v in actual.items()} == {
        k: Decimal(v) for k, v in expected.items()
    }


def test_cohort_retention_equals_truth(pipeline: Pipeline) -> None:
    paid = pipeline.orders.filter(~pl.col("cancelled"))
    first_month = paid.group_by("customer").agg(pl.col("month").min().alias("cohort"))
    cohort_month = date(2025, 6, 1)
    members = first_month.filter(pl.col("cohort") == cohort_month)["customer"]
    assert members.len() > 10

    mart = pipeline.first.marts["mart_customer_cohorts"].filter(
        pl.col("cohort_month") == cohort_month
    )
    for k in (0, 1, 2):
        active = (
            paid.filter(
                pl.col("customer").is_in(members.implode())
                & (pl.col("month") == add_months(cohort_month, k))
            )["customer"]
            .unique()
            .len()
        )
        row = mart.filter(pl.col("months_since_first_order") == k).row(0, named=True)
        assert row["cohort_size"] == members.len()
        assert row["active_customers"] == active, k
        assert row["retention_rate"] == pytest.approx(active / members.len()), k


def test_product_units_equal_truth(pipeline: Pipeline) -> None:
    lines = truth_lines(pipeline.sim, pipeline.orders)
    expected = lines.group_by("ProductId").agg(pl.col("QtyOrdered").sum().alias("units"))
    top = expected.sort("units", "ProductId", descending=[True, False]).row(0, named=True)
    mart = pipeline.first.marts["mart_product_performance"]
    actual = mart.group_by("product_id").agg(pl.col("units").sum())
    units = dict(actual.iter_rows())
    assert Decimal(units[top["ProductId"]]) == Decimal(top["units"])
    assert {k: Decimal(v) for k, v in units.items()} == {
        k: Decimal(v) for k, v in expected.iter_rows()
    }


def test_reconciliation_matches_norce_reporting(pipeline: Pipeline) -> None:
    mart = pipeline.first.marts["mart_reporting_reconciliation"]
    assert mart.height > 24
    assert set(mart["reconciliation_status"].to_list()) == {"matched"}


def test_fct_orders_holds_every_order_once(pipeline: Pipeline) -> None:
    fct = pipeline.first.marts["fct_orders"]
    expected = pipeline.orders
    assert sorted(fct["order_id"].to_list()) == sorted(expected["Id"].to_list())
    got = by_order(fct, "status_id", "order_net_amount")
    want = {
        row[0]: (row[1], row[2])
        for row in expected.select("Id", "StatusId", "net_amount").iter_rows()
    }
    assert got == want


def test_every_mart_and_column_is_documented(pipeline: Pipeline) -> None:
    work_db = pipeline.settings.warehouse.work_database
    result = run_dbt(["docs", "generate"], work_database=work_db)
    assert result.success, result.error
    manifest = json.loads((result.target_path / "manifest.json").read_text())
    catalog = json.loads((result.target_path / "catalog.json").read_text())
    undocumented: list[str] = []
    for name in MARTS:
        node = manifest["nodes"][f"model.norce_warehouse.{name}"]
        if not node["description"].strip():
            undocumented.append(name)
        documented = {c for c, spec in node["columns"].items() if spec["description"].strip()}
        built = set(catalog["nodes"][f"model.norce_warehouse.{name}"]["columns"])
        undocumented += [f"{name}.{c}" for c in sorted(built - documented)]
    assert not undocumented
    exposures = {e["label"] for e in manifest["exposures"].values()}
    assert exposures == {
        "Sales overview",
        "Customer retention",
        "Product performance",
        "Finance reconciliation",
    }


def test_reporting_currency_switch_and_unknown_currency(pipeline: Pipeline, tmp_path: Path) -> None:
    # A copy of the built warehouse, so the shared one stays as it is.
    database = tmp_path / "copy.work.duckdb"
    shutil.copyfile(pipeline.settings.warehouse.work_database, database)

    unknown = dbt_build(database, env={"NORCE_REPORTING_CURRENCY": "XXX"})
    assert not unknown.success
    assert "assert_reporting_currency_is_known" in {n.name for n in unknown.failed_nodes}

    # The file is released after a failed run, and a new currency reprocesses every order.
    switched = build(database, env={"NORCE_REPORTING_CURRENCY": "SEK"})
    assert_clean(switched.result)
    rates = dict(sim_rates(pipeline.sim).iter_rows())
    fct = switched.marts["fct_orders"]
    assert set(fct["reporting_currency_code"].to_list()) == {"SEK"}
    for order_id, code, net, net_rc in fct.select(
        "order_id", "currency_code", "order_net_amount", "order_net_amount_rc"
    ).iter_rows():
        expected = Decimal(net) * Decimal(rates[code]) / Decimal(rates["SEK"])
        assert abs(Decimal(net_rc) - expected) <= Decimal("0.0001"), order_id


def test_missing_reporting_set_warns_but_builds(pipeline: Pipeline, tmp_path: Path) -> None:
    database = tmp_path / "copy.work.duckdb"
    shutil.copyfile(pipeline.settings.warehouse.work_database, database)
    for change in (
        "delete from raw.order_summary_by_month",  # the set answered 500: nothing loaded
        "drop table raw.order_summary_by_month",  # or it was never created
    ):
        con = duckdb.connect(str(database))
        try:
            con.execute(change)
        finally:
            con.close()
        result = build(database, select="stg_norce__order_summary_by_month+")
        assert result.result.success, result.result.summary()
        assert not result.result.failed_nodes
        assert [n.name for n in result.result.warned_nodes] == [
            "assert_reporting_summary_available"
        ], change
        assert result.marts["mart_reporting_reconciliation"].height == 0, change
        assert result.marts["fct_orders"].height == pipeline.first.marts["fct_orders"].height


def test_missing_work_database_is_an_error_not_an_empty_build(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "norce.work.duckdb"
    result = dbt_build(missing)
    assert not result.success
    assert result.error is not None and "does not exist" in result.error
    assert "run an extract first" in result.error
    assert not missing.exists()


# ----------------------------------------------------------------------------- after changes


def test_incremental_build_passes_every_test(changed: Changed) -> None:
    assert_clean(changed.incremental.result)
    assert_clean(changed.full_refresh.result)
    # it really was incremental: rows replaced by order_id, not the table rebuilt
    assert changed.incremental_sql.lstrip().startswith("delete from")


def test_incremental_fct_orders_equals_truth(pipeline: Pipeline, changed: Changed) -> None:
    fct = changed.incremental.marts["fct_orders"]
    before = by_order(pipeline.first.marts["fct_orders"], "status_id")
    after = by_order(fct, "status_id")
    assert any(before.get(i) != after.get(i) for i in changed.updated), "no update reached fct"
    erased = pl.col("customer").map_elements(email_hash, return_dtype=pl.String) == (
        changed.erased_hash
    )
    expected = changed.orders.filter(~erased)
    assert set(changed.created) <= set(fct["order_id"].to_list())
    assert not set(changed.forgotten_orders) & set(fct["order_id"].to_list())
    got = by_order(fct, "status_id", "order_net_amount")
    want = {
        row[0]: (row[1], row[2])
        for row in expected.select("Id", "StatusId", "net_amount").iter_rows()
    }
    assert got == want


def test_forgotten_and_erased_customers_are_in_no_mart(changed: Changed) -> None:
    marts = changed.incremental.marts
    hidden = changed.forgotten_hashes | {changed.erased_hash}
    assert len(hidden) >= 2
    for name in ("fct_orders", "fct_order_lines", "dim_customers", "mart_customer_rfm"):
        keys = set(marts[name]["customer_key"].to_list())
        assert not hidden & keys, name
    for name in ("fct_orders", "dim_customers"):
        column = "buyer_customer_id" if name == "fct_orders" else "customer_id"
        assert not set(changed.forgotten_customers) & set(marts[name][column].to_list()), name
    lines = set(marts["fct_order_lines"]["order_id"].to_list())
    assert not set(changed.forgotten_orders) & lines


def test_incremental_result_equals_full_refresh(changed: Changed) -> None:
    for name in MARTS:
        incremental = changed.incremental.marts[name]
        rebuilt = changed.full_refresh.marts[name]
        assert incremental.columns == rebuilt.columns, name
        order = incremental.columns
        assert incremental.sort(order).equals(rebuilt.sort(order)), name


def test_reconciliation_accounts_for_local_erasures(changed: Changed) -> None:
    mart = changed.incremental.marts["mart_reporting_reconciliation"]
    assert mart["erased_order_count"].sum() >= 2
    assert set(mart["reconciliation_status"].to_list()) == {"matched"}

"""`norce-wh metrics`: the semantic layer answers from the published file, as the marts do.

Every figure is checked against the marts' own tables (SQL written here, not by
MetricFlow), on the session's published run: the metrics must say what the marts say.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from flows.cli import main
from flows.metrics import MetricsRequest, SemanticLayer, semantic_manifest_path
from tests.flows.helpers import PublishedRun, query, use_env

REQUIRED = {
    "net_revenue",
    "merchandise_revenue",
    "orders",
    "customers",
    "average_order_value",
    "margin",
    "units",
    "returns",
}


@pytest.fixture(scope="module")
def layer(published_run: PublishedRun) -> SemanticLayer:
    return SemanticLayer(published_run.target)


@pytest.fixture
def warehouse_only(published_run: PublishedRun, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Only NORCE_WAREHOUSE set: a metrics command needs no API settings."""
    use_env(monkeypatch, {"NORCE_WAREHOUSE": str(published_run.target)})
    return published_run.target


def metrics(*args: str) -> Result:
    return CliRunner().invoke(main, ["metrics", *args], catch_exceptions=False)


def answer(layer: SemanticLayer, request: MetricsRequest) -> list[tuple[Any, ...]]:
    con = layer.connect()
    try:
        return con.execute(layer.compile(request)).fetchall()
    finally:
        con.close()


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_the_manifest_is_published_beside_the_warehouse(published_run: PublishedRun) -> None:
    manifest = json.loads(semantic_manifest_path(published_run.target).read_text())
    assert {m["name"] for m in manifest["metrics"]} >= REQUIRED
    spine = manifest["project_configuration"]["time_spines"]
    assert [s["node_relation"]["alias"] for s in spine] == ["dim_date"]


def test_list_names_every_metric_a_bi_user_asks_for(warehouse_only: Path) -> None:
    result = metrics("--list")
    assert result.exit_code == 0, result.output
    listed = {line.split()[0] for line in result.stdout.splitlines()}
    assert listed >= REQUIRED


def test_net_revenue_by_month_and_application_equals_the_monthly_mart(
    warehouse_only: Path,
) -> None:
    result = metrics("net_revenue,orders", "--by", "month,application", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["month", "application", "net_revenue", "orders"]
    got = {
        (r["month"], r["application"]): (cents(r["net_revenue"]), int(r["orders"])) for r in rows
    }
    mart = query(
        warehouse_only,
        "select order_month, application_name, sum(net_revenue_rc), sum(orders)"
        " from marts.mart_sales_monthly group by all",
    )
    expected = {(m.isoformat(), a): (cents(n), int(o)) for m, a, n, o in mart}
    assert got == expected
    assert len(expected) > 10


def test_totals_of_every_additive_metric_equal_the_daily_mart(layer: SemanticLayer) -> None:
    names = ("merchandise_revenue", "margin", "units", "returns", "net_revenue_after_returns")
    [got] = answer(layer, MetricsRequest(names))
    [expected] = query(
        layer.warehouse,
        "select sum(merchandise_revenue_rc), sum(margin_amount_rc), sum(units),"
        " sum(returned_revenue_rc), sum(net_revenue_after_returns_rc)"
        " from marts.mart_sales_daily",
    )
    assert [cents(v) for v in got] == [cents(v) for v in expected]
    assert got[3] > 0  # the simulated shop has returns


def test_customers_are_counted_distinct_not_summed(layer: SemanticLayer) -> None:
    by_year = dict(answer(layer, MetricsRequest(("customers",), ("year",))))
    [(overall,)] = answer(layer, MetricsRequest(("customers",)))
    [(distinct,)] = query(
        layer.warehouse,
        "select count(distinct customer_key) from marts.fct_orders where not is_cancelled",
    )
    assert overall == distinct
    assert sum(by_year.values()) > overall  # people who ordered in two years count once


def test_average_order_value_is_net_revenue_per_order(layer: SemanticLayer) -> None:
    rows = answer(
        layer,
        MetricsRequest(
            ("average_order_value", "net_revenue", "orders"),
            ("quarter",),
            start=date(2025, 1, 1),
            end=date(2025, 12, 31),
        ),
    )
    assert rows and all(q.year == 2025 for q, *_ in rows)
    for _, aov, revenue, orders in rows:
        assert aov == pytest.approx(float(revenue) / orders)


def test_unknown_names_are_one_line_with_suggestions(warehouse_only: Path) -> None:
    result = CliRunner().invoke(main, ["metrics", "net_revenu", "--by", "month"])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: net_revenu: ") and "'net_revenue'" in line
    assert "norce-wh metrics --list" in line


def test_without_a_published_manifest_it_says_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_env(monkeypatch, {"NORCE_WAREHOUSE": str(tmp_path / "norce.duckdb")})
    result = CliRunner().invoke(main, ["metrics", "net_revenue"])
    assert result.exit_code == 8
    assert "norce.semantic.json" in result.stderr and "norce-wh run" in result.stderr

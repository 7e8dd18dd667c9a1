"""The flow and every other caller take the loader's one path, and say what a run was."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from flows.flow import norce_elt
from tests.flows.helpers import pipeline_env, use_env
from tests.integration.extract.test_load_vs_truth import settings_for
from tests.loader import load

pytestmark = pytest.mark.slow

ORDERS = ["Orders/Orders"]


def q(database: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.usefixtures("prefect_harness")
def test_a_budget_spent_while_planning_ends_the_flow_cleanly(
    sim_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Core/Applications and Orders/$metadata take the budget; the key bounds do not fit.
    target = tmp_path / "norce.duckdb"
    use_env(monkeypatch, pipeline_env(sim_server, target, NORCE_REQUEST_BUDGET="2"))
    report = norce_elt(entities=ORDERS, run_dbt=False)
    summary = report.summary
    assert (summary.status, summary.budget_spent, summary.partitions) == ("budget", True, [])
    assert summary.exit_code == 0
    assert "request budget spent while planning; nothing extracted" in summary.warnings
    assert q(target, "select status from meta.run_history") == [("budget",)]


def test_a_first_load_is_labelled_first_and_the_next_run_incremental(
    sim_server: Any, tmp_path: Path
) -> None:
    settings = settings_for(sim_server.base_url, tmp_path)
    entities = [*ORDERS, "Core/Currencies"]
    first = load(settings, entities=entities)
    second = load(settings, entities=entities)
    assert (first.mode, second.mode) == ("first", "incremental")
    database = settings.warehouse.work_database
    runs = q(database, "select mode from meta.run_history order by started_at")
    assert runs == [("first",), ("incremental",)]
    modes = q(
        database,
        "select h.mode, r.entity, r.mode from meta.runs r join meta.run_history h using (run_id) "
        "group by all order by 1, 2",
    )
    assert modes == [
        ("first", "Core/Currencies", "full"),  # a lookup is reloaded in full every run
        ("first", "Orders/Orders", "first"),
        ("incremental", "Core/Currencies", "full"),
        ("incremental", "Orders/Orders", "incremental"),
    ]

"""The norce_elt flow end to end against the simulator, under a temporary Prefect API."""

from __future__ import annotations

import json

import pytest

from flows.render import OVERHEAD_ENTITY
from flows.report import RunReport
from tests.flows.helpers import PublishedRun, artifacts_of, query

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def test_flow_runs_end_to_end_and_artifacts_match_the_warehouse(
    published_run: PublishedRun,
) -> None:
    target, state = published_run.target, published_run.state
    report = state.result()
    assert isinstance(report, RunReport)
    run_id = report.summary.run_id
    assert report.summary.status == "ok"
    assert report.dbt is not None and report.dbt.success
    assert report.publish is not None and report.publish.target == target

    # what meta.runs and the published warehouse say
    per_entity = {
        entity: (rows, requests)
        for entity, rows, requests in query(
            target,
            "select entity, sum(rows), sum(requests) from meta.runs where run_id = ? "
            "group by entity",
            [run_id],
        )
    }
    history = query(
        target, "select requests, rows, status from meta.run_history where run_id = ?", [run_id]
    )
    assert history == [(report.summary.total("requests"), report.summary.total("rows"), "ok")]

    artifacts = artifacts_of(state.state_details.flow_run_id)
    assert {"norce-elt-report", "norce-elt-entities"} <= set(artifacts)
    table = artifacts["norce-elt-entities"].data
    rows = json.loads(table) if isinstance(table, str) else table
    by_entity = {r["entity"]: r for r in rows}
    overhead = by_entity.pop(OVERHEAD_ENTITY)
    assert set(by_entity) == set(per_entity)
    for entity, r in by_entity.items():
        assert (r["rows_loaded"], r["requests"]) == per_entity[entity], entity
        live = query(target, f"select count(*) from {r['table']} where _deleted_at is null")
        assert r["table_rows"] == live[0][0], r["table"]
    assert overhead["requests"] > 0  # $metadata per namespace, at least
    assert sum(r["requests"] for r in rows) == history[0][0]

    markdown = artifacts["norce-elt-report"].data
    assert run_id in markdown
    assert f"| API requests | {history[0][0]:,} |" in markdown
    orders_rows = query(target, "select count(*) from raw.orders where _deleted_at is null")[0][0]
    assert f"| raw.orders | {orders_rows:,} |" in markdown
    assert "## dbt build" in markdown
    assert "model.norce_warehouse.fct_orders" in markdown

    # the marts are in the published file
    assert query(target, "select count(*) from marts.fct_orders")[0][0] == orders_rows

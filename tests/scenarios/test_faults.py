"""Scenario: a bad day at the API -- 20% 429s with Retry-After, 5% 5xx, latency spikes,
truncated and invalid JSON, connection resets, deep-offset 500s and one poison record.

Promise: the run completes; raw equals the source except the poison record, which is
quarantined, reported in the run summary and stored in meta.quarantine.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from simulator.control import Simulator
from simulator.faults import FaultConfig
from simulator.server import SimulatorServer
from tests.integration.extract.test_load_vs_truth import settings_for
from tests.integration.truth import CHECKED, compare_table
from tests.loader import load

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

DEEP_SETS = "Orders/Orders,Products/Products,Products/ProductSkuPriceLists,Customers/Customers"


def test_bad_day_at_the_api(tmp_path: Path) -> None:
    sim = Simulator.create(seed=8, scale=0.02)
    orders = sim.truth("Orders", "Orders").filter(~pl.col("IsForgotten"))
    poison = int(orders.filter(pl.col("ApplicationId") == 1)["Id"][123])
    faults = FaultConfig.parse(
        "throttle_rate=0.2,error_rate=0.05,spike_rate=0.02,spike_ms=400,"
        "truncate_rate=0.02,invalid_json_rate=0.01,reset_rate=0.02,"
        f"deep_skip=400,deep_skip_sets={DEEP_SETS},"
        f"poison=Orders/Orders:{poison},seed=13"
    )
    with SimulatorServer(sim, faults=faults) as srv:
        settings = settings_for(
            srv.base_url,
            tmp_path,
            overrides={"throttle.backoff_base_s": 0.05, "throttle.backoff_max_s": 1.0},
            NORCE_MAX_RPS="100",
            NORCE_MAX_RETRIES="8",
        )
        summary = load(settings)
        injected = dict(srv.app.faults.injected.counts)

    assert summary.status == "ok", [p.error for p in summary.partitions if p.error]
    assert summary.total("quarantined") == 1
    assert summary.total("rate_limited") == injected.get("throttle", 0) > 10
    assert summary.total("retries") >= sum(injected.values()) - injected.get("spike", 0) - 20
    assert "deep_skip" not in injected  # keyset paging never asks for deep offsets

    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        (quarantined,) = con.execute(
            "select entity, application_id, key_after, key_before from meta.quarantine"
        ).fetchall()
        assert quarantined[:2] == ("Orders/Orders", 1)
        compared = sum(compare_table(con, sim, t, exclude={"orders": {poison}}) for t in CHECKED)
        assert compared > 1000
    finally:
        con.close()
    print(f"faults injected {injected}; retries {summary.total('retries')}; rows {compared}")

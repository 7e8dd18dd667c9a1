"""Issue 3 acceptance: a load under every fault still equals the source, but for one
poison record, which is quarantined and reported."""

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

pytestmark = pytest.mark.slow


def test_load_under_faults_matches_source_except_quarantined_poison(tmp_path: Path) -> None:
    sim = Simulator.create(seed=5, scale=0.05)
    orders = sim.truth("Orders", "Orders").filter(~pl.col("IsForgotten"))
    poison = int(orders.filter(pl.col("ApplicationId") == 2)["Id"][100])
    faults = FaultConfig.parse(
        f"rate_limit=15,error_rate=0.05,truncate_rate=0.02,invalid_json_rate=0.01,"
        f"reset_rate=0.02,latency=2,latency_jitter=5,spike_rate=0.01,spike_ms=300,"
        f"deep_skip=1000,poison=Orders/Orders:{poison},seed=9"
    )
    with SimulatorServer(sim, faults=faults) as srv:
        settings = settings_for(
            srv.base_url,
            tmp_path,
            overrides={"throttle.backoff_base_s": 0.02, "throttle.backoff_max_s": 0.5},
            NORCE_MAX_RPS="200",
            NORCE_MAX_RETRIES="8",
        )
        summary = load(settings)

    assert summary.status == "ok", [p.error for p in summary.partitions if p.error]
    assert summary.total("quarantined") == 1
    # the faults really happened and were absorbed by retries
    assert summary.total("retries") > 10
    assert summary.total("rate_limited") > 0

    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        rows = con.execute(
            "select entity, application_id, key_after, key_before, error from meta.quarantine"
        ).fetchall()
        assert len(rows) == 1
        entity, app, after, before, error = rows[0]
        assert (entity, app) == ("Orders/Orders", 2)
        lo = int(after.strip("[]")) if after else 0
        hi = int(before.strip("[]")) if before else 2**62
        assert lo < poison < hi
        # the poison answers 500; a random 5xx of the fault mix may be the last one seen
        assert "server error" in error and "(HTTP 5" in error
        compared = sum(compare_table(con, sim, t, exclude={"orders": {poison}}) for t in CHECKED)
        assert compared > 3000
        assert con.execute("select count(*) from raw.orders where Id = ?", [poison]).fetchall() == [
            (0,)
        ]
    finally:
        con.close()

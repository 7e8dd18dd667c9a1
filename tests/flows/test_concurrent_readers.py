"""Readers of the published file never fail and never see a half-published warehouse."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from flows.flow import norce_elt
from tests.flows.helpers import pipeline_env, use_env

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]

SNAPSHOT_SQL = (
    "select (select run_id from meta.publishes order by published_at desc limit 1), "
    "(select count(*) from marts.fct_orders), "
    "(select coalesce(sum(line_count), 0) from marts.fct_orders), "
    "(select count(*) from marts.fct_order_lines)"
)
"""One statement, so each read is one snapshot: the run it came from, orders, the lines the
orders say they have, and the lines present. A half-copied or mixed file breaks the last
equality (or fails to open)."""


class Reader(threading.Thread):
    """Keeps opening the published file, alternating the DuckDB API and SQLAlchemy."""

    def __init__(self, target: Path) -> None:
        super().__init__(daemon=True)
        self.target = target
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.snapshots: list[tuple[str, str, int, int, int]] = []

    def run(self) -> None:
        engine = create_engine(
            f"duckdb:///{self.target}", connect_args={"read_only": True}, poolclass=NullPool
        )
        via_sqlalchemy = False
        try:
            while not self.stop.is_set():
                try:
                    if via_sqlalchemy:
                        with engine.connect() as con:
                            row = tuple(con.execute(text(SNAPSHOT_SQL)).one())
                    else:
                        dcon = duckdb.connect(str(self.target), read_only=True)
                        try:
                            row = dcon.execute(SNAPSHOT_SQL).fetchone() or ()
                        finally:
                            dcon.close()
                    api = "sqlalchemy" if via_sqlalchemy else "duckdb"
                    run_id, orders, line_sum, lines = row
                    self.snapshots.append((api, run_id, int(orders), int(line_sum), int(lines)))
                except Exception as exc:  # every failure is a finding
                    self.errors.append(f"{type(exc).__name__}: {exc}")
                via_sqlalchemy = not via_sqlalchemy
                time.sleep(0.01)
        finally:
            engine.dispose()


def test_readers_only_see_complete_snapshots_while_runs_publish(
    sim_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "norce.duckdb"
    use_env(monkeypatch, pipeline_env(sim_server, target))
    first = norce_elt()
    assert first.publish is not None

    reader = Reader(target)
    reader.start()
    try:
        runs = [first.summary.run_id]
        for _ in range(2):
            sim_server.sim.advance(60)
            sim_server.sim.create_orders(40)
            sim_server.sim.update_orders(20)
            report = norce_elt()
            assert report.publish is not None
            runs.append(report.summary.run_id)
        time.sleep(0.3)  # let the reader see the last publish
    finally:
        reader.stop.set()
        reader.join(timeout=30)

    assert reader.errors == []
    assert len(reader.snapshots) > 20
    for api, run_id, _orders, line_sum, lines in reader.snapshots:
        assert line_sum == lines, (api, run_id)
        assert run_id in runs
    seen = {run_id for _, run_id, *_ in reader.snapshots}
    assert runs[-1] in seen and len(seen) >= 2, "the reader saw the publishes happen"
    assert {api for api, *_ in reader.snapshots} == {"duckdb", "sqlalchemy"}
    orders_by_run = {run_id: orders for _, run_id, orders, *_ in reader.snapshots}
    assert orders_by_run[runs[-1]] > orders_by_run.get(runs[0], 0)

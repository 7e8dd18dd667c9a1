"""Scenario: the loader is SIGKILLed at random points of a full load, then re-run.

Promise: every raw table ends identical to a clean run's (per-table checksums), with no
duplicate keys and no pass left pending -- the exactly-once contract of DESIGN.md.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

import duckdb
import pytest

from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.scenarios.conftest import loader_env, start_loader, table_checksums

pytestmark = [pytest.mark.slow, pytest.mark.scenario]


@pytest.fixture(scope="module")
def source():  # type: ignore[no-untyped-def]
    sim = Simulator.create(seed=21, scale=0.1)
    with SimulatorServer(sim) as srv:
        yield srv.base_url


def run_to_end(env: dict[str, str]) -> float:
    started = time.monotonic()
    proc = start_loader(env)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    return time.monotonic() - started


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_full_load_resumes_to_the_clean_result(
    source: str, tmp_path: Path, seed: int
) -> None:
    clean = tmp_path / "clean" / "norce.duckdb"
    clean_env = loader_env(source, clean)
    duration = run_to_end(clean_env)
    want = table_checksums(clean.with_suffix(".work.duckdb"))

    killed = tmp_path / "killed" / "norce.duckdb"
    env = loader_env(source, killed)
    rng = random.Random(seed)
    kills = 0
    for _ in range(3):
        proc = start_loader(env)
        time.sleep(rng.uniform(0.5, max(0.6, duration * 0.8)))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=60)
    run_to_end(env)
    work = killed.with_suffix(".work.duckdb")
    got = table_checksums(work)
    assert kills >= 1
    assert got == want
    con = duckdb.connect(str(work), read_only=True)
    try:
        assert con.execute("select count(*) - count(distinct Id) from raw.orders").fetchall() == [
            (0,)
        ]
        assert con.execute(
            "select count(*) from meta.state where pending_mode is not null"
        ).fetchall() == [(0,)]
    finally:
        con.close()

"""Scenario: a second run while one is in progress refuses with a clear message, and the
first run finishes unharmed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from extract.errors import StateError
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.integration.extract.test_load_vs_truth import compare_all, settings_for
from tests.loader import load
from tests.scenarios.conftest import loader_env, start_loader

pytestmark = [pytest.mark.slow, pytest.mark.scenario]


def test_second_run_refuses_while_the_first_is_loading(tmp_path: Path) -> None:
    sim = Simulator.create(seed=51, scale=0.02)
    with SimulatorServer(sim) as srv:
        warehouse = tmp_path / "norce.duckdb"
        first = start_loader(
            loader_env(srv.base_url, warehouse, NORCE_MAX_RPS="8", NORCE_PII_SALT="test-salt")
        )
        lock = warehouse.with_suffix(".work.duckdb.lock")
        deadline = time.monotonic() + 30
        while not (lock.exists() and lock.read_text().startswith("pid")):
            assert time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)

        second = settings_for(srv.base_url, tmp_path)
        with pytest.raises(StateError) as info:
            load(second)
        assert info.value.exit_code == 7
        assert f"pid {first.pid}" in str(info.value)
        assert first.poll() is None  # the refused run did not disturb the first

        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err.decode()[-2000:]
        compare_all(second, sim)

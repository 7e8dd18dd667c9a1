"""Session-wide fixtures: a temporary Prefect API and one loopback simulator server.

Both are started lazily, only by tests that ask for them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

# No telemetry (no network here) and a quiet temporary server; set before prefect is imported.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """Flows run against a throwaway Prefect API (SQLite in a temp dir) for the session."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


@pytest.fixture(scope="session")
def sim_server() -> Iterator[Any]:
    """The simulator at a small scale on 127.0.0.1 (free port), with admin routes.

    Shared by the session: tests that mutate its data must not assume others did not.
    """
    from simulator.control import Simulator
    from simulator.server import SimulatorServer

    sim = Simulator.create(seed=42, scale=0.05)
    with SimulatorServer(sim, admin=True) as server:
        yield server

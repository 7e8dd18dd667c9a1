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


@pytest.fixture(scope="session")
def profile_sim_server() -> Iterator[Any]:
    """``profile_sim_server("docs-2.0", scale=0.05, seed=42, **app_kwargs)``: a simulator of
    that tenant profile (``simulator/profiles.py``) on 127.0.0.1 with admin routes, started
    once per distinct argument set for the session and shared: tests that mutate its data
    must not assume others did not. ``server.sim.truth(...)`` is in the profile's shape.
    """
    from simulator.control import Simulator
    from simulator.server import SimulatorServer

    running: dict[tuple[Any, ...], SimulatorServer] = {}

    def start(profile: str, scale: float = 0.05, seed: int = 42, **app_kwargs: Any) -> Any:
        key = (profile, scale, seed, repr(sorted(app_kwargs.items())))
        if key not in running:
            sim = Simulator.create(seed=seed, scale=scale, profile=profile)
            running[key] = SimulatorServer(sim, admin=True, **app_kwargs).start()
        return running[key]

    yield start
    for server in running.values():
        server.stop()

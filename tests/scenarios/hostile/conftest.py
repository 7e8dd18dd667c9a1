"""Fixtures of the hostile-reply scenarios: one simulator behind :class:`HostileApp` for the
session, rules cleared after every test, ``norce-wh`` environments against it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.scenarios.conftest import cli_env
from tests.scenarios.hostile.harness import HostileApp

SEED = 16
SCALE = 0.05


@dataclass
class Hostile:
    """The session's hostile server and the Prefect API runs report to."""

    server: SimulatorServer
    app: HostileApp
    api_url: str
    prefect_home: Path

    @property
    def sim(self) -> Simulator:
        return self.server.sim

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def env(self, warehouse: Path, **extra: str) -> dict[str, str]:
        """``norce-wh`` settings against this server, ``NORCE_MAX_RPS=200`` as in the issue."""
        settings = {"NORCE_MAX_RPS": "200", **extra}
        return cli_env(self, warehouse, self.prefect_home, self.api_url, **settings)

    def requests(self, route: str | None = None) -> int:
        """Requests the simulator answered so far on ``route`` (``token``,
        ``Core/Currencies``), or on every route."""
        snapshot = self.app.inner.state.snapshot()  # type: ignore[attr-defined]
        if route is None:
            return int(snapshot["total"])
        return sum(snapshot["by_path"].get(route, {}).values())


@pytest.fixture(scope="session")
def hostile_server(
    prefect_harness: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hostile]:
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url and api_url.startswith("http://127.0.0.1:")
    sim = Simulator.create(seed=SEED, scale=SCALE)
    # Every run of the session asks for a token from 127.0.0.1: a generous token limit keeps
    # one test's token storm from slowing the tests after it.
    server = SimulatorServer(sim, token_burst=10_000, token_per_minute=10_000)
    app = HostileApp(server.app)
    server.app = app  # type: ignore[assignment]
    with server:
        yield Hostile(server, app, api_url, tmp_path_factory.mktemp("hostile") / "prefect")
        app.use()


@pytest.fixture
def hostile(hostile_server: Hostile) -> Iterator[Hostile]:
    """The shared server, its rules cleared when the test ends."""
    hostile_server.app.use()
    yield hostile_server
    hostile_server.app.use()


@pytest.fixture
def truth(hostile_server: Hostile) -> Callable[[str, str], Any]:
    return hostile_server.sim.truth

"""Shared fixtures for the simulator's HTTP tests: real uvicorn servers on 127.0.0.1."""

from __future__ import annotations

import httpx
import pytest

from simulator.control import Simulator
from simulator.server import SimulatorServer

TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": "demo",
    "client_secret": "demo-secret",
    "scope": "prod",
}


@pytest.fixture(scope="session")
def sim() -> Simulator:
    """A generated tenant at scale 0.05, shared by the session: do not mutate it."""
    return Simulator.create(seed=1, scale=0.05)


@pytest.fixture(scope="session")
def server(sim):
    """One simulator server for the session, without faults."""
    with SimulatorServer(sim) as running:
        yield running


@pytest.fixture
def token_form() -> dict[str, str]:
    """The form of a valid client-credentials token request."""
    return dict(TOKEN_FORM)


def token(base_url: str) -> str:
    response = httpx.post(f"{base_url}/identity/1.0/connect/token", data=TOKEN_FORM, timeout=10)
    response.raise_for_status()
    return str(response.json()["access_token"])


@pytest.fixture(scope="session")
def http(server):
    """An ``httpx.Client`` on the session server, with a token and ``applicationId: 1``."""
    headers = {"Authorization": f"Bearer {token(server.base_url)}", "applicationId": "1"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def serve(sim):
    """``serve(**create_app_kwargs)`` -> (server, authorised client) on a fresh port."""
    started: list[tuple[SimulatorServer, httpx.Client]] = []

    def start(sim_override=None, **kwargs):
        running = SimulatorServer(sim_override or sim, **kwargs).start()
        headers = {"Authorization": f"Bearer {token(running.base_url)}", "applicationId": "1"}
        client = httpx.Client(base_url=running.base_url, headers=headers, timeout=30)
        started.append((running, client))
        return running, client

    yield start
    for running, client in started:
        client.close()
        running.stop()

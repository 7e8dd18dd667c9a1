"""Fixtures for the transport tests (extract config, errors, auth, throttle, client, paging)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import pytest

from extract.http.client import QueryClient
from extract.http.throttle import Throttle
from extract.settings import ApiSettings
from tests.unit.extract.transport_fakes import FakeClock, Tenant, api_settings, throttle_settings


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tenant() -> Tenant:
    return Tenant()


@pytest.fixture
def make_client(tenant: Tenant, clock: FakeClock) -> Iterable[Callable[..., QueryClient]]:
    """Build clients on the fake tenant; every sleep goes to the fake clock."""
    clients: list[QueryClient] = []

    def build(
        *, api: ApiSettings | None = None, throttle: Throttle | None = None, **limits: object
    ) -> QueryClient:
        settings = throttle_settings(**limits)
        client = QueryClient(
            (api or api_settings(), settings),
            transport=tenant.transport(),
            throttle=throttle or Throttle.from_settings(settings, clock=clock, sleep=clock.sleep),
            sleep=clock.sleep,
            clock=clock,
        )
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()

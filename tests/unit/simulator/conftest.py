"""Shared fixtures for the simulator's unit tests.

``tiny_store`` is a real :class:`simulator.store.Store` holding a handful of hand-written
rows, small enough that every expected answer can be written out in a test.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import polars as pl
import pytest

from simulator.app import create_app
from simulator.clock import Clock
from simulator.control import Simulator
from simulator.schema import build_schema
from simulator.store import Store, conform


def _t(day: int, hour: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 1, day, hour, 0, 0, micro, tzinfo=UTC)


ORDERS = {
    "Id": [1, 2, 3, 4, 5, 6, 7],
    "ApplicationId": [1, 2, 1, 1, 2, 3, 1],
    "OrderNo": ["SO-1", "SO-2", 'SO-"3"', "SO-4", "SO-5", "SO-6", "SO-7"],
    "StatusId": [4, 4, 2, 6, 4, 5, 2],
    "DeliveryCity": ["Malmö", "Oslo", None, "Berlin", "Oslo", "Bergen", "Lund\n"],
    "FreightCost": [
        Decimal("129.5"),
        Decimal("0"),
        None,
        Decimal("1234.5678"),
        Decimal("49"),
        Decimal("0.25"),
        Decimal("10"),
    ],
    "IsPartDelivery": [False, True, None, False, False, True, False],
    "BuyerCustomerInfoId": [101, 102, None, 104, 105, 106, 107],
    "PayerCustomerInfoId": [101, 102, 103, 104, 105, 106, 107],
    "ShipToCustomerInfoId": [101, 999, 103, 104, 105, 106, 107],
    "Created": [_t(1), _t(2, 10, 347000), _t(3), _t(4), _t(5), _t(6), _t(7, 12, 1)],
    "Updated": [_t(2), None, _t(4), None, _t(6), _t(6, 5), None],
}
ITEMS = {
    "Id": [11, 12, 13, 31, 41, 42, 51, 52, 53, 54, 71],
    "OrderId": [1, 1, 1, 3, 4, 4, 5, 5, 5, 5, 7],
    "PartNo": ["A", "B", "FREIGHT", "A", "C", "FREIGHT", "D", "A", "B", "C", "A"],
    "QtyOrdered": [Decimal(q) for q in ("1", "2", "1", "3", "1", "1", "5", "1", "1", "2", "1")],
    "LineAmount": [
        Decimal(v)
        for v in ("100", "20.5", "129.5", "300", "99.99", "1234.5678", "5", "10", "20", "30", "7")
    ],
}
CUSTOMER_INFOS = {
    "Id": [101, 102, 103, 104, 105, 106, 107],
    "EmailAddress": [f"buyer{i}@example.com" for i in range(1, 8)],
    "CountryId": [1, 2, 1, 3, 2, 2, 1],
    "City": ["Malmö", "Oslo", "Lund", "Berlin", "Oslo", "Bergen", "Lund"],
}
CURRENCIES = {
    "Id": [1, 2, 3],
    "Code": ["SEK", "EUR", "NOK"],
    "ExchangeRate": [Decimal("0.087"), Decimal("1"), Decimal("0.0855")],
    "IsActive": [True, True, False],
}
PRODUCTS = {
    "Id": [1, 2, 3],
    "DefaultName": ["Shirt", "Shoe", "Sock"],
    "Key": [
        "0D4B1CF2-8D3B-4C1E-9A8E-111111111111",
        "0d4b1cf2-8d3b-4c1e-9a8e-222222222222",
        None,
    ],
}
SKUS = {"PartNo": ["A", "B", "C", "D"], "ProductId": [1, 1, 2, 3]}


def build_tiny_store() -> Store:
    """A store with the rows above; every other type is empty."""
    schema = build_schema()
    store = Store(schema, Clock())
    data = {
        ("Orders", "Order"): ORDERS,
        ("Orders", "OrderItem"): ITEMS,
        ("Orders", "OrderCustomerInfo"): CUSTOMER_INFOS,
        ("Core", "Currency"): CURRENCIES,
        ("Products", "Product"): PRODUCTS,
        ("Products", "ProductSku"): SKUS,
    }
    for (ns, type_name), columns in data.items():
        et = schema.entity_type(ns, type_name)
        frame = pl.DataFrame(columns, strict=False)
        store.set_frame(ns, type_name, conform(frame, et))
    return store


@pytest.fixture
def tiny_store() -> Store:
    return build_tiny_store()


# -- the app, in process ---------------------------------------------------------------


class AppClient:
    """A synchronous client for an ASGI app, over ``httpx.ASGITransport``.

    ``ASGITransport`` is async only, so requests run on an event loop in a helper thread;
    the app's own worker threads (``asyncio.to_thread``) work as under uvicorn. App
    exceptions (e.g. a simulated connection reset) propagate to the caller.
    """

    def __init__(self, app, base_url: str = "http://testserver") -> None:
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self._client = httpx.AsyncClient(transport=transport, base_url=base_url)
        self.headers = self._client.headers

    def request(self, method: str, url: str, **kwargs) -> httpx.Response:
        coro = self._client.request(method, url, **kwargs)
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=60)

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.run_until_complete(self._loop.shutdown_default_executor())
        self._loop.close()


@pytest.fixture(scope="session")
def small_sim() -> Simulator:
    """A generated tenant at scale 0.05 (3,000 orders), shared: do not mutate it."""
    return Simulator.create(seed=1, scale=0.05)


@pytest.fixture
def fresh_sim() -> Simulator:
    """A generated tenant at scale 0.02 that a test may change."""
    return Simulator.create(seed=2, scale=0.02)


def _get_token(client, client_id: str = "demo", secret: str = "demo-secret") -> str:
    response = client.post(
        "/identity/1.0/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "prod",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


@pytest.fixture
def get_token():
    """``get_token(client, client_id="demo", secret="demo-secret")`` -> an access token."""
    return _get_token


@pytest.fixture
def app_client():
    """``app_client(app)`` -> an :class:`AppClient`, closed after the test."""
    clients: list[AppClient] = []

    def make(app) -> AppClient:
        client = AppClient(app)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def make_client(small_sim, app_client):
    """``make_client(sim=None, **create_app_kwargs)`` -> a client holding a bearer token
    and an ``applicationId: 1`` header."""

    def make(sim=None, **kwargs) -> AppClient:
        client = app_client(create_app(sim or small_sim, **kwargs))
        client.headers["Authorization"] = f"Bearer {_get_token(client)}"
        client.headers["applicationId"] = "1"
        return client

    return make

"""Scenario: secrets stay secret, only GET (and the token POST) leave the process, and a
value put into ``$filter`` cannot change the filter's shape."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from extract.decode.pages import KeyDecoder
from extract.errors import AuthError
from extract.http.client import QueryClient, RequestContext
from extract.paging.odata import odata_literal
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.integration.extract.test_load_vs_truth import settings_for
from tests.loader import load

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

SECRET = "canary-s3cr3t-7f1d40"
SALT = "canary-salt-9a2b55"


class RecordingTransport(httpx.BaseTransport):
    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.sent: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.sent.append((request.method, request.url.path))
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    sim = Simulator.create(seed=41, scale=0.02)
    with SimulatorServer(sim, credentials={"demo": SECRET}) as srv:
        yield sim, srv.base_url


def test_canary_secret_never_leaks_and_only_gets_leave(
    server,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,  # type: ignore[no-untyped-def]
) -> None:
    _, url = server
    caplog.set_level(logging.DEBUG)
    settings = settings_for(url, tmp_path, NORCE_CLIENT_SECRET=SECRET, NORCE_PII_SALT=SALT)
    transport = RecordingTransport()
    summary = load(settings, transport=transport)
    assert summary.status == "ok"

    methods = {(m, p) for m, p in transport.sent if m != "GET"}
    assert methods == {("POST", "/identity/1.0/connect/token")}
    assert sum(m == "GET" for m, _ in transport.sent) == summary.total("requests")

    wrong = settings_for(url, tmp_path / "b", NORCE_CLIENT_SECRET=SECRET + "x")
    with pytest.raises(AuthError) as info:
        load(wrong)
    texts = [caplog.text, str(info.value), repr(info.value), repr(settings), str(settings)]
    for text in texts:
        assert SECRET not in text and SALT not in text
    for path in settings.warehouse.work_database.parent.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert SECRET.encode() not in data and SALT.encode() not in data, path


def test_a_quote_in_a_filter_value_cannot_change_the_filter(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim, url = server
    settings = settings_for(url, tmp_path, NORCE_CLIENT_SECRET=SECRET)
    part_no = str(sim.truth("Products", "ProductSkus")["PartNo"][0])
    client = QueryClient(settings)
    try:

        def count(value: str) -> int:
            fetched = client.get(
                "Products/ProductSkus",
                {"$filter": f"PartNo eq {odata_literal(value)}", "$select": "PartNo"},
                parse=KeyDecoder(("PartNo",), (__import__("pyarrow").string(),)),
                context=RequestContext("Products/ProductSkus", 1),
            )
            return fetched.value.row_count

        assert count(part_no) == 1
        assert count(f"{part_no}' or PartNo ne 'x") == 0
        assert count("x' or 1 eq 1 or PartNo eq '") == 0
    finally:
        client.close()

"""A failure confined to one entity set skips that set, names it, and loads every other one.

Against the real simulator on loopback, with a transport in front of it that changes one
thing a tenant might do differently: a ``$metadata`` declaring another key, a namespace
whose ``$metadata`` answers 500, pages of one set rejected with 400. In every case the run
ends ``partial`` (the flow's exit code 10), the set is in ``summary.skipped`` or failed with
one line, ``meta.run_notices``/``meta.runs`` record it, and the other sets equal the source.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import duckdb
import httpx
import pytest

from extract.settings import Settings, load_settings
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.integration.truth import CHECKED, SALT, compare_table
from tests.loader import load

pytestmark = pytest.mark.slow

SETS = ("Customers/Companies", "Customers/Customers", "Core/Currencies", "Orders/Invoices")
Edit = Callable[[httpx.Request, httpx.Response], httpx.Response]


class EditingTransport(httpx.BaseTransport):
    """The network, with one edit applied to the simulator's answers."""

    def __init__(self, edit: Edit) -> None:
        self._inner = httpx.HTTPTransport()
        self._edit = edit

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        response.read()
        return self._edit(request, response)

    def close(self) -> None:
        self._inner.close()


@pytest.fixture(scope="module")
def served():
    sim = Simulator.create(seed=61, scale=0.02)
    with SimulatorServer(sim) as srv:
        yield sim, srv.base_url


def settings_for(base_url: str, tmp: Path) -> Settings:
    return load_settings(
        env={
            "NORCE_BASE_URL": base_url,
            "NORCE_CLIENT_ID": "demo",
            "NORCE_CLIENT_SECRET": "demo-secret",
            "NORCE_WAREHOUSE": str(tmp / "norce.duckdb"),
            "NORCE_PII_SALT": SALT,
            "NORCE_MAX_RPS": "500",
            "NORCE_MAX_RETRIES": "1",
        }
    )


def loaded_equal_source(settings: Settings, sim: Simulator, tables: set[str]) -> None:
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        for t in CHECKED:
            if t.table in tables:
                assert compare_table(con, sim, t) > 0, t.table
    finally:
        con.close()


def notices(settings: Settings, run_id: str) -> list[tuple[str, str, int | None]]:
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        return con.execute(
            "select kind, entity, exit_code from meta.run_notices where run_id = ? "
            "and kind = 'skipped'",
            [run_id],
        ).fetchall()
    finally:
        con.close()


def company_key_renamed(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    """The Customers $metadata declares the Company key under another name."""
    if not request.url.path.endswith("/Customers/$metadata"):
        return response
    text = response.content.decode()
    company = re.search(r'<EntityType Name="Company">.*?</EntityType>', text, re.DOTALL)
    assert company is not None
    edited = company.group(0).replace('Name="Id"', 'Name="CompanyNo"')
    body = text.replace(company.group(0), edited).encode()
    return httpx.Response(response.status_code, headers=response.headers, content=body)


def test_a_missing_key_skips_that_set_at_planning(served, tmp_path: Path) -> None:
    sim, url = served
    settings = settings_for(url, tmp_path)
    summary = load(settings, entities=SETS, transport=EditingTransport(company_key_renamed))
    assert summary.status == "partial"
    (skipped,) = summary.skipped
    assert skipped.entity == "Customers/Companies" and skipped.exit_code == 6
    assert "key Id of raw.companies is not declared" in skipped.reason
    assert notices(settings, summary.run_id) == [("skipped", "Customers/Companies", 6)]
    assert {p.entity for p in summary.partitions} == set(SETS) - {"Customers/Companies"}
    loaded_equal_source(settings, sim, {"customers", "customer_addresses", "currencies"})


def customers_metadata_down(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    if request.url.path.endswith("/Customers/$metadata"):
        return httpx.Response(503, json={"error": {"message": "Service Unavailable"}})
    return response


def test_an_unreachable_namespace_skips_its_sets_only(served, tmp_path: Path) -> None:
    sim, url = served
    settings = settings_for(url, tmp_path)
    summary = load(settings, entities=SETS, transport=EditingTransport(customers_metadata_down))
    assert summary.status == "partial"
    assert {s.entity for s in summary.skipped} == {"Customers/Companies", "Customers/Customers"}
    assert all(s.exit_code == 5 and "HTTP 503" in s.reason for s in summary.skipped)
    assert all("tried again on the next run" in s.reason for s in summary.skipped)
    loaded_equal_source(settings, sim, {"currencies"})


def invoice_pages_rejected(request: httpx.Request, response: httpx.Response) -> httpx.Response:
    """Orders/Invoices refuses the loader's page requests (not the $top=1 probe)."""
    if request.url.path.endswith("/Orders/Invoices") and request.url.params.get("$top") != "1":
        return httpx.Response(400, json={"error": {"message": "The query is not valid."}})
    return response


def test_a_set_rejecting_its_first_page_fails_alone(served, tmp_path: Path) -> None:
    sim, url = served
    settings = settings_for(url, tmp_path)
    summary = load(settings, entities=SETS, transport=EditingTransport(invoice_pages_rejected))
    assert summary.status == "partial"
    failed = [p for p in summary.partitions if p.status == "failed"]
    # a first load splits the set into key ranges: every range fails, no other set does
    assert failed and {p.entity for p in failed} == {"Orders/Invoices"}
    assert all(p.exit_code == 4 and "HTTP 400" in (p.error or "") for p in failed)
    loaded_equal_source(settings, sim, {"customers", "currencies"})


def probed_at(settings: Settings) -> dict[str, object]:
    """When each entity set's capabilities were last learned (``meta.capabilities``)."""
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        rows = con.execute(
            "select entity, max(learned_at) from meta.capabilities where entity <> '' group by 1"
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


def test_capabilities_are_reused_until_the_metadata_changes(served, tmp_path: Path) -> None:
    """Last in the module: it adds a property to Customers at the source."""
    sim, url = served
    settings = settings_for(url, tmp_path)
    first = load(settings, entities=SETS)
    learned = probed_at(settings)
    assert set(learned) == set(SETS)

    second = load(settings, entities=SETS)
    assert probed_at(settings) == learned  # nothing probed again
    assert second.overhead.requests < first.overhead.requests

    sim.add_property("Customers", "Customer", "LoyaltyTier", "Edm.String", default="gold")
    third = load(settings, entities=SETS)
    again = probed_at(settings)
    changed = {entity for entity in SETS if again[entity] != learned[entity]}
    assert changed == {"Customers/Companies", "Customers/Customers"}  # its namespace only
    assert third.overhead.requests > second.overhead.requests
    assert not [p for p in third.partitions if p.status == "failed"]
    loaded_equal_source(settings, sim, {"customers", "currencies"})

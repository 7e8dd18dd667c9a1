"""Issue 3: request budget and resume, deletions via key sweep, privacy, count evidence."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.integration.extract.test_load_vs_truth import compare_all, settings_for
from tests.integration.truth import sha
from tests.loader import load

pytestmark = pytest.mark.slow

ORDERS = ["Orders/Orders"]


def q(settings, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    sim = Simulator.create(seed=3, scale=0.05)
    with SimulatorServer(sim) as srv:
        yield sim, srv.base_url


def test_budget_stops_cleanly_and_next_run_resumes(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim, url = server
    truth = sim.truth("Orders", "Orders")
    app1 = truth.filter(truth["ApplicationId"] == 1).height
    kept = truth.filter((truth["ApplicationId"] == 1) & ~truth["IsForgotten"]).height
    # planning takes 5 requests (applications, $metadata, the first contact's capability
    # probe, two key bounds); 3 pages remain for two key-range partitions of ~750 rows
    # each: one finishes, one stops mid-way
    limited = settings_for(
        url,
        tmp_path,
        overrides={"extract.batch_rows": 400},
        NORCE_REQUEST_BUDGET="8",
        NORCE_APPLICATION_IDS="1",
        NORCE_VERIFY_COUNTS="false",
    )
    first = load(limited, entities=ORDERS)
    assert first.status == "budget"
    loaded = q(limited, "select count(*) from raw.orders")[0][0]
    assert 0 < loaded < app1
    pending = q(
        limited, "select rows_in_pass, last_key from meta.state where pending_mode is not null"
    )
    assert len(pending) == 1 and pending[0][0] > 0 and pending[0][1] is not None

    rest = load(settings_for(url, tmp_path, NORCE_APPLICATION_IDS="1"), entities=ORDERS)
    assert rest.status == "ok"
    # forgotten orders are purged once the run gets to its sweep
    assert q(limited, "select count(*), count(distinct Id) from raw.orders") == [(kept, kept)]
    assert q(limited, "select count(*) from meta.state where pending_mode is not null") == [(0,)]
    # the resumed run read only what the first one had not committed
    assert rest.total("rows") == app1 - loaded


def test_key_sweep_marks_rows_deleted_at_the_source(tmp_path: Path) -> None:
    sim = Simulator.create(seed=4, scale=0.05)
    with SimulatorServer(sim) as srv:
        load(settings_for(srv.base_url, tmp_path), entities=ORDERS)
        gone = sim.delete_orders(4)
        swept = settings_for(srv.base_url, tmp_path, NORCE_KEY_SWEEP="true")
        load(swept, entities=ORDERS)
    marked = q(swept, "select Id from raw.orders where _deleted_at is not null order by Id")
    assert [r[0] for r in marked] == sorted(gone)
    compare_all(swept, sim, tables=("orders",))


def test_personal_data_is_hashed_or_never_requested(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim, url = server
    settings = settings_for(url, tmp_path)
    load(settings, entities=["Customers/Customers", *ORDERS])
    cols = {
        t: {
            r[0]
            for r in q(
                settings,
                "select column_name from information_schema.columns "
                "where table_schema='raw' and table_name=?",
                [t],
            )
        }
        for t in ("customers", "orders", "customer_addresses")
    }
    assert "EmailAddressHash" in cols["customers"]
    assert not {"EmailAddress", "FirstName", "LastName", "PhoneNumber"} & cols["customers"]
    assert "Buyer_EmailAddressHash" in cols["orders"]
    assert not {"Buyer_FirstName", "Buyer_AddressLine1", "DeliveryAddressLine1"} & cols["orders"]
    assert not {"AddressLine1", "AddressLine2", "CareOf"} & cols["customer_addresses"]
    customer = sim.truth("Customers", "Customers").row(0, named=True)
    stored = q(
        settings, "select EmailAddressHash from raw.customers where Id = ?", [customer["Id"]]
    )
    assert stored == [(sha(customer["EmailAddress"]),)]


def test_source_count_is_recorded_next_to_loaded_rows(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _sim, url = server
    settings = settings_for(url, tmp_path)
    summary = load(settings, entities=ORDERS)
    rows = q(
        settings,
        "select application_id, source_count, loaded_count, count_match "
        "from meta.runs where entity = 'Orders/Orders'",
    )
    assert rows and all(r[1] is not None and r[1] == r[2] and r[3] for r in rows)
    assert sum(r[2] for r in rows) == summary.total("rows")


def test_backfill_reads_from_a_business_date(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim, url = server
    settings = settings_for(url, tmp_path)
    since = datetime(2026, 6, 1, tzinfo=UTC)
    summary = load(settings, entities=ORDERS, mode="backfill", since=since)
    assert summary.status == "ok"
    truth = sim.truth("Orders", "Orders")
    expected = truth.filter(truth["OrderDate"] >= since).height
    assert q(settings, "select count(*) from raw.orders") == [(expected,)]
    assert q(settings, "select min(OrderDate) >= ? from raw.orders", [since]) == [(True,)]

"""Scenario: bad input -- wrong secrets, revoked tokens, bad names and paths, a full disk,
schema drift. Promise: one actionable error line and a distinct exit code, or a recorded
schema change; never a half-written warehouse."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import httpx
import pytest

from extract.errors import (
    AuthError,
    ConfigError,
    ExtractError,
    WarehouseError,
)
from extract.load import merge
from extract.settings import load_settings
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.integration.extract.test_load_vs_truth import compare_all, settings_for
from tests.loader import load
from tests.scenarios.conftest import table_checksums

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

ORDERS = ["Orders/Orders"]


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    sim = Simulator.create(seed=31, scale=0.02)
    with SimulatorServer(sim, admin=True) as srv:
        yield sim, srv.base_url


def one_line(err: ExtractError) -> str:
    text = str(err)
    assert "\n" not in text and " -- " in text, text  # what failed -- what to do
    return text


def test_wrong_credentials_exit_3_and_write_nothing(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    settings = settings_for(url, tmp_path, NORCE_CLIENT_SECRET="not-the-secret")
    with pytest.raises(AuthError) as info:
        load(settings, entities=ORDERS)
    assert info.value.exit_code == 3
    assert "NORCE_CLIENT_SECRET" in one_line(info.value)
    assert "not-the-secret" not in str(info.value)
    work = settings.warehouse.work_database
    if work.exists():
        con = duckdb.connect(str(work), read_only=True)
        tables = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'raw'"
        ).fetchall()
        con.close()
        assert tables == [(0,)]


def test_token_revoked_mid_run_is_refreshed_once(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sim, url = server
    settings = settings_for(url, tmp_path, NORCE_MAX_RPS="20")
    revoked = threading.Event()

    def revoke_after_some_pages(event: object) -> None:
        if not revoked.is_set() and getattr(event, "pages", 0) >= 1:
            revoked.set()
            httpx.post(f"{url}/_sim/tokens/revoke", timeout=10)

    summary = load(settings, progress=revoke_after_some_pages)
    assert revoked.is_set()
    assert summary.status == "ok"
    assert summary.token_requests == 2
    compare_all(settings, sim, tables=("orders", "order_items", "customers"))


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"NORCE_BASE_URL": ""}, "NORCE_BASE_URL"),
        ({"NORCE_BASE_URL": "acme.api-se.norce.tech"}, "NORCE_BASE_URL"),
        ({"NORCE_BASE_URL": "http://acme.api-se.norce.tech"}, "https"),
        ({"NORCE_MAX_RPS": "fast"}, "NORCE_MAX_RPS"),
        ({"NORCE_CLIENT_ID": ""}, "NORCE_CLIENT_ID"),
    ],
)
def test_bad_configuration_is_reported_before_any_request(
    env: dict[str, str], needle: str, tmp_path: Path
) -> None:
    base = {
        "NORCE_BASE_URL": "http://127.0.0.1:9",
        "NORCE_CLIENT_ID": "demo",
        "NORCE_CLIENT_SECRET": "demo-secret",
        "NORCE_WAREHOUSE": str(tmp_path / "norce.duckdb"),
    }
    with pytest.raises(ConfigError) as info:
        load_settings(env={**base, **env})
    assert info.value.exit_code == 2
    assert needle in one_line(info.value)


def test_unknown_entity_set_and_application_are_config_errors(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    settings = settings_for(url, tmp_path)
    with pytest.raises(ConfigError, match="Orders/OrderLines") as info:
        load(settings, entities=["Orders/OrderLines"])
    assert "Orders/Orders" in one_line(info.value)  # lists the known sets
    with pytest.raises(ConfigError, match="99") as info:
        load(settings_for(url, tmp_path, NORCE_APPLICATION_IDS="1,99"), entities=ORDERS)
    assert info.value.exit_code == 2


def test_unwritable_warehouse_path_exit_8(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, url = server
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where a directory should be")
    settings = settings_for(url, blocker / "sub")
    with pytest.raises(WarehouseError) as info:
        load(settings, entities=ORDERS)
    assert info.value.exit_code == 8
    assert "NORCE_WAREHOUSE" in one_line(info.value)


def test_disk_full_rolls_back_the_batch_and_the_rerun_completes(
    server,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
) -> None:
    sim, url = server
    settings = settings_for(url, tmp_path, overrides={"extract.batch_rows": 300})
    real_merge = merge._merge
    calls = {"n": 0}

    def full_disk(con, tp, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 4:  # the second batch's first table: mid-transaction
            raise duckdb.IOException("Could not write file: No space left on device")
        return real_merge(con, tp, *args, **kwargs)

    monkeypatch.setattr(merge, "_merge", full_disk)
    summary = load(settings, entities=ORDERS, workers=1)
    failed = [p for p in summary.partitions if p.status == "failed"]
    assert failed and failed[0].exit_code == 8
    assert "No space left" in (failed[0].error or "")
    monkeypatch.setattr(merge, "_merge", real_merge)

    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:  # every committed order has all its lines: no half-written batch
        orphans = con.execute(
            "select count(*) from raw.orders o where not exists "
            "(select 1 from raw.order_items i where i.OrderId = o.Id)"
        ).fetchall()
        assert orphans == [(0,)]
    finally:
        con.close()
    assert load(settings, entities=ORDERS).status == "ok"
    compare_all(settings, sim, tables=("orders", "order_items"))


def test_schema_drift_is_recorded_or_refused(tmp_path: Path) -> None:
    sim = Simulator.create(seed=32, scale=0.02)
    with SimulatorServer(sim) as srv:
        settings = settings_for(srv.base_url, tmp_path)
        load(settings, entities=ORDERS)
        sim.add_property("Orders", "Order", "Channel", "Edm.String", default="web")
        sim.remove_property("Orders", "Order", "GroupCode")
        sim.change_type("Orders", "Order", "TypeId", "Edm.Int64")  # widening
        assert load(settings, entities=ORDERS).status == "ok"
        compare_all(settings, sim, tables=("orders",))
        before = table_checksums(settings.warehouse.work_database)
        sim.change_type("Orders", "Order", "DeliveryZipCode", "Edm.Int32")  # narrowing
        # refused for that set alone: it is skipped (exit 6, what to do), the rest loads
        refused = load(settings, entities=[*ORDERS, "Core/Currencies"])
        assert refused.status == "partial"
        (skipped,) = refused.skipped
        assert (skipped.entity, skipped.exit_code) == ("Orders/Orders", 6)
        assert "--full-refresh --entities Orders/Orders" in skipped.reason
        assert "\n" not in skipped.reason
        alone = load(settings, entities=ORDERS)
        assert (alone.status, alone.exit_code) == ("failed", 6)
        after = table_checksums(settings.warehouse.work_database)
        assert after["orders"] == before["orders"]  # nothing written to the refused set
        assert after["currencies"][0] > 0
    con = duckdb.connect(str(settings.warehouse.work_database), read_only=True)
    try:
        changes = con.execute(
            "select column_name, change from meta.schema_changes order by column_name"
        ).fetchall()
    finally:
        con.close()
    assert changes == [("Channel", "added"), ("GroupCode", "removed"), ("TypeId", "type_changed")]

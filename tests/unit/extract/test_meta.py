"""Bookkeeping: every meta row is written by column name; keys are stored one way."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from extract.load import meta
from extract.load.meta_tables import META_DDL
from extract.load.state import PartitionState

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def con(tmp_path: Path):  # type: ignore[no-untyped-def]
    c = duckdb.connect(str(tmp_path / "m.duckdb"))
    for stmt in META_DDL:
        c.execute(stmt)
    yield c
    c.close()


def test_a_row_lands_in_the_columns_of_its_name(con: duckdb.DuckDBPyConnection) -> None:
    row = meta.QuarantineRow(
        run_id="r1",
        entity="Orders/Orders",
        application_id=2,
        key_after=meta.encode_key((776,)),
        key_before=meta.encode_key(("A'1", 3)),
        skip_offset=None,
        url="https://x/Orders?$top=1",
        error="HTTP 500",
        payload="{}",
        recorded_at=NOW,
    )
    meta.insert(con, row)
    got = con.execute(
        "select entity, application_id, key_after, key_before, error, recorded_at "
        "from meta.quarantine"
    ).fetchall()
    assert got == [("Orders/Orders", 2, "[776]", '["A\'1", 3]', "HTTP 500", NOW)]


def test_every_row_type_matches_its_table(con: duckdb.DuckDBPyConnection) -> None:
    rows = [
        meta.PartitionRunRow(
            "r1",
            "Orders/Orders",
            1,
            "",
            "first",
            "ok",
            NOW,
            NOW,
            1.0,
            10,
            1,
            2,
            0,
            0,
            0,
            0,
            0,
            100,
            10,
            10,
            True,
            None,
            NOW,
            0,
            0,
            0,
            None,
        ),
        meta.RunStartedRow("r1", "run", "first", NOW, "Orders/Orders"),
        meta.SchemaChangeRow("r1", "Orders/Orders", "orders", "Channel", "added", None, "X", NOW),
        meta.PurgeRow("r1", "Orders/Orders", "orders", "IsForgotten", 3, NOW),
        meta.ErasureRow(7, None, NOW, 2, "ticket 1"),
        meta.PublishRow("r1", NOW, "work.duckdb", "norce.duckdb"),
    ]
    for row in rows:
        meta.insert(con, row)
    meta.update_run(
        con, meta.RunFinishedRow("r1", NOW, "ok", 5, 1, 10, 0, warnings=None, error=None)
    )
    assert con.execute("select mode, status, requests from meta.run_history").fetchall() == [
        ("first", "ok", 5)
    ]
    assert con.execute("select mode, loaded_count, count_match from meta.runs").fetchall() == [
        ("first", 10, True)
    ]
    meta.record_demo(con, meta.DemoRow(NOW, 42, 1.0, "demo"))
    assert con.execute("select seed from meta.demo").fetchall() == [(42,)]


def test_state_round_trips_with_keys_as_json(con: duckdb.DuckDBPyConnection) -> None:
    state = PartitionState(
        "Products/ProductSkuPriceLists",
        0,
        "",
        "r1",
        NOW,
        pending_mode="first",
        last_key=("P-1", 3, 1),
        key_lo=None,
        key_hi=None,
        rows_in_pass=500,
    )
    meta.write_state(con, state)
    meta.write_state(con, state.advanced(("P-2", 1, 1), 10, at=NOW))  # replaces the row
    (back,) = meta.read_states(con, "Products/ProductSkuPriceLists")
    assert back.last_key == ("P-2", 1, 1) and back.rows_in_pass == 510
    assert con.execute("select last_key from meta.state").fetchall() == [('["P-2", 1, 1]',)]
    assert not meta.any_watermark(con)
    meta.write_state(con, back.completed(at=NOW))
    assert not meta.any_watermark(con)  # pending_until was never set: still no watermark
    meta.delete_state(con, "Products/ProductSkuPriceLists", 0, "")
    assert meta.read_states(con, "Products/ProductSkuPriceLists") == []

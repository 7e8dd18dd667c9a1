"""Warehouse merges: keys, child replacement, state in the same transaction, drift, purges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pyarrow as pa
import pytest

from extract.decode.pages import PageDecoder
from extract.errors import DataContractError, WarehouseError
from extract.load.batch import BatchWriter
from extract.load.merge import (
    mark_missing_deleted,
    merge_batch,
    purge_keys,
    range_is_empty,
    replace_all,
)
from extract.load.meta import read_states
from extract.load.state import PartitionState
from extract.load.tables import ensure_tables
from extract.load.warehouse import Warehouse
from extract.schema.catalog import ChildSpec, EntitySpec
from extract.schema.metadata import parse_edmx
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import reconcile

EDMX = """<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices>
  <Schema Namespace="Orders" xmlns="http://docs.oasis-open.org/odata/ns/edm">
   <EntityType Name="Order">
    <Key><PropertyRef Name="Id"/></Key>
    <Property Name="Id" Type="Edm.Int64" Nullable="false"/>
    <Property Name="StatusId" Type="Edm.Int32" Nullable="false"/>
    <Property Name="Total" Type="Edm.Decimal" Precision="18" Scale="4"/>
    <Property Name="Created" Type="Edm.DateTimeOffset" Nullable="false"/>
    <Property Name="Updated" Type="Edm.DateTimeOffset"/>
    {extra}
    <NavigationProperty Name="Items" Type="Collection(Orders.OrderItem)"/>
   </EntityType>
   <EntityType Name="OrderItem">
    <Key><PropertyRef Name="Id"/></Key>
    <Property Name="Id" Type="Edm.Int64" Nullable="false"/>
    <Property Name="OrderId" Type="Edm.Int64" Nullable="false"/>
    <Property Name="LineAmount" Type="Edm.Decimal" Precision="18" Scale="4"/>
   </EntityType>
   <EntityContainer Name="Container">
    <EntitySet Name="Orders" EntityType="Orders.Order"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>"""

SPEC = EntitySpec(
    "Orders",
    "Orders",
    "orders",
    key=("Id",),
    children=(ChildSpec("Items", "order_items", key=("Id",), parent_key=("OrderId",)),),
)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def plan_for(extra: str = ""):  # type: ignore[no-untyped-def]
    service = parse_edmx(EDMX.replace("{extra}", extra).encode())
    return reconcile(SPEC, service, PrivacyPolicy("s"))


def page(orders: list[dict[str, object]]) -> bytes:
    return json.dumps({"value": orders}).encode()


def order(i: int, items: list[tuple[int, str]], **kw: object) -> dict[str, object]:
    return {
        "Id": i,
        "StatusId": 2,
        "Total": "1.5",
        "Created": "2026-01-01T00:00:00Z",
        "Updated": None,
        "Items": [{"Id": n, "OrderId": i, "LineAmount": a} for n, a in items],
        **kw,
    }


@pytest.fixture
def wh(tmp_path: Path):  # type: ignore[no-untyped-def]
    w = Warehouse(tmp_path / "w.duckdb", run_id="run-1")
    yield w
    w.close()


def state(rows: int) -> PartitionState:
    return PartitionState(
        "Orders/Orders",
        1,
        "",
        "run-1",
        NOW,
        pending_until=NOW,
        pending_mode="full",
        last_key=(rows,),
        rows_in_pass=rows,
    )


def test_merge_replaces_rows_and_children_per_parent(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    first = decode(page([order(1, [(10, "1.00"), (11, "2.00")]), order(2, [(20, "3.00")])]))
    merge_batch(wh, plan, first.tables, extracted_at=NOW, state=state(2))
    # a later run: order 1 changes (one line removed, one changed); order 2 is not sent
    wh.run_id = "run-2"
    second = decode(page([order(1, [(10, "5.25")], StatusId=4)]))
    merge_batch(wh, plan, second.tables, extracted_at=NOW, state=state(3))

    assert wh.query("select Id, StatusId, _load_id from raw.orders order by Id") == [
        (1, 4, "run-2"),
        (2, 2, "run-1"),
    ]
    items = wh.query("select Id, OrderId, LineAmount::varchar from raw.order_items order by Id")
    assert items == [(10, 1, "5.2500"), (20, 2, "3.0000")]
    (st,) = read_states(wh.con, "Orders/Orders")
    assert st.last_key == (3,) and st.rows_in_pass == 3


def test_batch_and_state_roll_back_together(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    batch = decode(page([order(1, [(10, "1.00")])]))
    # a state row that violates meta.state's NOT NULL: the rows must not commit without it
    bad = PartitionState("Orders/Orders", None, "", "run-1", NOW)  # type: ignore[arg-type]
    with pytest.raises(WarehouseError, match="NOT NULL"):
        merge_batch(wh, plan, batch.tables, extracted_at=NOW, state=bad)
    assert wh.query("select count(*) from raw.orders") == [(0,)]
    assert read_states(wh.con, "Orders/Orders") == []


def test_added_property_becomes_a_recorded_column(wh: Warehouse) -> None:
    ensure_tables(wh, plan_for())
    changes = ensure_tables(wh, plan_for('<Property Name="Channel" Type="Edm.String"/>'))
    assert [(c.table, c.column, c.change) for c in changes] == [("orders", "Channel", "added")]
    assert "Channel" in wh.table_columns("orders")
    recorded = wh.query("select column_name, change from meta.schema_changes")
    assert recorded == [("Channel", "added")]
    # removed again at the source: the column stays, the removal is recorded once
    ensure_tables(wh, plan_for())
    ensure_tables(wh, plan_for())
    assert "Channel" in wh.table_columns("orders")
    assert wh.query("select count(*) from meta.schema_changes where change = 'removed'") == [(1,)]


def test_narrowing_type_change_is_a_contract_error_unless_rebuilt(wh: Warehouse) -> None:
    ensure_tables(wh, plan_for('<Property Name="Code" Type="Edm.String"/>'))
    narrowed = plan_for('<Property Name="Code" Type="Edm.Int32"/>')
    with pytest.raises(DataContractError, match="--full-refresh"):
        ensure_tables(wh, narrowed)
    changes = ensure_tables(wh, narrowed, rebuild=True)
    assert [(c.column, c.change) for c in changes] == [("Code", "type_changed")]
    widened = ensure_tables(
        wh, plan_for('<Property name="x" Type="Edm.String"/>'.replace('name="x"', 'Name="Code"'))
    )
    assert [(c.column, c.new_type) for c in widened] == [("Code", "VARCHAR")]


def test_purge_removes_parents_and_children(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    batch = decode(page([order(1, [(10, "1")]), order(2, [(20, "2"), (21, "3")])]))
    merge_batch(wh, plan, batch.tables, extracted_at=NOW, state=None)
    keys = pa.table({"Id": pa.array([2], pa.int64())})
    assert purge_keys(wh, plan, keys) == 1
    assert wh.query("select Id from raw.orders") == [(1,)]
    assert wh.query("select Id from raw.order_items") == [(10,)]


def test_memory_cap_applies_to_the_loader_connection(tmp_path: Path) -> None:
    w = Warehouse(tmp_path / "m.duckdb", run_id="run-1", memory_limit_mb=128)
    try:
        limit = w.query("select current_setting('memory_limit')")[0][0]
    finally:
        w.close()
    assert limit in ("128.0 MiB", "134.2 MB"), limit


def test_thread_count_applies_to_the_loader_connection(tmp_path: Path) -> None:
    w = Warehouse(tmp_path / "t.duckdb", run_id="run-1", threads=1)
    try:
        assert w.query("select current_setting('threads')") == [(1,)]
    finally:
        w.close()


def test_mark_missing_deleted_by_keys_or_by_pass_start(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    rows = decode(page([order(1, [(10, "1")]), order(2, [(20, "2")]), order(3, [])]))
    merge_batch(wh, plan, rows.tables, extracted_at=NOW, state=None)
    seen = pa.table({"Id": pa.array([1, 3], pa.int64())})
    assert mark_missing_deleted(wh, plan, application_id=None, seen_keys=seen) == 1
    assert wh.query("select Id from raw.orders where _deleted_at is not null") == [(2,)]
    # a full pass that started after every row was extracted saw none of them
    later = datetime(2099, 1, 1, tzinfo=UTC)
    assert mark_missing_deleted(wh, plan, application_id=None, seen_since=later) == 2
    with pytest.raises(ValueError, match="exactly one"):
        mark_missing_deleted(wh, plan, application_id=None)


def test_batch_writer_commits_full_batches_with_their_state(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    writer = BatchWriter(wh, plan, mode="merge", batch_rows=3)
    # 2 rows (1 order + 1 line): buffered; the next page makes 4 rows: one commit
    writer.add(decode(page([order(1, [(10, "1")])])).tables, state(1))
    assert wh.query("select count(*) from raw.orders") == [(0,)] and writer.commits == 0
    writer.add(decode(page([order(2, [(20, "1")])])).tables, state(2))
    assert wh.query("select count(*) from raw.orders") == [(2,)] and writer.commits == 1
    assert read_states(wh.con, "Orders/Orders")[0].last_key == (2,)
    # a failure after one more page: flush keeps it with the state it leads to
    writer.add(decode(page([order(3, [])])).tables, state(3))
    writer.flush()
    assert wh.query("select count(*) from raw.orders") == [(3,)]
    assert read_states(wh.con, "Orders/Orders")[0].last_key == (3,)
    writer.flush()  # nothing buffered: nothing written
    assert writer.commits == 2
    done = state(3).completed(at=NOW)
    writer.commit(done)
    (final,) = read_states(wh.con, "Orders/Orders")
    assert (final.pending_mode, final.watermark, final.last_key) == (None, NOW, None)


def test_replace_writer_commits_nothing_before_the_pass_completes(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    replace_all(wh, plan, decode(page([order(9, [])])).tables, extracted_at=NOW, state=None)
    writer = BatchWriter(wh, plan, mode="replace", batch_rows=1)
    writer.add(decode(page([order(1, [(10, "1")])])).tables, state(1))
    writer.flush()  # a lookup stopped early: the previous content stays, no partial state
    assert wh.query("select Id from raw.orders") == [(9,)]
    assert read_states(wh.con, "Orders/Orders") == []
    writer.add(decode(page([order(2, [])])).tables, state(2))
    writer.commit(state(2).completed(at=NOW))
    assert wh.query("select Id from raw.orders order by Id") == [(1,), (2,)]
    assert wh.query("select Id from raw.order_items") == [(10,)]


def test_range_is_empty_sees_rows_a_keyset_pass_could_still_send(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))

    def empty(after: int | None, lo: int | None, hi: int | None) -> bool:
        return range_is_empty(
            wh,
            plan,
            application_id=None,
            after=None if after is None else (after,),
            key_lo=None if lo is None else (lo,),
            key_hi=None if hi is None else (hi,),
        )

    assert empty(None, None, None)  # nothing loaded yet
    merge_batch(
        wh, plan, decode(page([order(5, [(50, "1")])])).tables, extracted_at=NOW, state=None
    )

    assert not empty(None, None, None)
    assert empty(5, None, None)  # a resumed pass: everything up to key 5 is its own
    assert not empty(4, None, None)
    assert empty(None, 6, None) and empty(None, None, 5)
    assert not empty(None, 5, 6)
    # a child row left under a parent key of the range (its parent gone) is seen too
    wh.con.execute("delete from raw.orders")
    assert not empty(None, 5, 6)


def test_insert_only_batches_skip_deletes_but_a_moved_line_is_stored_once(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    first = decode(page([order(1, [(10, "1.00")])]))
    merge_batch(wh, plan, first.tables, extracted_at=NOW, state=None, insert_only=True)
    # line 10 moved to order 2, read later in the same pass
    second = decode(page([order(2, [(10, "1.00"), (20, "2.00")])]))
    merge_batch(wh, plan, second.tables, extracted_at=NOW, state=None, insert_only=True)

    assert wh.query("select Id from raw.orders order by Id") == [(1,), (2,)]
    assert wh.query("select Id, OrderId from raw.order_items order by Id") == [(10, 2), (20, 2)]


def _log_mib(wh: Warehouse) -> float:
    wal = wh.path.with_name(wh.path.name + ".wal")
    return wal.stat().st_size / 2**20 if wal.exists() else 0.0


def test_the_log_is_checkpointed_at_the_loader_threshold_not_duckdbs(tmp_path: Path) -> None:
    """With checkpoint_mb the log grows past DuckDB's own 16 MiB and is written into the
    file by the commit that reaches the threshold, the buffer cap restored after."""
    wh = Warehouse(tmp_path / "w.duckdb", run_id="r", memory_limit_mb=64, checkpoint_mb=48)
    logged: list[float] = []
    try:
        # commits smaller than a row group, like the loader's batches (DuckDB writes a
        # larger append straight to the file, not to the log): about 3.2 MiB each
        for start in range(0, 1_000_000, 50_000):
            with wh.transaction() as con:
                con.execute("create table if not exists t (payload varchar)")
                con.execute(
                    "insert into t select md5(i::varchar) || md5((i + 1)::varchar)"
                    f" from range({start}, {start + 50_000}) r(i)"
                )
            logged.append(_log_mib(wh))
        limit = wh.query("select current_setting('memory_limit')")[0][0]
    finally:
        wh.close()
    assert max(logged) > 20  # DuckDB's 16 MiB threshold would have checkpointed
    assert max(logged) < 48  # the commit that reached 48 MiB checkpointed
    assert any(after < before for before, after in pairwise(logged))
    assert limit in ("64.0 MiB", "67.1 MB"), limit
    assert _log_mib(wh) == 0  # close checkpoints the rest


def test_a_checkpoint_that_fails_under_the_cap_is_done_again_with_room(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """DuckDB fails a checkpoint that needs more than its memory limit with a FATAL error
    that invalidates the database; the warehouse reopens the file (the committed rows are
    in the log), checkpoints with CHECKPOINT_HEADROOM times the cap, and goes on."""
    wh = Warehouse(tmp_path / "w.duckdb", run_id="r", memory_limit_mb=64, checkpoint_mb=64)
    try:
        for start in range(0, 300_000, 50_000):
            with wh.transaction() as con:
                con.execute("create table if not exists t (payload varchar, n bigint)")
                con.execute(
                    f"insert into t select md5(i::varchar), i from range({start}, {start + 50_000})"
                    " r(i)"
                )
        assert _log_mib(wh) > 5
        wh.con.execute("set memory_limit = '2MiB'")  # a checkpoint that needs more than this
        with caplog.at_level("WARNING", logger="extract.load.warehouse"):
            wh.checkpoint()
        assert "could not checkpoint" in caplog.text
        assert _log_mib(wh) == 0
        assert wh.query("select count(*), sum(n) from t") == [(300_000, 44_999_850_000)]
        assert wh.query("select current_setting('memory_limit')")[0][0] in ("64.0 MiB", "67.1 MB")
        with wh.transaction() as con:  # the reopened connection is the warehouse's now
            con.execute("insert into t values ('after', 1)")
        assert wh.query("select count(*) from t") == [(300_001,)]
    finally:
        wh.close()

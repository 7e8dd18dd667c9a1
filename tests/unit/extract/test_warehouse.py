"""Warehouse merges: keys, child replacement, state in the same transaction, drift, purges."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from extract.catalog import ChildSpec, EntitySpec
from extract.errors import DataContractError, WarehouseError
from extract.metadata import parse_edmx
from extract.privacy import PrivacyPolicy
from extract.reconcile import reconcile
from extract.records import PageDecoder
from extract.state import PartitionState, read_states
from extract.warehouse import Warehouse

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
    wh.ensure_tables(plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    first = decode(page([order(1, [(10, "1.00"), (11, "2.00")]), order(2, [(20, "3.00")])]))
    wh.write_batch(plan, first.tables, load_id="a", extracted_at=NOW, state=state(2))
    # order 1 changes: one line removed, one changed; order 2 unchanged in this batch
    second = decode(page([order(1, [(10, "5.25")], StatusId=4)]))
    wh.write_batch(plan, second.tables, load_id="b", extracted_at=NOW, state=state(3))

    assert wh.execute("select Id, StatusId, _load_id from raw.orders order by Id") == [
        (1, 4, "b"),
        (2, 2, "a"),
    ]
    items = wh.execute("select Id, OrderId, LineAmount::varchar from raw.order_items order by Id")
    assert items == [(10, 1, "5.2500"), (20, 2, "3.0000")]
    (st,) = read_states(wh.con, "Orders/Orders")
    assert st.last_key == (3,) and st.rows_in_pass == 3


def test_batch_and_state_roll_back_together(wh: Warehouse) -> None:
    plan = plan_for()
    wh.ensure_tables(plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    batch = decode(page([order(1, [(10, "1.00")])]))
    # a state row that violates meta.state's NOT NULL: the rows must not commit without it
    bad = PartitionState("Orders/Orders", None, "", "run-1", NOW)  # type: ignore[arg-type]
    with pytest.raises(WarehouseError, match="NOT NULL"):
        wh.write_batch(plan, batch.tables, load_id="a", extracted_at=NOW, state=bad)
    assert wh.execute("select count(*) from raw.orders") == [(0,)]
    assert read_states(wh.con, "Orders/Orders") == []


def test_added_property_becomes_a_recorded_column(wh: Warehouse) -> None:
    wh.ensure_tables(plan_for())
    changes = wh.ensure_tables(plan_for('<Property Name="Channel" Type="Edm.String"/>'))
    assert [(c.table, c.column, c.change) for c in changes] == [("orders", "Channel", "added")]
    assert "Channel" in wh.table_columns("orders")
    recorded = wh.execute("select column_name, change from meta.schema_changes")
    assert recorded == [("Channel", "added")]
    # removed again at the source: the column stays, the removal is recorded once
    wh.ensure_tables(plan_for())
    wh.ensure_tables(plan_for())
    assert "Channel" in wh.table_columns("orders")
    assert wh.execute("select count(*) from meta.schema_changes where change = 'removed'") == [(1,)]


def test_narrowing_type_change_is_a_contract_error_unless_rebuilt(wh: Warehouse) -> None:
    wh.ensure_tables(plan_for('<Property Name="Code" Type="Edm.String"/>'))
    narrowed = plan_for('<Property Name="Code" Type="Edm.Int32"/>')
    with pytest.raises(DataContractError, match="--full-refresh"):
        wh.ensure_tables(narrowed)
    changes = wh.ensure_tables(narrowed, rebuild=True)
    assert [(c.column, c.change) for c in changes] == [("Code", "type_changed")]
    widened = wh.ensure_tables(
        plan_for('<Property name="x" Type="Edm.String"/>'.replace('name="x"', 'Name="Code"'))
    )
    assert [(c.column, c.new_type) for c in widened] == [("Code", "VARCHAR")]


def test_purge_removes_parents_and_children(wh: Warehouse) -> None:
    plan = plan_for()
    wh.ensure_tables(plan)
    decode = PageDecoder(plan, PrivacyPolicy("s"))
    batch = decode(page([order(1, [(10, "1")]), order(2, [(20, "2"), (21, "3")])]))
    wh.write_batch(plan, batch.tables, load_id="a", extracted_at=NOW, state=None)
    keys = pa.table({"Id": pa.array([2], pa.int64())})
    assert wh.purge_keys(plan, keys) == 1
    assert wh.execute("select Id from raw.orders") == [(1,)]
    assert wh.execute("select Id from raw.order_items") == [(10,)]


def test_memory_cap_applies_to_the_loader_connection(tmp_path: Path) -> None:
    w = Warehouse(tmp_path / "m.duckdb", run_id="run-1", memory_limit_mb=128)
    try:
        limit = w.execute("select current_setting('memory_limit')")[0][0]
    finally:
        w.close()
    assert limit in ("128.0 MiB", "134.2 MB"), limit

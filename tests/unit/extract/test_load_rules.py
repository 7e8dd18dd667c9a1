"""The load-side rules that keep raw true to the source when a page is wrong: an empty
lookup pass, a record on two pages, a line that moved, a source column named like a loader
column, quarantined records leaving with the person or record they are about, a page
larger than ``$top``."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from extract.decode.pages import PageDecoder
from extract.errors import DataContractError
from extract.load import meta
from extract.load.batch import BatchWriter, concat_pages, keeps_old_rows
from extract.load.erasure import erase_from_raw
from extract.load.merge import merge_batch, purge_keys, replace_all
from extract.load.meta_tables import QUARANTINE_UPGRADE
from extract.load.tables import ensure_tables
from extract.load.warehouse import Warehouse
from extract.paging.cursors import Request
from extract.paging.pager import check_page_size
from extract.schema.catalog import EntitySpec
from extract.schema.metadata import parse_edmx
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import reconcile
from tests.unit.extract.test_warehouse import NOW, SPEC, order, page, plan_for, state

POLICY = PrivacyPolicy("s")

CUSTOMERS_EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
 <edmx:DataServices>
  <Schema Namespace="Customers" xmlns="http://docs.oasis-open.org/odata/ns/edm">
   <EntityType Name="Customer">
    <Key><PropertyRef Name="Id"/></Key>
    <Property Name="Id" Type="Edm.Int32" Nullable="false"/>
    <Property Name="_deleted_at" Type="Edm.String"/>
   </EntityType>
   <EntityContainer Name="Container">
    <EntitySet Name="Customers" EntityType="Customers.Customer"/>
   </EntityContainer>
  </Schema>
 </edmx:DataServices>
</edmx:Edmx>"""


@pytest.fixture
def wh(tmp_path: Path):  # type: ignore[no-untyped-def]
    w = Warehouse(tmp_path / "w.duckdb", run_id="run-1")
    yield w
    w.close()


def quarantined(wh: Warehouse, entity: str, *, key: object = None, customer: int | None = None):  # type: ignore[no-untyped-def]
    meta.insert(
        wh.con,
        meta.QuarantineRow(
            run_id="run-1",
            entity=entity,
            application_id=1,
            key_after=None,
            key_before=None,
            skip_offset=None,
            url="u",
            error="e",
            payload="{}",
            recorded_at=NOW,
            record_key=json.dumps([key]) if key is not None else None,
            customer_id=customer,
            email_hash="h" if customer == 7 else None,
        ),
    )


def test_an_empty_lookup_pass_keeps_the_rows_unless_the_source_confirms_none(
    wh: Warehouse,
) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    replace_all(
        wh,
        plan,
        PageDecoder(plan, POLICY)(page([order(9, [])])).tables,
        extracted_at=NOW,
        state=None,
    )

    kept = BatchWriter(wh, plan, mode="replace", batch_rows=10).commit(state(0).completed(at=NOW))
    assert kept == 1
    assert wh.query("select Id from raw.orders") == [(9,)]
    assert meta.read_states(wh.con, "Orders/Orders")[0].watermark == NOW  # the pass is done

    writer = BatchWriter(wh, plan, mode="replace", batch_rows=10)
    assert writer.commit(state(0).completed(at=NOW), source_empty=True) == 0
    assert wh.query("select count(*) from raw.orders") == [(0,)]


@pytest.mark.parametrize(
    ("new", "old", "confirmed", "keeps"),
    [(0, 5, False, True), (0, 5, True, False), (0, 0, False, False), (3, 5, False, False)],
)
def test_keeps_old_rows_only_for_an_unconfirmed_empty_refresh(
    new: int, old: int, confirmed: bool, keeps: bool
) -> None:
    assert keeps_old_rows(new, old, source_empty=confirmed) is keeps


def test_a_record_on_two_pages_of_a_batch_keeps_its_last_copy_and_its_children() -> None:
    plan = plan_for()
    decode = PageDecoder(plan, POLICY)
    first = decode(page([order(1, [(10, "1"), (11, "2")]), order(2, [(20, "3")])])).tables
    second = decode(page([order(1, [(12, "4")], StatusId=5)])).tables

    batch = concat_pages([first, second], plan)

    orders = batch["orders"].select(["Id", "StatusId"]).to_pylist()
    assert sorted((r["Id"], r["StatusId"]) for r in orders) == [(1, 5), (2, 2)]
    assert sorted(batch["order_items"].column("Id").to_pylist()) == [12, 20]


def test_a_line_that_moved_to_another_order_is_stored_once(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    decode = PageDecoder(plan, POLICY)
    merge_batch(
        wh, plan, decode(page([order(1, [(10, "1")])])).tables, extracted_at=NOW, state=None
    )
    merge_batch(
        wh, plan, decode(page([order(2, [(10, "1")])])).tables, extracted_at=NOW, state=None
    )
    assert wh.query("select Id, OrderId from raw.order_items") == [(10, 2)]


def test_a_source_property_named_like_a_loader_column_is_renamed_and_recorded(
    wh: Warehouse,
) -> None:
    spec = EntitySpec("Customers", "Customers", "customers", key=("Id",))
    plan = reconcile(spec, parse_edmx(CUSTOMERS_EDMX), POLICY)
    assert [c.name for c in plan.main.columns] == ["Id", "_deleted_at_source"]
    assert any("_deleted_at_source" in w for w in plan.warnings)

    ensure_tables(wh, plan)
    body = json.dumps({"value": [{"Id": 1, "_deleted_at": "archived"}]}).encode()
    merge_batch(wh, plan, PageDecoder(plan, POLICY)(body).tables, extracted_at=NOW, state=None)

    assert wh.query("select _deleted_at_source, _deleted_at from raw.customers") == [
        ("archived", None)
    ]
    assert wh.query("select column_name, change from meta.schema_changes") == [
        ("_deleted_at_source", "renamed from _deleted_at")
    ]


def test_a_forgotten_record_takes_its_quarantined_rows(wh: Warehouse) -> None:
    plan = plan_for()
    ensure_tables(wh, plan)
    quarantined(wh, "Orders/Orders", key=2)
    quarantined(wh, "Orders/Orders", key=3)
    quarantined(wh, "Orders/Invoices", key=2)

    purge_keys(wh, plan, pa.table({"Id": pa.array([2], pa.int64())}))

    left = wh.query("select entity, record_key from meta.quarantine order by all")
    assert left == [("Orders/Invoices", "[2]"), ("Orders/Orders", "[3]")]


def test_a_forgotten_customer_takes_every_quarantined_record_about_them(wh: Warehouse) -> None:
    spec = EntitySpec("Customers", "Customers", "customers", key=("Id",))
    plan = reconcile(spec, parse_edmx(CUSTOMERS_EDMX), POLICY)
    ensure_tables(wh, plan)
    quarantined(wh, "Orders/Orders", key=50, customer=4)
    quarantined(wh, "Orders/Orders", key=51, customer=5)

    purge_keys(wh, plan, pa.table({"Id": pa.array([4], pa.int32())}))

    assert wh.query("select record_key from meta.quarantine") == [("[51]",)]


def test_erasure_takes_quarantined_records_by_customer_id_or_email_hash(wh: Warehouse) -> None:
    quarantined(wh, "Customers/Customers", key=4, customer=4)
    quarantined(wh, "Orders/Orders", key=60, customer=7)  # a guest order: its e-mail hash "h"
    quarantined(wh, "Orders/Orders", key=61, customer=8)

    erase_from_raw(wh, 4, None)
    erase_from_raw(wh, None, "h")

    assert wh.query("select record_key from meta.quarantine") == [("[61]",)]


def test_an_old_quarantine_table_gets_the_privacy_columns_and_loses_its_payloads(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema meta")
    con.execute(
        "create table meta.quarantine (run_id varchar, entity varchar, application_id integer,"
        " key_after varchar, key_before varchar, skip_offset bigint, url varchar,"
        " error varchar, payload varchar, recorded_at timestamptz)"
    )
    con.execute(
        "insert into meta.quarantine (entity, payload) values "
        """('Customers/Customers', '{"EmailAddress": "a@example.com"}')"""
    )
    con.close()
    assert QUARANTINE_UPGRADE  # run by Warehouse on open

    w = Warehouse(path, run_id="run-2")
    try:
        [(payload, customer_id)] = w.query("select payload, customer_id from meta.quarantine")
    finally:
        w.close()
    assert "a@example.com" not in payload and customer_id is None
    assert json.loads(payload)["bytes"] == len('{"EmailAddress": "a@example.com"}')


def test_a_page_with_more_rows_than_top_is_refused() -> None:
    plan = plan_for()
    decoded = PageDecoder(plan, POLICY)(page([order(i, []) for i in range(1, 4)]))
    check_page_size(decoded, Request("Orders/Orders", {"$top": "3"}, 3), SPEC.path)
    with pytest.raises(DataContractError, match=r"more rows than the \$top=2"):
        check_page_size(decoded, Request("Orders/Orders", {"$top": "2"}, 2), SPEC.path)
    # a followed nextLink carries the server's own page size
    check_page_size(decoded, Request("https://h/next", None, 2), SPEC.path)

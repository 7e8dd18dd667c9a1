"""Decoding OData JSON pages into typed Arrow tables (PageDecoder, KeyDecoder)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from extract.decode.pages import KeyDecoder, PageDecoder
from extract.errors import BadPayload, RetryableError
from extract.schema.catalog import ChildSpec, EntitySpec, FlattenSpec
from extract.schema.metadata import EdmEntityType, EdmNavigation, EdmProperty, EdmService
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import EntityPlan, reconcile

UTC = dt.UTC


def P(name: str, edm_type: str, precision: int | None = None, scale: int | None = None):
    return EdmProperty(name, edm_type, True, None, precision, scale)


SERVICE = EdmService(
    "Orders",
    {
        "Order": EdmEntityType(
            "Orders",
            "Order",
            ("Id",),
            (
                P("Id", "Edm.Int64"),
                P("Token", "Edm.Guid"),
                P("OrderNo", "Edm.String"),
                P("Amount", "Edm.Decimal", 18, 4),
                P("Rate", "Edm.Double"),
                P("Qty", "Edm.Int32"),
                P("Paid", "Edm.Boolean"),
                P("Day", "Edm.Date"),
                P("At", "Edm.TimeOfDay"),
                P("Span", "Edm.Duration"),
                P("Blob", "Edm.Binary"),
                P("Location", "Edm.GeographyPoint"),
                P("Created", "Edm.DateTimeOffset"),
                P("Updated", "Edm.DateTimeOffset"),
            ),
            (
                EdmNavigation("Items", "OrderItem", True),
                EdmNavigation("Notes", "OrderNote", True),
                EdmNavigation("Buyer", "OrderCustomerInfo", False),
            ),
        ),
        "OrderItem": EdmEntityType(
            "Orders",
            "OrderItem",
            ("Id",),
            (
                P("Id", "Edm.Int64"),
                P("OrderId", "Edm.Int64"),
                P("LineAmount", "Edm.Decimal", 18, 4),
            ),
        ),
        # No OrderId: the child table gets it from the parent row.
        "OrderNote": EdmEntityType(
            "Orders", "OrderNote", ("Id",), (P("Id", "Edm.Int32"), P("Text", "Edm.String"))
        ),
        "OrderCustomerInfo": EdmEntityType(
            "Orders",
            "OrderCustomerInfo",
            ("Id",),
            (
                P("Id", "Edm.Int64"),
                P("FirstName", "Edm.String"),
                P("EmailAddress", "Edm.String"),
                P("City", "Edm.String"),
                P("Credit", "Edm.Decimal", 18, 2),
                P("Created", "Edm.DateTimeOffset"),
            ),
        ),
    },
    {"Orders": "Order"},
)

SPEC = EntitySpec(
    "Orders",
    "Orders",
    "orders",
    key=("Id",),
    children=(
        ChildSpec("Items", "order_items", key=("Id",), parent_key=("OrderId",)),
        ChildSpec("Notes", "order_notes", key=("OrderId", "Id"), parent_key=("OrderId",)),
    ),
    flatten=(
        FlattenSpec("Buyer", "Buyer_", personal={"FirstName": "name", "EmailAddress": "email"}),
    ),
)

POLICY = PrivacyPolicy("salt")


def plan_for(policy: PrivacyPolicy = POLICY) -> EntityPlan:
    return reconcile(SPEC, SERVICE, policy)


def decode(rows: list[dict[str, Any]], **envelope: Any) -> Any:
    plan = plan_for()
    body = json.dumps({"@odata.context": "x", "value": rows, **envelope}).encode()
    return PageDecoder(plan, POLICY)(body)


def column(page: Any, name: str, table: str = "orders") -> list[Any]:
    return page.tables[table].column(name).to_pylist()


def raw_page(values: str) -> bytes:
    """A page whose rows are given as JSON text, so number literals stay as written."""
    return b'{"value": [' + values.encode() + b"]}"


# -- shape --------------------------------------------------------------------------------


def test_tables_follow_the_plan_exactly() -> None:
    plan = plan_for()

    page = decode([{"Id": 1}])

    assert list(page.tables) == ["orders", "order_items", "order_notes"]
    for name, table in page.tables.items():
        expected = pa.schema([pa.field(c.name, c.arrow_type) for c in plan.tables[name].columns])
        assert table.schema == expected


def test_empty_page() -> None:
    page = decode([])

    assert page.row_count == 0
    assert page.last_key is None
    assert page.max_cursor is None
    assert all(t.num_rows == 0 for t in page.tables.values())


def test_last_key_next_link_and_count() -> None:
    page = decode(
        [{"Id": 3}, {"Id": 9}, {"Id": 5}],
        **{"@odata.nextLink": "https://h/Orders/Orders?$skip=3", "@odata.count": 41},
    )

    assert page.row_count == 3
    assert page.last_key == (5,)  # the last row in page order, not the largest
    assert page.next_link == "https://h/Orders/Orders?$skip=3"
    assert page.count == 41


def test_no_next_link_or_count() -> None:
    page = decode([{"Id": 1}])

    assert (page.next_link, page.count) == (None, None)


# -- values -------------------------------------------------------------------------------


def test_decimals_are_exact() -> None:
    plan = plan_for()
    body = raw_page(
        '{"Id": 1, "Amount": 12345678901234.5678},'
        '{"Id": 2, "Amount": "98765432109876.5432"},'
        '{"Id": 3, "Amount": 0.1},'
        '{"Id": 4, "Amount": -7},'
        '{"Id": 5, "Amount": 1E+3},'
        '{"Id": 6, "Amount": null}'
    )

    page = PageDecoder(plan, POLICY)(body)

    assert column(page, "Amount") == [
        Decimal("12345678901234.5678"),
        Decimal("98765432109876.5432"),
        Decimal("0.1"),
        Decimal("-7"),
        Decimal("1000"),
        None,
    ]
    assert page.rounded_values == 0


def test_extra_fraction_digits_are_rounded_half_even_and_counted() -> None:
    body = raw_page(
        '{"Id": 1, "Amount": 1.23455, "Items": [{"Id": 7, "LineAmount": 2.50000}]},'
        '{"Id": 2, "Amount": 1.23465, "Items": [{"Id": 8, "LineAmount": 0.00005}]},'
        '{"Id": 3, "Amount": 1.2}'
    )

    page = PageDecoder(plan_for(), POLICY)(body)

    assert column(page, "Amount") == [Decimal("1.2346"), Decimal("1.2346"), Decimal("1.2")]
    assert column(page, "LineAmount", "order_items") == [Decimal("2.5"), Decimal("0")]
    assert page.rounded_values == 3  # 2.50000 only lost zeros: not counted
    assert page.rounded == {"orders.Amount": 2, "order_items.LineAmount": 1}


def test_decimal_beyond_the_precision_is_a_bad_payload() -> None:
    body = raw_page('{"Id": 1, "Amount": 99999999999999999}')

    with pytest.raises(BadPayload, match="Amount"):
        PageDecoder(plan_for(), POLICY)(body)


def test_timestamps_with_z_offsets_and_seven_digits() -> None:
    page = decode(
        [
            {"Id": 1, "Created": "2026-01-02T03:04:05Z"},
            {"Id": 2, "Created": "2026-01-02T05:04:05+02:00"},
            {"Id": 3, "Created": "2026-01-02T03:04:05.1234567Z"},
            {"Id": 4, "Created": "2026-01-02T01:34:05.5-01:30"},
            {"Id": 5, "Created": None},
        ]
    )

    assert column(page, "Created") == [
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC),
        dt.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=UTC),
        None,
    ]


def test_timestamp_without_offset_is_a_bad_payload() -> None:
    with pytest.raises(BadPayload, match="Created"):
        decode([{"Id": 1, "Created": "2026-01-02T03:04:05"}])


def test_int64_sent_as_string_is_accepted() -> None:
    page = decode([{"Id": "9007199254740993", "Qty": "12"}])

    assert column(page, "Id") == [9007199254740993]
    assert column(page, "Qty") == [12]
    assert page.last_key == (9007199254740993,)


def test_nulls_and_missing_properties_are_null() -> None:
    page = decode([{"Id": 1, "OrderNo": None, "Qty": None, "Paid": None, "Amount": None}])

    row = page.tables["orders"].to_pylist()[0]
    assert row["Id"] == 1
    assert all(value is None for name, value in row.items() if name != "Id")


def test_other_types() -> None:
    page = decode(
        [
            {
                "Id": 1,
                "Token": "0F8FAD5B-D9CB-469F-A165-70867728950E",
                "OrderNo": "A-1 åäö",
                "Rate": 0.25,
                "Qty": -3,
                "Paid": True,
                "Day": "2026-02-28",
                "At": "13:45:30.1234567",
                "Span": "P1DT2H3M4.5S",
                "Blob": "AAH_",
                "Location": {"type": "Point", "coordinates": [18.0, 59.3]},
            },
            {"Id": 2, "Span": "-PT90M", "Blob": "AAH/", "Location": "POINT(1 2)"},
        ]
    )

    row = page.tables["orders"].to_pylist()[0]
    assert row["Token"] == "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert row["OrderNo"] == "A-1 åäö"
    assert (row["Rate"], row["Qty"], row["Paid"]) == (0.25, -3, True)
    assert row["Day"] == dt.date(2026, 2, 28)
    assert row["At"] == dt.time(13, 45, 30, 123457)
    assert row["Span"] == pa.MonthDayNano([0, 1, (2 * 3600 + 3 * 60 + 4) * 10**9 + 5 * 10**8])
    assert row["Blob"] == b"\x00\x01\xff"
    assert json.loads(row["Location"]) == {"type": "Point", "coordinates": [18.0, 59.3]}
    second = page.tables["orders"].to_pylist()[1]
    assert second["Span"] == pa.MonthDayNano([0, 0, -90 * 60 * 10**9])
    assert second["Blob"] == b"\x00\x01\xff"
    assert second["Location"] == "POINT(1 2)"


def test_unknown_properties_are_ignored() -> None:
    page = decode(
        [{"Id": 1, "Brand": "new", "Items": [{"Id": 2, "OrderId": 1, "Extra": [1, {"a": 2}]}]}]
    )

    assert "Brand" not in page.tables["orders"].column_names
    assert column(page, "Id", "order_items") == [2]


def test_max_cursor_is_the_max_of_updated_else_created() -> None:
    page = decode(
        [
            {"Id": 1, "Created": "2026-01-01T00:00:00Z", "Updated": "2026-01-05T00:00:00Z"},
            {"Id": 2, "Created": "2026-01-07T00:00:00Z", "Updated": None},
            {"Id": 3, "Created": "2026-01-09T00:00:00Z", "Updated": "2026-01-03T00:00:00Z"},
        ]
    )

    # Row 3's Created is later but its Updated wins the coalesce.
    assert page.max_cursor == dt.datetime(2026, 1, 7, tzinfo=UTC)


# -- expands ------------------------------------------------------------------------------


def test_collection_expands_become_child_tables_with_parent_keys() -> None:
    page = decode(
        [
            {
                "Id": 10,
                "Items": [
                    {"Id": 100, "OrderId": 10, "LineAmount": 1.5},
                    {"Id": 101, "OrderId": 10, "LineAmount": 2},
                ],
                "Notes": [{"Id": 1, "Text": "a"}, {"Id": 2, "Text": "b"}],
            },
            {"Id": 11, "Items": [], "Notes": None},
            {"Id": 12, "Items": [{"Id": 102, "OrderId": 12}], "Notes": [{"Id": 1, "Text": "c"}]},
        ]
    )

    assert page.tables["order_items"].to_pylist() == [
        {"Id": 100, "OrderId": 10, "LineAmount": Decimal("1.5")},
        {"Id": 101, "OrderId": 10, "LineAmount": Decimal("2")},
        {"Id": 102, "OrderId": 12, "LineAmount": None},
    ]
    # Notes do not carry OrderId: it is copied from the parent row.
    assert page.tables["order_notes"].to_pylist() == [
        {"OrderId": 10, "Id": 1, "Text": "a"},
        {"OrderId": 10, "Id": 2, "Text": "b"},
        {"OrderId": 12, "Id": 1, "Text": "c"},
    ]
    assert page.row_count == 3


def test_single_navigations_are_flattened_and_null_navigations_give_nulls() -> None:
    page = decode(
        [
            {"Id": 1, "Buyer": {"Id": 7, "FirstName": "Ann", "EmailAddress": "a@x.se"}},
            {"Id": 2, "Buyer": None},
            {"Id": 3},
            {
                "Id": 4,
                "Buyer": {
                    "Id": 8,
                    "City": "Umeå",
                    "EmailAddress": None,
                    "Credit": 12.5,
                    "Created": "2026-03-01T10:00:00Z",
                },
            },
        ]
    )

    table = page.tables["orders"]
    assert [n for n in table.column_names if n.startswith("Buyer_")] == [
        "Buyer_Id",
        "Buyer_EmailAddressHash",
        "Buyer_City",
        "Buyer_Credit",
        "Buyer_Created",
    ]
    assert column(page, "Buyer_Id") == [7, None, None, 8]
    assert column(page, "Buyer_City") == [None, None, None, "Umeå"]
    assert column(page, "Buyer_Credit") == [None, None, None, Decimal("12.5")]
    assert column(page, "Buyer_Created") == [
        None,
        None,
        None,
        dt.datetime(2026, 3, 1, 10, tzinfo=UTC),
    ]
    expected = hashlib.sha256(b"salt\x00a@x.se").hexdigest()
    assert column(page, "Buyer_EmailAddressHash") == [expected, None, None, None]


def test_hashes_are_stable_and_salted() -> None:
    body = json.dumps({"value": [{"Id": 1, "Buyer": {"EmailAddress": " A@X.se"}}]}).encode()

    def hashed(salt: str) -> str:
        policy = PrivacyPolicy(salt)
        page = PageDecoder(plan_for(policy), policy)(body)
        value = page.tables["orders"].column("Buyer_EmailAddressHash")[0].as_py()
        assert isinstance(value, str)
        return value

    assert hashed("one") == hashed("one")
    assert hashed("one") != hashed("two")
    assert hashed("one") == hashlib.sha256(b"one\x00a@x.se").hexdigest()


# -- bad bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"value": [{"Id": 1}, {"Id": 2', "not valid JSON"),
        (b"", "not valid JSON"),
        (b"<html>502 Bad Gateway</html>", "not valid JSON"),
        (b'{"@odata.context": "x"}', "does not match the plan"),
        (b'{"value": {"Id": 1}}', "does not match the plan"),
        (b'{"value": [{"Id": "abc"}]}', "does not match the plan"),
        (b'{"value": [{"Id": 1, "Items": {"Id": 2}}]}', "does not match the plan"),
        (b'{"value": [{"Id": 1, "Qty": 3000000000}]}', "Qty"),
        (b'{"value": [{"Id": 1, "Amount": "lots"}]}', "Amount"),
        (b'{"value": [{"Id": 1, "Token": "not-a-guid"}]}', "Token"),
        (b'{"value": [{"Id": 1, "Day": "2026-02-30"}]}', "Day"),
        (b'{"value": [{"Id": 1, "Span": "P"}]}', "Span"),
    ],
)
def test_bad_bodies_are_bad_payloads(body: bytes, message: str) -> None:
    with pytest.raises(BadPayload, match=message) as caught:
        PageDecoder(plan_for(), POLICY)(body)

    assert isinstance(caught.value, RetryableError)
    assert caught.value.entity == "Orders/Orders"


# -- into DuckDB --------------------------------------------------------------------------


def test_decoded_tables_load_into_columns_of_the_planned_types() -> None:
    plan = plan_for()
    body = raw_page(
        '{"Id": 1, "Token": "0f8fad5b-d9cb-469f-a165-70867728950e", "Amount": 12345678901234.5678,'
        ' "Created": "2026-01-02T03:04:05.1234567+01:00", "Span": "PT1S", "Day": "2026-01-02",'
        ' "Items": [{"Id": 5, "OrderId": 1, "LineAmount": 0.0001}]}'
    )
    page = PageDecoder(plan, POLICY)(body)
    con = duckdb.connect()
    try:
        for name, table in plan.tables.items():
            columns = ", ".join(f'"{c.name}" {c.duckdb_type}' for c in table.columns)
            con.execute(f"CREATE TABLE {name} ({columns})")
            con.register("page_rows", page.tables[name])
            con.execute(f"INSERT INTO {name} SELECT * FROM page_rows")
            con.unregister("page_rows")
        loaded = con.execute(
            "SELECT o.Amount, o.Created, o.Token::VARCHAR, i.LineAmount "
            "FROM orders o JOIN order_items i ON i.OrderId = o.Id"
        ).fetchone()
    finally:
        con.close()
    assert loaded is not None
    assert loaded[0] == Decimal("12345678901234.5678")
    assert loaded[1] == dt.datetime(2026, 1, 2, 2, 4, 5, 123456, tzinfo=UTC)
    assert loaded[2] == "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert loaded[3] == Decimal("0.0001")


# -- key pages ----------------------------------------------------------------------------


def test_key_decoder_single_key() -> None:
    decoder = KeyDecoder(("Id",), (pa.int64(),))

    page = decoder(
        b'{"value": [{"Id": 4}, {"Id": "5"}, {"Id": 6, "Other": 1}],'
        b' "@odata.nextLink": "next", "@odata.count": 3}'
    )

    assert page.tables["keys"].to_pylist() == [{"Id": 4}, {"Id": 5}, {"Id": 6}]
    assert page.tables["keys"].schema == pa.schema([pa.field("Id", pa.int64())])
    assert (page.row_count, page.last_key, page.next_link, page.count) == (3, (6,), "next", 3)


def test_key_decoder_composite_key_keeps_strings_as_sent() -> None:
    decoder = KeyDecoder(
        ("PartNo", "PriceListId", "QtyBreak"), (pa.string(), pa.int32(), pa.decimal128(18, 4))
    )

    page = decoder(b'{"value": [{"PartNo": "Ab-1", "PriceListId": 2, "QtyBreak": 1.5}]}')

    assert page.last_key == ("Ab-1", 2, Decimal("1.5"))


def test_key_decoder_empty_and_bad_pages() -> None:
    decoder = KeyDecoder(("Id",), (pa.int64(),))

    assert decoder(b'{"value": []}').last_key is None
    with pytest.raises(BadPayload):
        decoder(b'{"value": [{"Id": 1}')
    with pytest.raises(BadPayload):
        decoder(b'{"value": [{"Id": 1.5e40}]}')


def test_key_decoder_rejects_mismatched_types() -> None:
    with pytest.raises(ValueError, match="one Arrow type per key column"):
        KeyDecoder(("Id", "Other"), (pa.int64(),))
    with pytest.raises(ValueError, match="unsupported Arrow type"):
        KeyDecoder(("Id",), (pa.list_(pa.int64()),))

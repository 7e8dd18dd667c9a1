"""JSON rendering: the wire format of the .NET service, value by value."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import polars as pl
import pytest

from simulator.odata.parse import parse_options, split_query
from simulator.odata.query import QueryEngine
from simulator.odata.rows import Rows
from simulator.odata.serialize import collection_body, entity_body, render_array, render_rows
from simulator.schema import EntityType, Property


def rendered(store, query, set_path="Orders/Orders", ieee754=False):
    ns, set_name = set_path.split("/")
    p = QueryEngine(store).page(ns, set_name, parse_options(split_query(query)))
    return [json.loads(row, parse_float=Decimal) for row in render_rows(p.rows, ieee754=ieee754)]


def raw_rows(store, query, set_path="Orders/Orders", ieee754=False):
    ns, set_name = set_path.split("/")
    p = QueryEngine(store).page(ns, set_name, parse_options(split_query(query)))
    return render_rows(p.rows, ieee754=ieee754)


def test_decimals_are_exact_number_literals_without_trailing_zeros(tiny_store):
    rows = raw_rows(tiny_store, "$select=Id,FreightCost")
    assert rows == [
        '{"Id":1,"FreightCost":129.5}',
        '{"Id":2,"FreightCost":0}',
        '{"Id":3,"FreightCost":null}',
        '{"Id":4,"FreightCost":1234.5678}',
        '{"Id":5,"FreightCost":49}',
        '{"Id":6,"FreightCost":0.25}',
        '{"Id":7,"FreightCost":10}',
    ]


def test_datetimes_are_utc_z_with_fraction_only_when_non_zero(tiny_store):
    values = [r["Created"] for r in rendered(tiny_store, "$select=Created")]
    assert values[:2] == ["2026-01-01T00:00:00Z", "2026-01-02T10:00:00.347Z"]
    assert values[6] == "2026-01-07T12:00:00.000001Z"


def test_strings_are_escaped_and_nulls_written(tiny_store):
    rows = raw_rows(tiny_store, "$select=OrderNo,DeliveryCity,IsPartDelivery&$top=3")
    assert rows[0] == '{"OrderNo":"SO-1","IsPartDelivery":false,"DeliveryCity":"Malmö"}'
    assert rows[2] == '{"OrderNo":"SO-\\"3\\"","IsPartDelivery":null,"DeliveryCity":null}'
    assert json.loads(raw_rows(tiny_store, "$select=DeliveryCity&$skip=6")[0]) == {
        "DeliveryCity": "Lund\n"
    }


def test_properties_come_in_schema_order_regardless_of_select_order(tiny_store):
    (row,) = rendered(tiny_store, "$select=Created,Id,OrderNo&$top=1")
    assert list(row) == ["Id", "OrderNo", "Created"]


def test_every_property_is_present_without_select(tiny_store):
    (row,) = rendered(tiny_store, "$top=1")
    names = tiny_store.schema.entity_type("Orders", "Order").property_names
    assert list(row) == names


def test_guids_are_lower_case(tiny_store):
    keys = [r["Key"] for r in rendered(tiny_store, "$select=Key", "Products/Products")]
    assert keys == [
        "0d4b1cf2-8d3b-4c1e-9a8e-111111111111",
        "0d4b1cf2-8d3b-4c1e-9a8e-222222222222",
        None,
    ]


def test_ieee754_compatible_quotes_int64_and_decimal_only(tiny_store):
    (row,) = raw_rows(tiny_store, "$select=Id,ApplicationId,FreightCost&$top=1", ieee754=True)
    assert row == '{"Id":"1","ApplicationId":1,"FreightCost":"129.5"}'
    (row,) = raw_rows(tiny_store, "$select=Id,FreightCost&$skip=2&$top=1", ieee754=True)
    assert row == '{"Id":"3","FreightCost":null}'


def test_expands_nest_objects_arrays_and_nulls(tiny_store):
    rows = rendered(
        tiny_store,
        "$select=Id&$expand=Items($select=Id,LineAmount),Buyer($select=EmailAddress)&$top=3",
    )
    assert rows == [
        {
            "Id": 1,
            "Items": [
                {"Id": 11, "LineAmount": 100},
                {"Id": 12, "LineAmount": Decimal("20.5")},
                {"Id": 13, "LineAmount": Decimal("129.5")},
            ],
            "Buyer": {"EmailAddress": "buyer1@example.com"},
        },
        {"Id": 2, "Items": [], "Buyer": {"EmailAddress": "buyer2@example.com"}},
        {"Id": 3, "Items": [{"Id": 31, "LineAmount": 300}], "Buyer": None},
    ]


def test_envelopes():
    body = collection_body("http://x/$metadata#Orders", ['{"Id":1}'], 7, "http://x/Orders?$skip=1")
    assert orjson.loads(body) == {
        "@odata.context": "http://x/$metadata#Orders",
        "@odata.count": 7,
        "value": [{"Id": 1}],
        "@odata.nextLink": "http://x/Orders?$skip=1",
    }
    assert list(orjson.loads(collection_body("c", [], None, None))) == ["@odata.context", "value"]
    assert orjson.loads(entity_body("c#Orders/$entity", '{"Id":1}')) == {
        "@odata.context": "c#Orders/$entity",
        "Id": 1,
    }


@pytest.mark.parametrize(
    ("dtype", "values", "edm", "expected"),
    [
        (
            pl.Float64,
            [1.5, float("nan"), float("inf"), None],
            "Edm.Double",
            ["1.5", '"NaN"', '"INF"', "null"],
        ),
        (pl.Int64, [2**53 + 1, None], "Edm.Int64", [str(2**53 + 1), "null"]),
        (pl.Decimal(18, 0), [Decimal("100"), Decimal("0")], "Edm.Decimal", ["100", "0"]),
        (
            pl.Decimal(18, 4),
            [Decimal("-0.5"), Decimal("12345678901234.1234")],
            "Edm.Decimal",
            ["-0.5", "12345678901234.1234"],
        ),
        (
            pl.Datetime("us", "UTC"),
            [datetime(1, 1, 1, tzinfo=UTC)],
            "Edm.DateTimeOffset",
            ['"0001-01-01T00:00:00Z"'],
        ),
        (pl.Null, [None], "Edm.String", ["null"]),
        (pl.String, ['tab\there "q" \\ \x01'], "Edm.String", ['"tab\\there \\"q\\" \\\\ \\u0001"']),
    ],
)
def test_value_rendering(dtype, values, edm, expected):
    et = EntityType("T", "T", ("V",), [Property("V", edm, True)])
    frame = pl.DataFrame({"V": pl.Series(values, dtype=dtype)})
    rows = render_rows(Rows(et, frame, ("V",)))
    assert rows == ['{"V":' + value + "}" for value in expected]


def test_single_valued_expands_of_one_type_rendered_together_stay_aligned(tiny_store):
    rows = rendered(
        tiny_store,
        "$select=Id&$expand=Buyer($select=Id),Payer($select=Id),ShipTo($select=Id)&$top=4",
    )
    assert rows == [
        {"Id": 1, "Buyer": {"Id": 101}, "Payer": {"Id": 101}, "ShipTo": {"Id": 101}},
        {"Id": 2, "Buyer": {"Id": 102}, "Payer": {"Id": 102}, "ShipTo": None},
        {"Id": 3, "Buyer": None, "Payer": {"Id": 103}, "ShipTo": {"Id": 103}},
        {"Id": 4, "Buyer": {"Id": 104}, "Payer": {"Id": 104}, "ShipTo": {"Id": 104}},
    ]
    mixed = rendered(tiny_store, "$select=Id&$expand=Buyer($select=City),Payer&$top=1")
    assert mixed[0]["Buyer"] == {"City": "Malmö"}
    assert mixed[0]["Payer"]["EmailAddress"] == "buyer1@example.com"


def test_render_array_is_utf8_json_items(tiny_store):
    p = QueryEngine(tiny_store).page(
        "Orders", "Orders", parse_options([("$select", "DeliveryCity")])
    )
    body = collection_body("c", render_array(p.rows), None, None)
    assert [r["DeliveryCity"] for r in orjson.loads(body)["value"]] == [
        "Malmö",
        "Oslo",
        None,
        "Berlin",
        "Oslo",
        "Bergen",
        "Lund\n",
    ]
    empty = QueryEngine(tiny_store).page("Orders", "Orders", parse_options([("$skip", "99")]))
    assert orjson.loads(collection_body("c", render_array(empty.rows), 0, None))["value"] == []


def test_columns_that_are_null_on_the_whole_page_are_written_as_null(tiny_store):
    # Updated is null for orders 2 and 4 only: a page of just those has no value at all
    rows = raw_rows(tiny_store, "$select=Updated&$filter=Id eq 2 or Id eq 4")
    assert rows == ['{"Updated":null}', '{"Updated":null}']
    rows = raw_rows(tiny_store, "$select=Id,Updated,OrderNo&$filter=Id eq 2 or Id eq 4")
    assert rows == [
        '{"Id":2,"OrderNo":"SO-2","Updated":null}',
        '{"Id":4,"OrderNo":"SO-4","Updated":null}',
    ]
    (row,) = rendered(tiny_store, "$filter=Id eq 2&$expand=Items")
    assert row["Items"] == [] and row["QuotationId"] is None

"""``$filter`` semantics over polars: operators, literals, nulls, functions, errors."""

from __future__ import annotations

import pytest

from simulator.odata.errors import ODataError
from simulator.odata.filter import compile_filter, referenced_properties
from simulator.odata.parse import parse_filter


def ids(store, text, ns="Orders", type_name="Order", key="Id"):
    et = store.schema.entity_type(ns, type_name)
    frame = store.frame(ns, type_name)
    return frame.filter(compile_filter(parse_filter(text).node, et))[key].to_list()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Id eq 3", [3]),
        ("Id ne 3", [1, 2, 4, 5, 6, 7]),
        ("Id gt 5", [6, 7]),
        ("Id ge 5", [5, 6, 7]),
        ("Id lt 2", [1]),
        ("Id le 2", [1, 2]),
        ("ApplicationId eq 1 and StatusId eq 2", [3, 7]),
        ("ApplicationId eq 3 or StatusId eq 6", [4, 6]),
        ("not (ApplicationId eq 1)", [2, 5, 6]),
        ("(Id lt 3 or Id gt 6) and ApplicationId eq 1", [1, 7]),
        ("Id in (2, 4, 99)", [2, 4]),
        ("Id in (2.0, 2.5, 3)", [2, 3]),
        ("FreightCost in (129.5, 0)", [1, 2]),
        ("DeliveryCity in ('Oslo', null)", [2, 3, 5]),
        ("5 lt Id", [6, 7]),
        ("OrderNo eq 'SO-\"3\"'", [3]),
    ],
)
def test_comparisons_and_logic(tiny_store, text, expected):
    assert ids(tiny_store, text) == expected


def test_eq_ne_null_and_null_semantics_of_ordering(tiny_store):
    assert ids(tiny_store, "Updated eq null") == [2, 4, 7]
    assert ids(tiny_store, "Updated ne null") == [1, 3, 5, 6]
    # a null never satisfies gt/lt, and "not" of such a comparison does not flip it to true
    assert ids(tiny_store, "DeliveryCity ne 'Oslo'") == [1, 3, 4, 6, 7]
    assert ids(tiny_store, "FreightCost gt 1") == [1, 4, 5, 7]
    assert ids(tiny_store, "not (FreightCost gt 1)") == [2, 3, 6]
    assert ids(tiny_store, "FreightCost gt null") == []


def test_incremental_cursor_filter_of_the_loader(tiny_store):
    text = (
        "(Updated ge 2026-01-04T00:00:00Z or (Updated eq null and Created ge 2026-01-04T00:00:00Z))"
    )
    assert ids(tiny_store, text) == [3, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Created ge 2026-01-02T10:00:00.347Z", [2, 3, 4, 5, 6, 7]),
        ("Created gt 2026-01-02T10:00:00.347Z", [3, 4, 5, 6, 7]),
        ("Created eq 2026-01-02T10:00:00.3470000Z", [2]),
        ("Created eq 2026-01-02T11:00:00.347+01:00", [2]),
        ("Created lt 2026-01-02T00:00:00-01:00", [1]),
        ("Created ge 2026-01-07", [7]),
        ("Created gt 2026-01-07T12:00:00Z", [7]),
    ],
)
def test_datetimeoffset_literals(tiny_store, text, expected):
    assert ids(tiny_store, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FreightCost eq 129.5", [1]),
        ("FreightCost eq 129.50m", [1]),
        ("FreightCost eq 0", [2]),
        ("FreightCost ge 49", [1, 4, 5]),
        ("FreightCost lt 0.3M", [2, 6]),
        ("FreightCost eq 1234.5678", [4]),
        ("Id eq 1.0", [1]),
        ("Id lt 1.5", [1]),
        ("Id eq 1.5", []),
    ],
)
def test_decimal_literals_compare_exactly(tiny_store, text, expected):
    assert ids(tiny_store, text) == expected


def test_booleans(tiny_store):
    assert ids(tiny_store, "IsPartDelivery eq true") == [2, 6]
    assert ids(tiny_store, "IsPartDelivery") == [2, 6]
    assert ids(tiny_store, "not IsPartDelivery") == [1, 3, 4, 5, 7]
    assert ids(tiny_store, "IsPartDelivery eq false") == [1, 4, 5, 7]


def test_string_functions(tiny_store):
    assert ids(tiny_store, "startswith(DeliveryCity,'Be')") == [4, 6]
    assert ids(tiny_store, "contains(DeliveryCity,'sl')") == [2, 5]
    assert ids(tiny_store, "endswith(DeliveryCity,'in')") == [4]
    assert ids(tiny_store, "not contains(DeliveryCity,'o')") == [1, 3, 4, 6, 7]
    assert ids(tiny_store, "tolower(DeliveryCity) eq 'oslo'") == [2, 5]
    assert ids(tiny_store, "length(OrderNo) eq 4") == [1, 2, 4, 5, 6, 7]
    assert ids(tiny_store, "year(Created) eq 2026 and day(Created) le 2") == [1, 2]


def test_guid_literals_compare_case_insensitively(tiny_store):
    def products(text):
        return ids(tiny_store, text, "Products", "Product")

    assert products("Key eq 0d4b1cf2-8d3b-4c1e-9a8e-111111111111") == [1]
    assert products("Key eq 0D4B1CF2-8D3B-4C1E-9A8E-222222222222") == [2]
    assert products("Key eq null") == [3]


def test_property_against_property(tiny_store):
    assert ids(tiny_store, "PayerCustomerInfoId eq ShipToCustomerInfoId") == [1, 3, 4, 5, 6, 7]
    assert ids(tiny_store, "BuyerCustomerInfoId eq PayerCustomerInfoId") == [1, 2, 4, 5, 6, 7]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Nope eq 1", "Could not find a property named 'Nope' on type 'Orders.Order'"),
        ("Id eq 'x'", "cannot be compared"),
        ("OrderNo eq 5", "cannot be compared"),
        ("Created ge 'yesterday'", "cannot be compared"),
        ("IsPartDelivery eq 1", "cannot be compared"),
        ("Id add 1 eq 2", "Arithmetic"),
        ("Buyer/EmailAddress eq 'x'", "Navigation paths"),
        ("Items/any(i: i/PartNo eq 'A')", "Lambda"),
        ("concat(OrderNo, 'x') eq 'y'", "not supported"),
        ("contains(Id, '1')", "string property"),
        ("contains(OrderNo, OrderNo)", "string literal"),
        ("Id", "not a boolean condition"),
        ("OrderNo eq OrderNo eq true", "cannot be used as a value"),
        ("Created eq 2026-13-01T00:00:00Z", "Invalid"),
        ("Id eq duration'P1D'", "not supported"),
    ],
)
def test_errors_are_400_with_a_reason(tiny_store, text, message):
    with pytest.raises(ODataError) as info:
        ids(tiny_store, text)
    assert info.value.status == 400
    assert message in info.value.message


def test_referenced_properties():
    node = parse_filter("ApplicationId eq 1 and (contains(Name,'x') or not Flag)").node
    assert referenced_properties(node) == {"ApplicationId", "Name", "Flag"}

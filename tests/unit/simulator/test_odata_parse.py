"""Query option parsing: what is accepted, what becomes a 400."""

from __future__ import annotations

import pytest
from odata_query import ast

from simulator.odata.errors import ODataError
from simulator.odata.parse import (
    ExpandItem,
    OrderKey,
    QueryOptions,
    parse_filter,
    parse_key_predicate,
    parse_options,
    split_query,
)


def options(query: str) -> QueryOptions:
    return parse_options(split_query(query))


def test_split_query_decodes_percent_and_plus_in_order():
    assert split_query("$filter=Name%20eq%20%27a%2Bb%27&$top=5&x=1+2") == [
        ("$filter", "Name eq 'a+b'"),
        ("$top", "5"),
        ("x", "1 2"),
    ]


def test_all_options_parse():
    opts = options(
        "$select=Id,OrderNo&$filter=Id gt 5&$orderby=Created desc,Id&$top=10&$skip=20&$count=true"
        "&$expand=Items($select=Id;$filter=PartNo eq 'A';$orderby=Id desc;$top=2;$skip=1),Buyer"
    )
    assert opts.select == ("Id", "OrderNo")
    assert opts.filter is not None and opts.filter.text == "Id gt 5"
    assert opts.orderby == (OrderKey("Created", True), OrderKey("Id", False))
    assert (opts.top, opts.skip, opts.count) == (10, 20, True)
    items, buyer = opts.expand
    assert items.navigation == "Items"
    assert items.options.select == ("Id",)
    assert items.options.filter is not None
    assert items.options.orderby == (OrderKey("Id", True),)
    assert (items.options.top, items.options.skip) == (2, 1)
    assert buyer == ExpandItem("Buyer", QueryOptions())


def test_select_star_means_all_and_duplicates_collapse():
    assert options("$select=*").select is None
    assert options("$select=Id, Id ,OrderNo").select == ("Id", "OrderNo")


def test_custom_options_are_ignored_and_format_json_accepted():
    assert options("foo=bar&$format=json") == QueryOptions()


@pytest.mark.parametrize(
    "query",
    [
        "$top=-1",
        "$top=abc",
        "$skip=1.5",
        "$count=yes",
        "$select=",
        "$select=Id,,Name",
        "$select=Buyer/EmailAddress",
        "$orderby=Id sideways",
        "$orderby=tolower(Name)",
        "$orderby=",
        "$expand=",
        "$expand=Items(",
        "$expand=Items($levels=2)",
        "$expand=Items($count=true)",
        "$expand=*($select=Id)",
        "$search=shoe",
        "$apply=groupby((Id))",
        "$skiptoken=abc",
        "$format=xml",
        "$top=1&$top=2",
        "$filter=",
        "$filter=Id eq",
        "$filter=Id eq 'unterminated",
        "$filter=unknownfunc(Id) eq 1",
    ],
)
def test_malformed_or_unsupported_options_are_400(query):
    with pytest.raises(ODataError) as info:
        options(query)
    assert info.value.status == 400


def test_expand_depth_three_is_allowed_four_is_not():
    opts = options("$expand=Items($expand=Infos($expand=Foo))")
    assert opts.expand[0].options.expand[0].options.expand[0].navigation == "Foo"
    with pytest.raises(ODataError, match="depth"):
        options("$expand=A($expand=B($expand=C($expand=D)))")


def test_expand_nested_options_split_on_top_level_separators_only():
    opts = options("$expand=Items($filter=PartNo eq 'a;b,c' or PartNo eq 'x)';$select=Id),Buyer")
    assert [e.navigation for e in opts.expand] == ["Items", "Buyer"]
    assert opts.expand[0].options.filter is not None
    assert opts.expand[0].options.filter.text == "PartNo eq 'a;b,c' or PartNo eq 'x)'"


def test_expand_star():
    assert options("$expand=*").expand == (ExpandItem("*", QueryOptions()),)


def test_filter_decimal_suffix_and_string_escapes():
    node = parse_filter("Price gt 1.5m and Name eq 'it''s 2m'").node
    assert isinstance(node, ast.BoolOp)
    assert node.left.right == ast.Float("1.5")
    assert node.right.right == ast.String("it's 2m")


def test_filter_restores_plus_of_offset_lost_to_form_decoding():
    # "+01:00" sent unescaped arrives as " 01:00"
    node = parse_filter("Updated ge 2026-01-01T10:00:00 01:00").node
    assert node.right == ast.DateTime("2026-01-01T10:00:00+01:00")


def test_filter_keeps_guid_literals_intact():
    node = parse_filter("Key eq 0d4b1cf2-8d3b-4c1e-9a8e-00000000001d").node
    assert node.right == ast.GUID("0d4b1cf2-8d3b-4c1e-9a8e-00000000001d")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", ((None, ast.Integer("1234")),)),
        ("'100011'", ((None, ast.String("100011")),)),
        (
            "ApplicationId=1,CountryId=5",
            (("ApplicationId", ast.Integer("1")), ("CountryId", ast.Integer("5"))),
        ),
    ],
)
def test_key_predicates(text, expected):
    assert parse_key_predicate(text) == expected


@pytest.mark.parametrize("text", ["", "Id", "1 2", "A=", "(1)"])
def test_bad_key_predicates_are_400(text):
    with pytest.raises(ODataError) as info:
        parse_key_predicate(text)
    assert info.value.status == 400

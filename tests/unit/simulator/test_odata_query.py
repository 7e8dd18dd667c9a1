"""The query engine: paging, ordering, counting, expanding, caching."""

from __future__ import annotations

import threading

import polars as pl
import pytest

from simulator.clock import Clock
from simulator.odata.errors import ODataError
from simulator.odata.parse import parse_key_predicate, parse_options, split_query
from simulator.odata.query import PAGE_SIZE, QueryEngine
from simulator.schema import (
    EntitySet,
    EntityType,
    Namespace,
    Navigation,
    Property,
    Schema,
    build_schema,
)
from simulator.store import Store, conform


def page(store, query, set_path="Orders/Orders", engine=None):
    ns, set_name = set_path.split("/")
    engine = engine or QueryEngine(store)
    return engine.page(ns, set_name, parse_options(split_query(query)))


def ids(p):
    return p.rows.frame["Id"].to_list()


def children(expanded, i, column="Id"):
    lo, hi = expanded.offsets[i], expanded.offsets[i + 1]
    return expanded.rows.frame[column].to_list()[lo:hi]


def test_default_order_is_key_and_small_sets_have_no_next_page(tiny_store):
    p = page(tiny_store, "")
    assert ids(p) == [1, 2, 3, 4, 5, 6, 7]
    assert (p.count, p.next_skip, p.next_top) == (7, None, None)


def test_top_and_skip(tiny_store):
    p = page(tiny_store, "$skip=2&$top=3")
    assert ids(p) == [3, 4, 5]
    # the client's $top is honoured: no server-driven next page
    assert (p.count, p.next_skip) == (7, None)
    assert ids(page(tiny_store, "$skip=10")) == []


def test_orderby_multi_key_desc_with_key_tiebreak(tiny_store):
    p = page(tiny_store, "$orderby=ApplicationId desc,StatusId")
    assert ids(p) == [6, 2, 5, 3, 7, 1, 4]
    p = page(tiny_store, "$orderby=ApplicationId")
    assert ids(p) == [1, 3, 4, 7, 2, 5, 6]


def test_orderby_nulls_first_ascending_last_descending(tiny_store):
    assert ids(page(tiny_store, "$orderby=Updated,Id")) == [2, 4, 7, 1, 3, 5, 6]
    assert ids(page(tiny_store, "$orderby=Updated desc,Id")) == [6, 5, 3, 1, 2, 4, 7]


def test_filter_count_and_paging_agree(tiny_store):
    p = page(tiny_store, "$filter=ApplicationId eq 1&$orderby=Id desc&$top=2&$skip=1")
    assert ids(p) == [4, 3]
    assert p.count == 4


def big_store(n_orders=1234, lines_per_order=3):
    schema = build_schema()
    store = Store(schema, Clock())
    orders = pl.DataFrame(
        {
            "Id": range(1, n_orders + 1),
            "ApplicationId": [1 + i % 3 for i in range(n_orders)],
            "BuyerCustomerInfoId": range(1, n_orders + 1),
        }
    )
    items = pl.DataFrame(
        {
            "Id": range(1, n_orders * lines_per_order + 1),
            "OrderId": [1 + i // lines_per_order for i in range(n_orders * lines_per_order)],
        }
    )
    for type_name, frame in (("Order", orders), ("OrderItem", items)):
        store.set_frame(
            "Orders", type_name, conform(frame, schema.entity_type("Orders", type_name))
        )
    return store


def test_server_paging_caps_pages_and_points_at_the_next_one():
    store = big_store()
    first = page(store, "")
    assert first.rows.frame.height == PAGE_SIZE
    assert (first.next_skip, first.next_top) == (500, None)
    last = page(store, "$skip=1000")
    assert last.rows.frame.height == 234
    assert last.next_skip is None


def test_top_above_page_size_is_clamped_and_reduced_in_the_next_link():
    store = big_store()
    p = page(store, "$top=1100&$skip=10")
    assert p.rows.frame.height == PAGE_SIZE
    assert (p.next_skip, p.next_top) == (510, 600)
    p = page(store, "$top=600&$skip=510")
    assert (p.next_skip, p.next_top) == (1010, 100)
    p = page(store, "$top=100&$skip=1010")
    assert p.rows.frame.height == 100
    assert p.next_skip is None


def test_pages_concatenate_to_the_filtered_ordered_set():
    store = big_store()
    engine = QueryEngine(store)
    seen = []
    skip = 0
    query = "$filter=ApplicationId ne 2&$orderby=ApplicationId desc,Id desc&$count=true"
    while skip is not None:
        p = page(store, f"{query}&$skip={skip}", engine=engine)
        seen += ids(p)
        skip = p.next_skip
    expected = (
        store.frame("Orders", "Order")
        .filter(pl.col("ApplicationId") != 2)
        .sort(["ApplicationId", "Id"], descending=True)["Id"]
        .to_list()
    )
    assert seen == expected
    assert p.count == len(expected)


def test_row_order_is_cached_until_the_store_changes(tiny_store):
    engine = QueryEngine(tiny_store)
    query = "$filter=ApplicationId eq 1"
    assert ids(page(tiny_store, query, engine=engine)) == [1, 3, 4, 7]
    assert len(engine._orders) == 1
    frame = tiny_store.frame("Orders", "Order").with_columns(
        pl.when(pl.col("Id") == 2).then(1).otherwise(pl.col("ApplicationId")).alias("ApplicationId")
    )
    tiny_store.set_frame("Orders", "Order", frame)
    assert ids(page(tiny_store, query, engine=engine)) == [1, 2, 3, 4, 7]


@pytest.mark.parametrize(("text", "expected"), [("true", 7), ("1 eq 1", 7), ("false", 0)])
def test_constant_filters_apply_to_every_row(tiny_store, text, expected):
    p = page(tiny_store, f"$filter={text}&$count=true")
    assert p.count == p.rows.frame.height == expected


def test_constant_filters_inside_expands(tiny_store):
    p = page(tiny_store, "$expand=Items($filter=false),Buyer($filter=true),Payer($filter=false)")
    items, buyer, payer = p.rows.expands
    assert items.offsets.tolist() == [0] * 8
    assert buyer.present.tolist() == [True, True, False, True, True, True, True]
    assert payer.present.tolist() == [False] * 7


def test_collection_expand_groups_children_by_parent(tiny_store):
    p = page(tiny_store, "$expand=Items")
    (items,) = p.rows.expands
    assert [children(items, i) for i in range(7)] == [
        [11, 12, 13],
        [],
        [31],
        [41, 42],
        [51, 52, 53, 54],
        [],
        [71],
    ]


def test_single_valued_expand_marks_missing_targets(tiny_store):
    p = page(tiny_store, "$expand=Buyer,ShipTo")
    buyer, ship_to = p.rows.expands
    assert buyer.present.tolist() == [True, True, False, True, True, True, True]
    assert buyer.rows.frame["Id"].to_list() == [101, 102, 104, 105, 106, 107]
    # ShipTo of order 2 points at a snapshot that does not exist
    assert ship_to.present.tolist() == [True, False, True, True, True, True, True]


def test_nested_filter_orderby_top_skip_apply_per_parent(tiny_store):
    p = page(
        tiny_store,
        "$expand=Items($filter=PartNo ne 'FREIGHT';$orderby=LineAmount desc;$skip=1;$top=2)",
    )
    (items,) = p.rows.expands
    assert [children(items, i) for i in range(7)] == [[12], [], [], [], [53, 52], [], []]


def test_nested_expand_and_select(tiny_store):
    p = page(tiny_store, "$select=Id&$expand=Items($select=PartNo;$expand=Infos)&$top=1")
    (items,) = p.rows.expands
    assert p.rows.select == ("Id",)
    assert items.rows.select == ("PartNo",)
    (infos,) = items.rows.expands
    assert infos.offsets.tolist() == [0, 0, 0, 0]


def test_expand_star_expands_every_navigation(tiny_store):
    p = page(tiny_store, "$expand=*&$top=1")
    assert [e.navigation.name for e in p.rows.expands] == [
        "Items",
        "Buyer",
        "Payer",
        "ShipTo",
        "Infos",
    ]


def test_string_join_keys(tiny_store):
    # Products -> Skus joins on an integer, ProductSku -> PriceLists on a string (PartNo)
    p = page(tiny_store, "$expand=Skus($expand=PriceLists)", "Products/Products")
    (skus,) = p.rows.expands
    assert [children(skus, i, "PartNo") for i in range(3)] == [["A", "B"], ["C"], ["D"]]


@pytest.mark.parametrize(
    "query",
    [
        "$select=Nope",
        "$select=Items",
        "$orderby=Nope",
        "$expand=Nope",
        "$expand=OrderNo",
        "$expand=Items($select=Nope)",
        "$expand=Buyer($top=1)",
    ],
)
def test_options_that_do_not_fit_the_type_are_400(tiny_store, query):
    with pytest.raises(ODataError) as info:
        page(tiny_store, query)
    assert info.value.status == 400


def test_entity_lookup(tiny_store):
    engine = QueryEngine(tiny_store)
    opts = parse_options([])
    rows = engine.entity("Orders", "Orders", parse_key_predicate("5"), opts)
    assert rows.frame["Id"].to_list() == [5]
    assert engine.entity("Orders", "Orders", parse_key_predicate("55"), opts) is None
    rows = engine.entity("Orders", "Orders", parse_key_predicate("Id=4"), opts)
    assert rows.frame["Id"].to_list() == [4]
    with pytest.raises(ODataError):
        engine.entity("Orders", "Orders", parse_key_predicate("'x'"), opts)
    with pytest.raises(ODataError):
        engine.entity("Orders", "Orders", parse_key_predicate("OrderNo='SO-1'"), opts)


def test_count(tiny_store):
    engine = QueryEngine(tiny_store)
    assert engine.count("Orders", "Orders", parse_options([("$filter", "StatusId eq 4")])) == 3
    assert engine.count("Orders", "Orders", parse_options([])) == 7


class DictStore:
    """A minimal StoreLike over hand-made frames and a hand-made schema."""

    def __init__(self, schema, frames):
        self.schema = schema
        self.lock = threading.RLock()
        self.version = 1
        self.frames = frames

    def frame(self, namespace, type_name):
        return self.frames[type_name]


def synthetic_store():
    def ints(*names):
        return [Property(n, "Edm.Int32", True) for n in names]

    parent = EntityType(
        "X",
        "Parent",
        ("Id",),
        ints("Id", "A", "B"),
        [
            Navigation("Kids", "Kid", True, ("Id",), ("ParentId",)),
            Navigation("Pairs", "Pair", True, ("A", "B"), ("A", "B")),
            Navigation("Best", "Pair", False, ("A", "B"), ("A", "B")),
        ],
    )
    kid = EntityType("X", "Kid", ("Id",), ints("Id", "ParentId"))
    pair = EntityType("X", "Pair", ("Id",), ints("Id", "A", "B"))
    schema = Schema(
        {
            "X": Namespace(
                "X",
                {"Parent": parent, "Kid": kid, "Pair": pair},
                {"Parents": EntitySet("X", "Parents", "Parent")},
            )
        }
    )
    frames = {
        "Parent": pl.DataFrame(
            {"Id": [1, 2, 3], "A": [1, 1, 2], "B": [1, 2, 1]},
            schema={"Id": pl.Int32, "A": pl.Int32, "B": pl.Int32},
        ),
        # not sorted by the foreign key, and with an orphan (null parent)
        "Kid": pl.DataFrame(
            {"Id": [10, 11, 12, 13, 14], "ParentId": [3, 1, None, 1, 3]},
            schema={"Id": pl.Int32, "ParentId": pl.Int32},
        ),
        "Pair": pl.DataFrame(
            {"Id": [100, 101, 102], "A": [2, 1, 1], "B": [1, 1, 1]},
            schema={"Id": pl.Int32, "A": pl.Int32, "B": pl.Int32},
        ),
    }
    return DictStore(schema, frames)


def test_unsorted_foreign_keys_with_nulls_are_indexed():
    store = synthetic_store()
    p = page(store, "$expand=Kids", "X/Parents")
    (kids,) = p.rows.expands
    assert [children(kids, i) for i in range(3)] == [[11, 13], [], [10, 14]]
    p = page(store, "$expand=Kids($orderby=Id desc)", "X/Parents")
    assert [children(p.rows.expands[0], i) for i in range(3)] == [[13, 11], [], [14, 10]]


def test_composite_key_navigations_join():
    store = synthetic_store()
    p = page(store, "$expand=Pairs,Best", "X/Parents")
    pairs, best = p.rows.expands
    assert [children(pairs, i) for i in range(3)] == [[101, 102], [], [100]]
    assert best.present.tolist() == [True, False, True]
    assert best.rows.frame["Id"].to_list() == [101, 100]


def test_the_order_cache_is_bounded_by_rows():
    store = big_store()
    engine = QueryEngine(store, cache_rows=2000)
    for n in range(5):
        page(store, f"$filter=Id gt {n}", engine=engine)
    assert engine._orders.weight <= 2000
    assert len(engine._orders) == 1

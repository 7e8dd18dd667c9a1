"""Keys are facts: the rules a decoded page must pass (extract.decode.keys), alone and as
the page decoder applies them."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from extract.decode.keys import (
    ChildRows,
    check_page,
    null_key_rows,
    repeated_key_rows,
    stray_child_rows,
)
from extract.decode.pages import PageDecoder
from tests.unit.extract.test_records import POLICY, plan_for


def _decode(rows: list[dict[str, Any]]) -> Any:
    body = json.dumps({"value": rows}).encode()
    return PageDecoder(plan_for(), POLICY)(body)


# -- the rules, on Arrow tables -------------------------------------------------------------


def test_null_key_rows_finds_a_null_in_any_key_column() -> None:
    table = pa.table({"A": [1, None, 3, 4], "B": ["x", "y", None, "z"]})

    assert null_key_rows(table, ("A",)) == [1]
    assert null_key_rows(table, ("A", "B")) == [1, 2]


def test_repeated_key_rows_lists_every_copy_but_the_last() -> None:
    table = pa.table({"Id": [5, 6, 5, 7, 5], "Name": list("abcde")})

    assert repeated_key_rows(table, ("Id",)) == [0, 2]


def test_repeated_key_rows_compares_whole_composite_keys() -> None:
    table = pa.table({"A": [1, 1, 2, 1], "B": [1, 2, 1, 1]})

    assert repeated_key_rows(table, ("A", "B")) == [0]
    assert repeated_key_rows(pa.table({"A": [1, 2, 3]}), ("A",)) == []


def test_stray_child_rows_compares_each_child_with_its_own_parent() -> None:
    parents = pa.table({"Id": [10, 20]})
    child = pa.table({"Id": [1, 2, 3, 4], "OrderId": [10, 20, 20, None]})
    parent_of = np.array([0, 0, 1, 1])

    # row 1 is listed under 10 but names 20; row 3 names no parent at all
    assert stray_child_rows(child, ("OrderId",), parent_of, parents, ("Id",)) == [1, 3]


def test_stray_child_rows_compares_across_integer_widths() -> None:
    parents = pa.table({"Id": pa.array([10], pa.int32())})
    child = pa.table({"OrderId": pa.array([10, 11], pa.int64())})

    assert stray_child_rows(child, ("OrderId",), np.array([0, 0]), parents, ("Id",)) == [1]


def test_check_page_sets_aside_whole_records_and_drops_repeated_children() -> None:
    main = pa.table({"Id": [1, None, 3, 3]})
    items = pa.table({"Id": [100, 101, 101, 102], "OrderId": [9, 3, 3, 3]})
    child = ChildRows(
        "order_items", items, ("Id",), ("OrderId",), ("OrderId",), np.array([0, 3, 3, 3])
    )

    verdict = check_page(main, ("Id",), [child])

    assert sorted(verdict.set_aside) == [0, 1, 2]
    assert "names parent 9, not this record's key 1" in verdict.set_aside[0]
    assert "no key" in verdict.set_aside[1]
    assert "duplicate key 3" in verdict.set_aside[2]  # the earlier copy
    assert verdict.dropped_children == {"order_items": [1]}
    assert verdict.notes and "order_items" in verdict.notes[0] and "101" in verdict.notes[0]


def test_a_clean_page_passes() -> None:
    main = pa.table({"Id": [1, 2]})
    items = pa.table({"Id": [7, 8], "OrderId": [1, 2]})
    child = ChildRows("order_items", items, ("Id",), ("OrderId",), ("OrderId",), np.array([0, 1]))

    assert check_page(main, ("Id",), [child]).clean


# -- as the decoder applies them -------------------------------------------------------------


def test_a_record_without_its_key_is_set_aside_and_the_rest_loads() -> None:
    page = _decode([{"Id": 1}, {"Id": None, "OrderNo": "x"}, {"Id": 3}])

    assert page.tables["orders"].column("Id").to_pylist() == [1, 3]
    assert [r.reason for r in page.rejected] == ["no key: Id is null"]
    assert page.rejected[0].payload.record_key is None
    assert page.row_count == 3  # the cursor counts what the server sent


def test_a_key_twice_in_one_page_loads_the_last_copy_with_its_own_children() -> None:
    page = _decode(
        [
            {"Id": 1, "OrderNo": "first", "Items": [{"Id": 10, "OrderId": 1}]},
            {"Id": 2},
            {"Id": 1, "OrderNo": "second", "Items": [{"Id": 11, "OrderId": 1}]},
        ]
    )

    orders = page.tables["orders"].to_pylist()
    assert [(o["Id"], o["OrderNo"]) for o in orders] == [(2, None), (1, "second")]
    assert page.tables["order_items"].column("Id").to_pylist() == [11]
    assert len(page.rejected) == 1 and "duplicate key 1" in page.rejected[0].reason
    assert '"OrderNo":"first"' in page.rejected[0].payload.text


def test_a_line_under_the_wrong_order_sets_the_order_aside() -> None:
    page = _decode(
        [
            {"Id": 1, "Items": [{"Id": 10, "OrderId": 1}, {"Id": 11, "OrderId": 7}]},
            {"Id": 2, "Items": [{"Id": 12, "OrderId": 2}]},
        ]
    )

    assert page.tables["orders"].column("Id").to_pylist() == [2]
    assert page.tables["order_items"].column("Id").to_pylist() == [12]
    assert page.tables["order_notes"].num_rows == 0
    [rejected] = page.rejected
    assert rejected.key == (1,) and "names parent 7" in rejected.reason


def test_a_line_without_its_order_id_gets_the_order_it_is_listed_under() -> None:
    page = _decode([{"Id": 1, "Items": [{"Id": 10}, {"Id": 11, "OrderId": None}]}])

    assert page.tables["order_items"].column("OrderId").to_pylist() == [1, 1]
    assert page.rejected == ()


def test_a_line_sent_twice_is_loaded_once_and_noted() -> None:
    line = {"Id": 10, "OrderId": 1, "LineAmount": 5}
    page = _decode([{"Id": 1, "Items": [line, dict(line)]}])

    assert page.tables["order_items"].column("Id").to_pylist() == [10]
    assert page.rejected == ()
    assert page.notes and "sent twice" in page.notes[0]


def test_the_cursor_passes_a_trailing_record_without_key() -> None:
    page = _decode([{"Id": 1}, {"Id": 4}, {"Id": None}])

    assert page.last_key == (4,)

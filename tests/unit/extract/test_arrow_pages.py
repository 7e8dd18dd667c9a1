"""The Arrow read of pages agrees with the exact msgspec decode, and falls back to it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from extract.decode import arrow_pages
from extract.decode.pages import DecodedPage, PageDecoder
from extract.errors import BadPayload
from extract.schema.metadata import EdmService
from extract.schema.reconcile import EntityPlan, reconcile
from tests.unit.extract.test_records import POLICY, SERVICE, SPEC

RARE = {"Edm.TimeOfDay", "Edm.Duration", "Edm.Binary", "Edm.GeographyPoint"}


def common_plan() -> EntityPlan:
    """The test service without the types only the exact path reads."""
    order = SERVICE.types["Order"]
    order = replace(order, properties=tuple(p for p in order.properties if p.edm_type not in RARE))
    service = EdmService(SERVICE.namespace, {**SERVICE.types, "Order": order}, SERVICE.sets)
    return reconcile(SPEC, service, POLICY)


def both(body: bytes) -> tuple[DecodedPage, DecodedPage]:
    plan = common_plan()
    return PageDecoder(plan, POLICY)(body), PageDecoder(plan, POLICY, arrow=False)(body)


def same(fast: DecodedPage, exact: DecodedPage) -> None:
    assert fast.row_count == exact.row_count
    assert fast.last_key == exact.last_key
    assert (fast.next_link, fast.count) == (exact.next_link, exact.count)
    assert fast.max_cursor == exact.max_cursor
    assert (fast.rounded_values, fast.rounded) == (exact.rounded_values, exact.rounded)
    assert fast.rejected == exact.rejected
    assert fast.notes == exact.notes
    assert list(fast.tables) == list(exact.tables)
    for name, table in fast.tables.items():
        assert table.schema == exact.tables[name].schema, name
        assert table.to_pylist() == exact.tables[name].to_pylist(), name


def page(*rows: str, **envelope: Any) -> bytes:
    extra = "".join(f', "{k}": {json.dumps(v)}' for k, v in envelope.items())
    return ('{"@odata.context": "x", "value": [' + ",".join(rows) + "]" + extra + "}").encode()


FULL_ROW = (
    '{"Id": 1, "Token": "0F8FAD5B-D9CB-469F-A165-70867728950E", "OrderNo": "A-1",'
    ' "Amount": 12345678901234.5678, "Rate": 0.25, "Qty": 3, "Paid": true, "Day": "2026-02-28",'
    ' "Created": "2026-01-02T05:04:05.25+02:00", "Updated": "2026-01-03T00:00:00Z",'
    ' "Unknown": {"deep": [1, 2]},'
    ' "Buyer": {"Id": 9, "FirstName": "Ann", "EmailAddress": " Ann@X.se ", "City": "Umeå",'
    '           "Credit": -0.5, "Created": "2026-01-01T00:00:00Z", "Other": 1},'
    ' "Items": [{"Id": 7, "OrderId": 1, "LineAmount": 2.5}, {"Id": 8, "LineAmount": 1E+3}],'
    ' "Notes": [{"Id": 1, "Text": "hej\\u0000 \\n"}]}'
)


@pytest.mark.parametrize(
    "body",
    [
        page(),
        page(FULL_ROW, **{"@odata.nextLink": "https://x/next", "@odata.count": 12}),
        page(
            FULL_ROW,
            '{"Id": 2, "Buyer": null, "Items": null, "Notes": []}',
            '{"Id": 3, "Buyer": {"EmailAddress": "ann@x.se"}, "Amount": "1.5"}',
            '{"Id": 4, "OrderNo": null, "Amount": null, "Buyer": {"EmailAddress": "  "}}',
        ),
        # the key rules: null key, a key twice, a child under another parent, a child twice
        page(
            '{"Id": null}',
            '{"Id": 5, "Items": [{"Id": 1, "OrderId": 6}]}',
            '{"Id": 6, "Items": [{"Id": 2}, {"Id": 2}]}',
            '{"Id": 6, "OrderNo": "again"}',
            '{"Id": 7, "Items": [{"Id": null}]}',
        ),
        # needs rounding, seven fractional digits, a key as a string: Arrow refuses the page
        page('{"Id": 1, "Amount": 1.23455, "Items": [{"Id": 7, "LineAmount": 0.00005}]}'),
        page('{"Id": 1, "Created": "2026-01-02T03:04:05.1234567Z"}'),
        page('{"Id": "9007199254740993", "Qty": "12", "Paid": "true"}'),
        # pretty-printed
        b'{\n  "value": [\n    {\n      "Id": 1,\n      "OrderNo": "x"\n    }\n  ]\n}\n',
    ],
)
def test_arrow_read_equals_the_exact_decode(body: bytes) -> None:
    fast, exact = both(body)

    same(fast, exact)


@pytest.mark.parametrize(
    "body",
    [
        page('{"Id": 1, "Qty": 3000000000}'),
        page('{"Id": 1, "Qty": 2.5}'),
        page('{"Id": 1.5}'),
        page('{"Id": 1, "Amount": 99999999999999999}'),
        page('{"Id": 1, "Amount": "lots"}'),
        page('{"Id": 1, "Token": "not-a-guid"}'),
        page('{"Id": 1, "Day": "2026-02-30"}'),
        page('{"Id": 1, "Created": "2026-01-02T03:04:05"}'),
        page('{"Id": 1, "OrderNo": 5}'),
        b'{"value": [{"Id": 1, "OrderNo": "bad \xff\xfe utf-8"}]}',
        b'{"value": [{"Id": 1, "OrderNo": "12\x0034"}]}',
        b'{"value": [{"Id": 1, "OrderNo": "lone \\ud800"}]}',
        b'{"value": [{"Id": 1, "OrderNo": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]}",
        page('{"Id": 1, "Items": [null]}'),
        page('{"Id": 1, "Items": {"Id": 2}}'),
        page("null"),
        b'{"@odata.context": "x"}',
        b'{"value": {"Id": 1}}',
        b'{"value": [{"Id": 1}, {"Id": 2',
        b'{"value": [{"Id": 1}]} {"value": []}',
        b"",
    ],
)
def test_what_the_exact_decode_rejects_the_arrow_read_does_not_load(body: bytes) -> None:
    plan = common_plan()
    outcomes = []
    for arrow in (True, False):
        try:
            outcomes.append(PageDecoder(plan, POLICY, arrow=arrow)(body))
        except (BadPayload, ValueError, RecursionError) as exc:
            # the exact path's own errors (the client treats them as a bad payload)
            outcomes.append(f"{type(exc).__name__}: {exc}")
    fast, exact = outcomes
    if isinstance(exact, str):
        assert fast == exact
    else:
        assert isinstance(fast, DecodedPage)
        same(fast, exact)


def test_plain_pages_are_read_by_arrow(monkeypatch: pytest.MonkeyPatch) -> None:
    decoder = PageDecoder(common_plan(), POLICY)
    monkeypatch.setattr(decoder, "_exact_read", lambda body: pytest.fail("exact path used"))

    decoded = decoder(page(FULL_ROW))

    assert decoded.tables["order_items"].num_rows == 2


def test_a_plan_with_types_arrow_cannot_read_exactly_is_decoded_the_exact_way() -> None:
    with pytest.raises(arrow_pages.Unsupported):
        arrow_pages.ArrowPageReader(reconcile(SPEC, SERVICE, POLICY))


def test_deep_nesting_in_a_property_not_loaded_does_not_cost_the_record() -> None:
    # msgspec gives up on skipping 200,000 levels; Arrow skips them and reads the rest
    body = b'{"value": [{"Id": 1, "Unknown": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]}"

    decoded = PageDecoder(common_plan(), POLICY)(body)

    assert decoded.tables["orders"].column("Id").to_pylist() == [1]

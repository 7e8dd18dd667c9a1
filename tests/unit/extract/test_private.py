"""Quarantined bodies and records keep no more than raw would (extract.decode.private)."""

from __future__ import annotations

import json
from typing import Any

import orjson

from extract.decode.private import PrivateRecords
from tests.unit.extract.test_records import POLICY, plan_for

EMAIL = "Ann.Person@example.com"


def _private() -> PrivateRecords:
    return PrivateRecords(plan_for(), POLICY)


def _stored(text: str) -> Any:
    return orjson.loads(text)


def test_a_record_keeps_loaded_fields_hashes_emails_and_leaves_out_the_rest() -> None:
    body = json.dumps(
        {
            "@odata.context": "x",
            "value": [
                {
                    "Id": 7,
                    "OrderNo": "A-7",
                    "Created": "not-a-date",
                    "BuyerCustomerId": 42,  # not in the plan: left out
                    "Phone": "+46 70 123",  # not in the plan: left out
                    "Buyer": {"FirstName": "Ann", "EmailAddress": EMAIL, "City": "Lund"},
                    "Items": [{"Id": 1, "OrderId": 7, "LineAmount": 5, "Secret": "s"}],
                }
            ],
        }
    ).encode()

    kept = _private().body(body)

    assert kept is not None
    [record] = _stored(kept.text)["value"]
    assert record["Id"] == 7 and record["OrderNo"] == "A-7" and record["Created"] == "not-a-date"
    assert "Phone" not in record and "BuyerCustomerId" not in record
    assert record["Buyer"] == {
        "EmailAddressHash": POLICY.hash_values([EMAIL])[0],
        "City": "Lund",
    }  # FirstName is dropped by the default policy, as in raw
    assert record["Items"] == [{"Id": 1, "OrderId": 7, "LineAmount": 5}]
    assert EMAIL.lower() not in kept.text.lower() and "Ann" not in kept.text
    assert kept.record_key == "[7]"
    assert kept.email_hash == POLICY.hash_values([EMAIL])[0]


def test_an_unreadable_body_is_kept_as_size_and_digest_only() -> None:
    for body in (
        b'{"value": [{"Id": 1, "Buyer": {"EmailAddress": "' + b"\xff" + b'"}}]}',
        b'{"value": [{"Id": 1, "EmailAddress": "ann@x.se", "Bad": "12\x0034"}]}',
        b"[" * 5000 + b"]" * 5000,
        b"<html>502 Bad Gateway ann@x.se</html>",
    ):
        kept = _private().body(body)

        assert kept is not None
        assert set(_stored(kept.text)) == {"bytes", "sha256"}
        assert "ann" not in kept.text
        assert (kept.record_key, kept.customer_id, kept.email_hash) == (None, None, None)


def test_a_customer_record_says_who_it_is_about() -> None:
    from extract.schema.catalog import CATALOG
    from extract.schema.metadata import EdmEntityType, EdmProperty, EdmService
    from extract.schema.reconcile import reconcile

    spec = next(s for s in CATALOG if s.table == "customers")
    props = tuple(
        EdmProperty(n, t) for n, t in (("Id", "Edm.Int32"), ("EmailAddress", "Edm.String"))
    )
    service = EdmService(
        "Customers",
        {"Customer": EdmEntityType("Customers", "Customer", ("Id",), props)},
        {"Customers": "Customer"},
    )
    private = PrivateRecords(reconcile(spec, service, POLICY), POLICY)

    kept = private.record({"Id": 5, "EmailAddress": EMAIL, "FirstName": "Ann"})

    assert kept.customer_id == 5
    assert kept.email_hash == POLICY.hash_values([EMAIL])[0]
    assert "FirstName" not in kept.text and EMAIL not in kept.text


def test_an_order_names_its_buyer() -> None:
    kept = _private().record({"Id": 3, "CustomerId": 9})

    assert kept.customer_id == 9

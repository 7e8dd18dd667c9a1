"""Quarantined records kept privately: the set's privacy policy applied to what is stored.

A record the loader cannot load is kept in ``meta.quarantine`` so a person can see what the
service sent. It must not keep more than raw would: the published warehouse is read by BI
users, and raw hashes e-mails and never fetches names, phones or streets.
:class:`PrivateRecords` therefore keeps, of each record, exactly the properties the load
plan loads -- keys, ordinary fields, flattened navigations (``Buyer``, ``Payer``,
``ShipTo``) and expanded children -- with ``hash`` fields replaced by their salted hash
(named as in raw: ``EmailAddressHash``);
every other property is left out. A body that is not a JSON page (a truncated reply, NUL
bytes, invalid UTF-8, an error page) is stored as its length and digest only.

It also finds who a record is about -- its key, a customer id and an e-mail hash -- so that
``norce-wh erase`` and the forgotten-records purge remove quarantined records too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from extract.schema.plan import PARENT, EntityPlan, TablePlan
from extract.schema.privacy import PrivacyPolicy

__all__ = ["PrivatePayload", "PrivateRecords"]

CUSTOMER_ID_FIELDS = ("BuyerCustomerId", "CustomerId")
"""Properties naming the customer a record belongs to (``Customers/Customers``: its key)."""
CUSTOMER_TABLE = "customers"

Shape = dict[str, "str | Shape"]
"""Property -> ``keep`` / ``hash``, or the shape of a navigation's object(s)."""


@dataclass(frozen=True)
class PrivatePayload:
    """What ``meta.quarantine`` may keep of a quarantined body.

    Attributes:
        text: JSON: ``{"value": [<records, privacy applied>]}``, or ``{"bytes": n,
            "sha256": ...}`` for a body that is not a readable page.
        record_key: Key of the (first) record as a JSON list, if readable.
        customer_id: The customer the record is about, if it says.
        email_hash: The salted hash of its (first) e-mail, if it has one.
    """

    text: str
    record_key: str | None = None
    customer_id: int | None = None
    email_hash: str | None = None


class PrivateRecords:
    """Applies one entity plan's privacy to quarantined bodies and records.

    Args:
        plan: The set's load plan: what raw keeps, hashes and never fetches.
        privacy: The salted hash of the run.
    """

    def __init__(self, plan: EntityPlan, privacy: PrivacyPolicy) -> None:
        self._key = plan.spec.key
        self._privacy = privacy
        self._customers = plan.spec.table == CUSTOMER_TABLE
        self._shape = _shape(plan)
        self._emails = [c.source for c in plan.main.columns if c.action == "hash"]

    def body(self, raw: bytes | None) -> PrivatePayload | None:
        """A quarantined response body, made private (``None`` stays ``None``)."""
        if raw is None:
            return None
        try:
            doc = orjson.loads(raw)
        except orjson.JSONDecodeError:
            doc = None
        rows = doc.get("value") if isinstance(doc, dict) else None
        if not isinstance(rows, list):
            return PrivatePayload(_digest(raw))
        records = [r for r in rows if isinstance(r, dict)]
        return self._payload(records)

    def record(self, row: Mapping[str, Any]) -> PrivatePayload:
        """One record of a page, made private."""
        return self._payload([row])

    def _payload(self, rows: Sequence[Mapping[str, Any]]) -> PrivatePayload:
        kept = [self._private(row, self._shape) for row in rows]
        text = orjson.dumps({"value": kept}).decode()
        if not rows:
            return PrivatePayload(text)
        first = rows[0]
        return PrivatePayload(
            text,
            record_key=self._record_key(first),
            customer_id=self._customer_id(first),
            email_hash=self._email_hash(first),
        )

    def _private(self, obj: Mapping[str, Any], shape: Shape) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in obj.items():
            rule = shape.get(name)
            if rule is None:
                continue  # not loaded, so not kept: dropped personal fields among them
            if rule == "keep":
                out[name] = value
            elif rule == "hash":
                out[name + self._privacy.hashed_suffix] = self._hash(value)
            elif isinstance(rule, dict) and isinstance(value, dict):
                out[name] = self._private(value, rule)
            elif isinstance(rule, dict) and isinstance(value, list):
                out[name] = [self._private(v, rule) for v in value if isinstance(v, dict)]
            else:
                out[name] = None  # a navigation that is not an object: nothing to keep
        return out

    def _hash(self, value: Any) -> str | None:
        if value is None:
            return None
        text = value if isinstance(value, str) else orjson.dumps(value).decode()
        return self._privacy.hash_values([text])[0]

    def _record_key(self, row: Mapping[str, Any]) -> str | None:
        values = [row.get(k) for k in self._key]
        if any(v is None or isinstance(v, dict | list) for v in values):
            return None
        return json.dumps(values)

    def _customer_id(self, row: Mapping[str, Any]) -> int | None:
        names = ("Id",) if self._customers else CUSTOMER_ID_FIELDS
        for name in names:
            value = row.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        return None

    def _email_hash(self, row: Mapping[str, Any]) -> str | None:
        for source in self._emails:
            value: Any = row
            for part in source:
                value = value.get(part) if isinstance(value, dict) else None
            if isinstance(value, str) and value.strip():
                return self._hash(value)
        return None


def _shape(plan: EntityPlan) -> Shape:
    """Which properties of a record raw loads, and how (from the plan's columns)."""
    shape: Shape = {}
    _add_columns(shape, plan.main)
    for table in plan.tables.values():
        if table.navigation is not None:
            child: Shape = {}
            _add_columns(child, table)
            shape[table.navigation] = child
    return shape


def _add_columns(shape: Shape, table: TablePlan) -> None:
    for column in table.columns:
        if column.source[0] == PARENT:
            continue
        level = shape
        for part in column.source[:-1]:
            nested = level.setdefault(part, {})
            assert isinstance(nested, dict)
            level = nested
        level[column.source[-1]] = column.action


def _digest(raw: bytes) -> str:
    """A body kept as its size and digest only: it could not be read, so nothing in it
    could be judged safe to keep."""
    return orjson.dumps({"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest()}).decode()

"""OData literals as Python values of the type of the property they meet.

``1.5`` against an ``Edm.Decimal`` is an exact :class:`~decimal.Decimal`, against an
``Edm.Double`` a float; a ``DateTimeOffset`` with an offset becomes an aware UTC datetime
(microseconds: .NET clients send seven fractional digits, the store keeps six); a date
against a ``DateTimeOffset`` means midnight UTC; GUIDs compare in lower case. A literal that
cannot meet the property (a string against a number) is a 400.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from odata_query import ast

from simulator.odata.errors import bad_request

_KIND_BY_EDM = {
    "Edm.Int32": "int",
    "Edm.Int64": "int",
    "Edm.Int16": "int",
    "Edm.Byte": "int",
    "Edm.Decimal": "decimal",
    "Edm.Double": "float",
    "Edm.Single": "float",
    "Edm.String": "string",
    "Edm.Guid": "guid",
    "Edm.Boolean": "bool",
    "Edm.DateTimeOffset": "datetime",
    "Edm.Date": "date",
}
NUMERIC = {"int", "decimal", "float"}
UTC_US = pl.Datetime("us", "UTC")
_FRACTION = re.compile(r"\.(\d+)")


def property_kind(edm_type: str) -> str:
    """The comparison kind of an EDM type (``int``, ``decimal``, ``string``, ...)."""
    return _KIND_BY_EDM.get(edm_type, "string")


def literal_for(node: Any, edm_type: str) -> Any:
    """The Python value of a literal AST node as a property of ``edm_type`` holds it.

    Raises:
        ODataError: 400 if the literal does not fit the type.
    """
    kind = property_kind(edm_type)
    value = literal_value(node)
    return coerce(value, kind, "key")


def literal_value(node: Any) -> Any:
    """The Python value of a literal AST node (Decimal for non-integers, aware datetimes)."""
    if isinstance(node, ast.Null):
        return None
    if isinstance(node, ast.Integer):
        return int(node.val)
    if isinstance(node, ast.Float):
        try:
            return Decimal(node.val)
        except InvalidOperation:
            raise bad_request(f"Invalid number literal '{node.val}'.") from None
    if isinstance(node, ast.Boolean):
        return node.val.lower() == "true"
    if isinstance(node, ast.String | ast.GUID):
        return node.val
    if isinstance(node, ast.DateTime):
        return _parse_datetime(node.val)
    if isinstance(node, ast.Date):
        return date.fromisoformat(node.val)
    raise bad_request(f"Literals of type {type(node).__name__} are not supported.")


def literal_kind(node: Any) -> str:
    """The kind of a literal AST node (``int``, ``decimal``, ``string``, ``null``, ...)."""
    return {
        ast.Null: "null",
        ast.Integer: "int",
        ast.Float: "decimal",
        ast.Boolean: "bool",
        ast.String: "string",
        ast.GUID: "guid",
        ast.DateTime: "datetime",
        ast.Date: "date",
    }.get(type(node), "unsupported")


def _parse_datetime(text: str) -> datetime:
    """Parse an OData DateTimeOffset literal to an aware UTC datetime (microseconds)."""
    # Python takes at most 6 fractional digits; .NET clients send 7
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"Invalid DateTimeOffset literal '{text}'.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def coerce(value: Any, kind: str, what: str, given_kind: str | None = None) -> Any:
    """Convert a literal to the type a ``kind`` property compares with; 400 if it cannot."""
    if value is None:
        return None
    lk = given_kind or _python_kind(value)
    ok = {
        "int": ("int", "decimal"),
        "decimal": ("int", "decimal"),
        "float": ("int", "decimal"),
        "string": ("string",),
        "guid": ("guid", "string"),
        "bool": ("bool",),
        "datetime": ("datetime", "date"),
        "date": ("date",),
    }.get(kind, ())
    if lk not in ok:
        raise bad_request(f"A {lk} literal cannot be compared with the {kind} {what}.")
    if kind == "decimal":
        return Decimal(value)
    if kind == "float":
        return float(value)
    if kind == "int" and isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    if kind == "datetime" and not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if kind == "guid":
        return str(value).lower()
    return value


def _python_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, Decimal):
        return "decimal"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, date):
        return "date"
    return "string"


def scale_of(value: Decimal) -> int:
    """Digits after the point of ``value``."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def decimal_lit(value: Decimal) -> pl.Expr:
    """An exact polars decimal literal."""
    return pl.lit(value, dtype=pl.Decimal(38, scale_of(value)))


def dtype_for(kind: str, values: list[Any]) -> pl.DataType | None:
    """The polars dtype of a list of literals of ``kind`` (None: let polars infer)."""
    if kind == "datetime":
        return UTC_US
    if kind == "decimal":
        return pl.Decimal(38, max((scale_of(v) for v in values), default=0))
    return None

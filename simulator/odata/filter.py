"""Compile a ``$filter`` AST (from ``odata-query``) into a polars predicate.

Semantics follow OData v4 as an ASP.NET/SQL Server service applies them:

* ``eq``/``ne`` treat null as a value (``X eq null``, ``X ne 'a'`` is true for null X);
  ``gt``/``ge``/``lt``/``le`` and the string functions are false when an operand is null,
  so ``not`` never turns an unknown into true.
* Literals are typed by the property they meet: ``1.5`` against an ``Edm.Decimal`` is an
  exact decimal, ``2026-01-01T00:00:00+01:00`` against an ``Edm.DateTimeOffset`` is an
  instant, a GUID literal compares case-insensitively with an ``Edm.Guid``.
* An unknown property is a 400 with ASP.NET's wording; so is an incompatible literal.

Supported: ``eq ne gt ge lt le in``, ``and or not``, parentheses, ``contains``,
``startswith``, ``endswith``, ``tolower``, ``toupper``, ``trim``, ``length``, ``year``,
``month``, ``day``, ``hour``, ``minute``, ``second``. Arithmetic, lambdas and navigation
paths are refused with a 400.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from odata_query import ast

from simulator.odata.errors import ODataError, bad_request
from simulator.odata.literals import (
    NUMERIC,
    UTC_US,
    coerce,
    decimal_lit,
    dtype_for,
    literal_kind,
    literal_value,
    property_kind,
    scale_of,
)
from simulator.schema import EntityType

_STRING_PREDICATES: dict[str, Callable[[pl.Expr, str], pl.Expr]] = {
    "contains": lambda e, s: e.str.contains(s, literal=True),
    "startswith": lambda e, s: e.str.starts_with(s),
    "endswith": lambda e, s: e.str.ends_with(s),
}
_STRING_FUNCS: dict[str, tuple[Callable[[pl.Expr], pl.Expr], str]] = {
    "tolower": (lambda e: e.str.to_lowercase(), "string"),
    "toupper": (lambda e: e.str.to_uppercase(), "string"),
    "trim": (lambda e: e.str.strip_chars(), "string"),
    "length": (lambda e: e.str.len_chars().cast(pl.Int64), "int"),
}
_DATE_PARTS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "year": lambda e: e.dt.year(),
    "month": lambda e: e.dt.month(),
    "day": lambda e: e.dt.day(),
    "hour": lambda e: e.dt.hour(),
    "minute": lambda e: e.dt.minute(),
    "second": lambda e: e.dt.second(),
}


@dataclass(frozen=True, slots=True)
class _Value:
    """A compiled operand: an expression, its kind, and the Python value of a literal."""

    expr: pl.Expr
    kind: str
    literal: bool = False
    value: Any = None


def referenced_properties(node: Any) -> set[str]:
    """Names of all properties a filter AST mentions (function names excluded)."""
    found: set[str] = set()

    def walk(n: Any) -> None:
        if isinstance(n, ast.Identifier):
            found.add(n.name)
        elif isinstance(n, ast.Attribute):
            walk(n.owner)
        elif isinstance(n, ast.Compare | ast.BoolOp | ast.BinOp):
            walk(n.left)
            walk(n.right)
        elif isinstance(n, ast.UnaryOp):
            walk(n.operand)
        elif isinstance(n, ast.Call):
            for arg in n.args:
                walk(arg)
        elif isinstance(n, ast.List):
            for item in n.val:
                walk(item)
        elif isinstance(n, ast.CollectionLambda):
            walk(n.owner)

    walk(node)
    return found


def compile_filter(node: Any, entity_type: EntityType) -> pl.Expr:
    """Compile a filter AST into a null-free boolean polars expression.

    Args:
        node: the ``odata_query.ast`` root of a ``$filter``.
        entity_type: the type whose properties the filter refers to.

    Returns:
        An expression that is true exactly for the matching rows.

    Raises:
        ODataError: 400 for unknown properties, type mismatches and unsupported syntax.
    """
    return _Compiler(entity_type).predicate(node)


class _Compiler:
    def __init__(self, entity_type: EntityType) -> None:
        self.et = entity_type

    # -- predicates --------------------------------------------------------------
    def predicate(self, node: Any) -> pl.Expr:
        if isinstance(node, ast.BoolOp):
            left, right = self.predicate(node.left), self.predicate(node.right)
            return left & right if isinstance(node.op, ast.And) else left | right
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return ~self.predicate(node.operand)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.Call) and node.func.name.lower() in _STRING_PREDICATES:
            return self.string_predicate(node)
        if isinstance(node, ast.Boolean):
            return pl.lit(node.py_val)
        value = self.value(node)
        if value.kind == "bool" and not value.literal:
            return value.expr.fill_null(False)
        raise bad_request(f"The $filter expression {_describe(node)} is not a boolean condition.")

    def compare(self, node: ast.Compare) -> pl.Expr:
        op = type(node.comparator).__name__
        if isinstance(node.comparator, ast.In):
            return self.membership(node)
        left, right = self.value(node.left), self.value(node.right)
        if left.literal and not right.literal:
            left, right = right, left
            op = {"Lt": "Gt", "LtE": "GtE", "Gt": "Lt", "GtE": "LtE"}.get(op, op)
        if right.kind == "null" or left.kind == "null":
            other = left if right.kind == "null" else right
            if op == "Eq":
                return other.expr.is_null()
            if op == "NotEq":
                return other.expr.is_not_null()
            # ordering against null is never true
            return pl.lit(False)
        lhs, rhs = self.align(left, right)
        if op == "Eq":
            return lhs.eq_missing(rhs) if not right.literal else (lhs == rhs).fill_null(False)
        if op == "NotEq":
            return lhs.ne_missing(rhs) if not right.literal else (lhs != rhs).fill_null(True)
        compared = {
            "Gt": lambda: lhs > rhs,
            "GtE": lambda: lhs >= rhs,
            "Lt": lambda: lhs < rhs,
            "LtE": lambda: lhs <= rhs,
        }[op]()
        return compared.fill_null(False)

    def membership(self, node: ast.Compare) -> pl.Expr:
        left = self.value(node.left)
        if left.literal or not isinstance(node.right, ast.List):
            raise bad_request("'in' needs a property on the left and a list of literals.")
        values = [
            coerce(literal_value(item), left.kind, _describe(node.left)) for item in node.right.val
        ]
        if left.kind == "int":
            # 2.5 can never equal an integer property (an integral 2.0 is already 2)
            values = [v for v in values if not isinstance(v, Decimal)]
        if left.kind == "guid":
            values = [v.lower() if isinstance(v, str) else v for v in values]
        present = [v for v in values if v is not None]
        expr = left.expr.is_in(pl.Series(present, dtype=dtype_for(left.kind, present)))
        expr = expr.fill_null(False)
        return expr | left.expr.is_null() if len(present) < len(values) else expr

    def string_predicate(self, node: ast.Call) -> pl.Expr:
        name = node.func.name.lower()
        subject, needle = (self.value(arg) for arg in node.args)
        if subject.kind != "string" or subject.literal:
            raise bad_request(f"{name}() needs a string property as its first argument.")
        if needle.kind != "string" or not needle.literal:
            raise bad_request(f"{name}() needs a string literal as its second argument.")
        return _STRING_PREDICATES[name](subject.expr, needle.value).fill_null(False)

    # -- values -------------------------------------------------------------------
    def value(self, node: Any) -> _Value:
        if isinstance(node, ast.Identifier):
            return self.property(node)
        if isinstance(node, ast._Literal):
            return self.literal(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = self.value(node.operand)
            if inner.literal and inner.kind in NUMERIC:
                return _Value(pl.lit(-inner.value), inner.kind, True, -inner.value)
            raise bad_request("Unary minus is only supported on numeric literals.")
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Attribute):
            raise bad_request(
                f"Navigation paths such as '{_describe(node)}' are not supported in $filter."
            )
        if isinstance(node, ast.BinOp):
            raise bad_request("Arithmetic operators are not supported in $filter.")
        if isinstance(node, ast.CollectionLambda):
            raise bad_request("Lambda operators (any/all) are not supported in $filter.")
        if isinstance(node, ast.Compare | ast.BoolOp):
            raise bad_request(f"A condition cannot be used as a value: {_describe(node)}.")
        raise bad_request(f"Unsupported $filter syntax: {_describe(node)}.")

    def property(self, node: ast.Identifier) -> _Value:
        if node.namespace:
            raise bad_request(f"Qualified names such as '{_qualified(node)}' are not supported.")
        if not self.et.has_property(node.name):
            raise unknown_property(node.name, self.et)
        prop = self.et.prop(node.name)
        kind = property_kind(prop.edm_type)
        expr = pl.col(prop.name)
        if kind == "guid":
            expr = expr.str.to_lowercase()
        return _Value(expr, kind)

    def literal(self, node: Any) -> _Value:
        value = literal_value(node)
        kind = literal_kind(node)
        if kind == "guid":
            value = value.lower()
        return _Value(pl.lit(value) if value is not None else pl.lit(None), kind, True, value)

    def call(self, node: ast.Call) -> _Value:
        name = node.func.name.lower()
        if name in _STRING_FUNCS:
            arg = self.value(node.args[0])
            if arg.kind != "string" or arg.literal:
                raise bad_request(f"{name}() needs a string property.")
            func, kind = _STRING_FUNCS[name]
            return _Value(func(arg.expr), kind)
        if name in _DATE_PARTS:
            arg = self.value(node.args[0])
            if arg.kind not in ("datetime", "date") or arg.literal:
                raise bad_request(f"{name}() needs a date/time property.")
            return _Value(_DATE_PARTS[name](arg.expr).cast(pl.Int64), "int")
        if name in _STRING_PREDICATES:
            raise bad_request(f"{name}() is a condition and cannot be compared.")
        raise bad_request(f"The function '{_qualified(node.func)}' is not supported in $filter.")

    # -- typing -------------------------------------------------------------------
    def align(self, left: _Value, right: _Value) -> tuple[pl.Expr, pl.Expr]:
        """Make two operands comparable, or 400 if their kinds do not mix."""
        if not right.literal:
            if left.kind == right.kind or {left.kind, right.kind} <= NUMERIC:
                if "decimal" in (left.kind, right.kind) and left.kind != right.kind:
                    return left.expr.cast(pl.Float64), right.expr.cast(pl.Float64)
                return left.expr, right.expr
            raise bad_request(f"Cannot compare a {left.kind} with a {right.kind} property.")
        value = coerce(right.value, left.kind, "property", given_kind=right.kind)
        if left.kind == "decimal":
            return left.expr, decimal_lit(value)
        if left.kind == "int" and isinstance(value, Decimal):
            # 3 eq 3.5 must be false and 3 lt 3.5 true: compare exactly, as decimals
            return left.expr.cast(pl.Decimal(38, scale_of(value))), decimal_lit(value)
        if left.kind == "datetime":
            return left.expr, pl.lit(value, dtype=UTC_US)
        return left.expr, pl.lit(value)


def unknown_property(name: str, entity_type: EntityType) -> ODataError:
    """The 400 ASP.NET OData answers for a property the type does not have."""
    return bad_request(
        f"Could not find a property named '{name}' on type "
        f"'{entity_type.namespace}.{entity_type.name}'."
    )


def _qualified(identifier: ast.Identifier) -> str:
    return ".".join((*identifier.namespace, identifier.name))


def _describe(node: Any) -> str:
    if isinstance(node, ast.Identifier):
        return _qualified(node)
    if isinstance(node, ast.Attribute):
        return f"{_describe(node.owner)}/{node.attr}"
    return type(node).__name__

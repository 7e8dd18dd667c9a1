"""OData v4 URL literals and key filters: the only way values get into a ``$filter``.

Quoting rules live here so a value from config, state or a page can never change the shape
of a filter (a name like ``O'Brien`` stays one string literal).
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

__all__ = ["after_key_filter", "and_filters", "odata_literal"]


def odata_literal(value: object) -> str:
    """Format a Python value as an OData v4 URL literal -- the only way values enter filters.

    ``None`` -> ``null``; ``bool`` -> ``true``/``false``; ``int`` bare; ``str`` quoted with
    ``'`` doubled; ``datetime`` -> UTC ``2026-01-01T00:00:00Z`` (naive values are taken as
    UTC; fractional seconds kept); ``date`` -> ``2026-01-01``; ``Decimal`` plain (no
    exponent); ``float`` via ``repr``; ``UUID`` bare.

    Raises:
        ValueError: NaN or infinite numbers.
        TypeError: Any other type.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, datetime):
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        text = moment.strftime("%Y-%m-%dT%H:%M:%S")
        if moment.microsecond:
            text += f".{moment.microsecond:06d}".rstrip("0")
        return text + "Z"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot put {value} into an OData filter")
        return format(value, "f")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot put {value} into an OData filter")
        return repr(value)
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"no OData literal for {type(value).__name__}")


def after_key_filter(key: tuple[str, ...], after: tuple[object, ...]) -> str:
    """``$filter`` for rows strictly after ``after`` in ``key`` order (lexicographic).

    ``("Id",), (5,)`` -> ``Id gt 5``; ``("A", "B"), (1, 'x')`` ->
    ``(A gt 1) or (A eq 1 and B gt 'x')``.
    """
    if len(key) != len(after) or not key:
        raise ValueError("key and position must have the same, non-zero length")
    if len(key) == 1:
        return f"{key[0]} gt {odata_literal(after[0])}"
    terms = []
    for i, column in enumerate(key):
        equal = [f"{key[j]} eq {odata_literal(after[j])}" for j in range(i)]
        terms.append("(" + " and ".join([*equal, f"{column} gt {odata_literal(after[i])}"]) + ")")
    return " or ".join(terms)


def and_filters(*clauses: str | None) -> str | None:
    """Join the given filters with ``and``, each parenthesised; ``None`` when none given."""
    present = [c for c in clauses if c]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return " and ".join(f"({c})" for c in present)

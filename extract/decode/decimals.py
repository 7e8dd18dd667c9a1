"""Exact ``Edm.Decimal`` columns from raw JSON number text, never through float.

Decimal fields are decoded by ``msgspec`` as :class:`msgspec.Raw` (the number's text as
sent, or a quoted string under ``IEEE754Compatible=true``). :func:`parse_exact` is the fast
path: it joins the texts into a one-column CSV that Arrow parses straight into
``decimal128(p, s)``. Arrow refuses a value with more fractional digits than the scale,
so the fast path only ever returns exact values; :func:`round_half_even` is the slow path
for the rare page that needs rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from itertools import chain

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

__all__ = ["parse_exact", "round_half_even", "within_precision"]

_CSV_READ = pacsv.ReadOptions(column_names=["v"], use_threads=False, block_size=1 << 26)
_CSV_PARSE = pacsv.ParseOptions(quote_char='"', newlines_in_values=False)
_EXACT = Context(prec=100, rounding=ROUND_HALF_EVEN)


def parse_exact(
    columns: Sequence[Sequence[msgspec.Raw]], arrow: pa.Decimal128Type
) -> list[pa.Array] | None:
    """Parse several raw columns of one decimal type in a single Arrow call.

    One call per table rather than per column: the CSV reader's setup costs about as much
    as parsing 1,500 values.

    Args:
        columns: Raw JSON values (``null`` included) per column.
        arrow: The columns' decimal type.

    Returns:
        One array per column, or ``None`` when any value is not a number, needs rounding,
        or has more integer digits than the precision allows.
    """
    total = sum(len(c) for c in columns)
    if total == 0:
        return [pa.array([], arrow) for _ in columns]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(b"\n".join(chain.from_iterable(columns))),
            read_options=_CSV_READ,
            parse_options=_CSV_PARSE,
            convert_options=pacsv.ConvertOptions(
                column_types={"v": arrow}, null_values=["null"], quoted_strings_can_be_null=True
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows != total:
        return None
    parsed = table.column(0).combine_chunks()
    if not within_precision(parsed, arrow):
        return None
    out: list[pa.Array] = []
    offset = 0
    for column in columns:
        out.append(parsed.slice(offset, len(column)))
        offset += len(column)
    return out


def round_half_even(
    values: Sequence[msgspec.Raw], arrow: pa.Decimal128Type
) -> tuple[pa.Array, int]:
    """Decode values one by one, rounding half-even to the scale.

    Returns:
        The array and how many values were changed by rounding (trailing zeros beyond the
        scale do not count).

    Raises:
        ValueError: A value is not a finite number, or does not fit the precision; the
            message names the value.
    """
    quantum = Decimal(1).scaleb(-arrow.scale)
    out: list[Decimal | None] = []
    rounded = 0
    for raw in values:
        try:
            value = msgspec.json.decode(raw, type=Decimal | None, strict=False)
        except msgspec.DecodeError as exc:  # ValidationError is a DecodeError
            raise ValueError(f"not a decimal number ({exc})") from None
        if value is None:
            out.append(None)
            continue
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite decimal")
        try:
            fitted = _EXACT.quantize(value, quantum)
        except InvalidOperation:
            raise ValueError(f"{value} does not fit {arrow}") from None
        if fitted != value:
            rounded += 1
        out.append(fitted)
    try:
        array = pa.array(out, arrow)
    except (pa.ArrowInvalid, OverflowError) as exc:
        raise ValueError(f"value out of range for {arrow} ({exc})") from None
    return array, rounded


def within_precision(array: pa.Array, arrow: pa.Decimal128Type) -> bool:
    """Whether every value fits ``arrow``'s precision; Arrow's CSV reader checks the scale
    but not the number of integer digits."""
    limit = Decimal(10) ** (arrow.precision - arrow.scale)
    bounds = pc.min_max(array)
    low, high = bounds["min"].as_py(), bounds["max"].as_py()
    return low is None or (-limit < low and high < limit)

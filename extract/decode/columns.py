"""JSON values -> typed Arrow arrays, one conversion per declared type.

A :class:`Conversion` pairs the type ``msgspec`` decodes a JSON value into with the
function that turns a column of such values into an Arrow array of the planned type. The
pairs are chosen so the per-value work happens in C: strings for timestamps and dates
(parsed by an Arrow cast), raw JSON text for decimals (parsed exactly, never through
float: :mod:`extract.decode.decimals`), plain ints/floats/bools for the rest.

Decoding uses ``msgspec`` in non-strict mode, so numbers sent as strings (OData's
``IEEE754Compatible=true`` for Int64 and Decimal) are accepted.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from extract.decode.decimals import parse_exact, round_half_even
from extract.schema.metadata import EdmProperty
from extract.schema.types import arrow_type

__all__ = [
    "NULL_RAW",
    "ColumnError",
    "Conversion",
    "Converted",
    "conversion_for",
    "conversion_for_arrow",
    "convert_columns",
]

NULL_RAW = msgspec.Raw(b"null")
"""Default of raw-typed Struct fields, so a missing property reads as JSON ``null``."""


class ColumnError(ValueError):
    """A value does not fit its column's declared type (the page is bad, not the plan)."""


@dataclass(frozen=True, slots=True)
class Converted:
    """An Arrow array and how many decimal values were rounded to fit the scale."""

    array: pa.Array
    rounded: int = 0


@dataclass(frozen=True, slots=True)
class Conversion:
    """How one column is decoded.

    Attributes:
        name: Column name, for error messages.
        annotation: The type a ``msgspec`` Struct field is declared with.
        default: The field's default when the property is absent from a row.
        convert: Column of decoded values -> :class:`Converted`.
    """

    name: str
    annotation: Any
    default: Any
    convert: Callable[[Sequence[Any]], Converted]
    decimal: pa.DataType | None = None
    """For decimals, the Arrow type: decimal columns of one type are parsed together
    (see :func:`convert_columns`)."""


def conversion_for(name: str, prop: EdmProperty) -> Conversion:
    """The conversion for a kept column of property ``prop`` (named ``name`` in errors)."""
    return _conversion(name, prop.edm_type, arrow_type(prop))


def conversion_for_arrow(name: str, arrow: pa.DataType) -> Conversion:
    """The conversion for a column known only by its Arrow type (key-only pages).

    Raises:
        ValueError: ``arrow`` is not a type the loader produces for keys.
    """
    if pa.types.is_timestamp(arrow):
        return _conversion(name, "Edm.DateTimeOffset", arrow)
    if pa.types.is_decimal(arrow):
        return _conversion(name, "Edm.Decimal", arrow)
    if pa.types.is_date32(arrow):
        return _conversion(name, "Edm.Date", arrow)
    if pa.types.is_string(arrow):
        return _conversion(name, "Edm.String", arrow)
    if pa.types.is_integer(arrow) or pa.types.is_floating(arrow) or pa.types.is_boolean(arrow):
        return _conversion(name, "", arrow)
    raise ValueError(f"key column {name}: unsupported Arrow type {arrow}")


def _conversion(name: str, edm_type: str, arrow: pa.DataType) -> Conversion:
    if edm_type == "Edm.Decimal":
        return Conversion(name, msgspec.Raw, NULL_RAW, partial(_one_decimal, name, arrow), arrow)
    if edm_type in _BY_EDM:
        annotation, build = _BY_EDM[edm_type]
    elif pa.types.is_integer(arrow):
        annotation, build = int | None, _plain
    elif pa.types.is_floating(arrow):
        annotation, build = float | None, _plain
    elif pa.types.is_boolean(arrow):
        annotation, build = bool | None, _plain
    else:
        # An Edm type without its own column type (e.g. geography): keep the JSON text.
        return Conversion(name, msgspec.Raw, NULL_RAW, partial(_converted, _json_text, name, arrow))
    return Conversion(name, annotation, None, partial(_converted, build, name, arrow))


def _converted(build: _Builder, name: str, arrow: pa.DataType, values: Sequence[Any]) -> Converted:
    return Converted(build(name, values, arrow))


def _one_decimal(name: str, arrow: pa.DataType, values: Sequence[Any]) -> Converted:
    return _decimals([name], [values], arrow)[0]


# -- simple types -----------------------------------------------------------------------


def _as_array(values: Sequence[Any] | pa.Array, arrow: pa.DataType) -> pa.Array:
    """``values`` as an Arrow array of ``arrow`` (an array of that type read by the Arrow
    path of :mod:`extract.decode.arrow_pages` is used as is)."""
    if isinstance(values, pa.Array) and values.type == arrow:
        return values
    return pa.array(values, arrow)


def _plain(name: str, values: Sequence[Any], arrow: pa.DataType) -> pa.Array:
    try:
        return _as_array(values, arrow)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise ColumnError(f"{name}: value does not fit {arrow} ({exc})") from None


def _cast(name: str, values: Sequence[Any], arrow: pa.DataType) -> pa.Array:
    strings = _as_array(values, pa.string())
    try:
        return strings.cast(arrow)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise ColumnError(f"{name}: not a valid {arrow} ({exc})") from None


_FRACTION_PAST_MICROS = r"(\.\d{6})\d+"


def _timestamps(name: str, values: Sequence[Any], arrow: pa.DataType) -> pa.Array:
    """ISO 8601 with ``Z`` or an offset, 0-9 fractional digits -> UTC microseconds.

    .NET sends up to 7 fractional digits; digits past the microsecond are cut off (the
    fast path fails only on such pages, so the regex costs nothing otherwise).
    """
    strings = _as_array(values, pa.string())
    try:
        return strings.cast(arrow)
    except pa.ArrowInvalid:
        pass
    trimmed = pc.replace_substring_regex(strings, _FRACTION_PAST_MICROS, r"\1")
    try:
        return trimmed.cast(arrow)
    except pa.ArrowInvalid as exc:
        raise ColumnError(f"{name}: not an ISO 8601 timestamp with offset ({exc})") from None


_GUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def _guids(name: str, values: Sequence[Any], arrow: pa.DataType) -> pa.Array:
    lowered = pc.utf8_lower(_as_array(values, arrow))
    # Checked here so a malformed GUID quarantines one record instead of failing the
    # DuckDB insert of a whole batch.
    if pc.any(pc.invert(pc.match_substring_regex(lowered, _GUID))).as_py():
        raise ColumnError(f"{name}: value is not a GUID")
    return lowered


# -- decimals ---------------------------------------------------------------------------


def convert_columns(
    conversions: Sequence[Conversion], columns: Sequence[Sequence[Any]]
) -> list[Converted]:
    """Convert ``columns[i]`` with ``conversions[i]``; decimal columns of one type are
    parsed in a single call.

    Raises:
        ColumnError: A value does not fit its column's type.
    """
    out: dict[int, Converted] = {}
    decimals: dict[pa.DataType, list[int]] = {}
    for i, conversion in enumerate(conversions):
        if conversion.decimal is None:
            out[i] = conversion.convert(columns[i])
        else:
            decimals.setdefault(conversion.decimal, []).append(i)
    for arrow, members in decimals.items():
        names = [conversions[i].name for i in members]
        parsed = _decimals(names, [columns[i] for i in members], arrow)
        out.update(zip(members, parsed, strict=True))
    return [out[i] for i in range(len(columns))]


def _decimals(
    names: list[str], columns: list[Sequence[Any]], arrow: pa.Decimal128Type
) -> list[Converted]:
    """Exact decimals (:mod:`extract.decode.decimals`): all columns in one fast call; if that
    fails, column by column, rounding half-even where a value needs it."""
    exact = parse_exact(columns, arrow)
    if exact is not None:
        return [Converted(array) for array in exact]
    if len(columns) > 1:
        return [
            _decimals([name], [column], arrow)[0]
            for name, column in zip(names, columns, strict=True)
        ]
    try:
        array, rounded = round_half_even(columns[0], arrow)
    except ValueError as exc:
        raise ColumnError(f"{names[0]}: {exc}") from None
    return [Converted(array, rounded)]


# -- rare types (per-value Python is fine) ----------------------------------------------

_DURATION = re.compile(
    r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$", re.IGNORECASE
)


def _durations(name: str, values: Sequence[Any], arrow: pa.DataType) -> pa.Array:
    """``Edm.Duration`` (ISO 8601 day-time duration) -> month_day_nano intervals."""
    out: list[tuple[int, int, int] | None] = []
    for text in values:
        if text is None:
            out.append(None)
            continue
        match = _DURATION.match(text)
        if match is None or text.upper().rstrip("T").endswith("P") or text.upper().endswith("T"):
            raise ColumnError(f"{name}: {text!r} is not an ISO 8601 duration")
        sign = -1 if match[1] else 1
        days = int(match[2] or 0)
        nanos = int(match[3] or 0) * 3_600_000_000_000 + int(match[4] or 0) * 60_000_000_000
        nanos += int(Decimal(match[5] or 0) * 1_000_000_000)
        out.append((0, sign * days, sign * nanos))
    return pa.array(out, arrow)


def _binaries(name: str, values: Sequence[Any], arrow: pa.DataType) -> pa.Array:
    """``Edm.Binary``: base64url (OData JSON) or standard base64, padding optional."""
    out: list[bytes | None] = []
    for text in values:
        if text is None:
            out.append(None)
            continue
        try:
            padded = text + "=" * (-len(text) % 4)
            out.append(base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_")))
        except ValueError:
            raise ColumnError(f"{name}: value is not base64") from None
    return pa.array(out, arrow)


def _json_text(name: str, values: Sequence[Any], arrow: pa.DataType) -> pa.Array:
    """A value of an unsupported type as text: a JSON string as is, anything else as
    its JSON."""
    out: list[str | None] = []
    for raw in values:
        data = bytes(raw)
        if data == b"null":
            out.append(None)
        elif data.startswith(b'"'):
            out.append(msgspec.json.decode(data, type=str))
        else:
            out.append(data.decode("utf-8"))
    return pa.array(out, arrow)


_Builder = Callable[[str, Sequence[Any], pa.DataType], pa.Array]

# Edm types decoded by their own rule; other types go by their Arrow type.
_BY_EDM: dict[str, tuple[Any, _Builder]] = {
    "Edm.String": (str | None, _plain),
    "Edm.DateTimeOffset": (str | None, _timestamps),
    "Edm.Date": (str | None, _cast),
    "Edm.Guid": (str | None, _guids),
    "Edm.TimeOfDay": (dt.time | None, _plain),
    "Edm.Duration": (str | None, _durations),
    "Edm.Binary": (str | None, _binaries),
}

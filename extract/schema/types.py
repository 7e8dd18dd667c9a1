"""The one mapping from OData ``Edm.*`` types to DuckDB column types and Arrow types.

Raw tables are typed from the service's ``$metadata``, never from guessing JSON, so every
column type the loader creates comes from :func:`duckdb_type` and every Arrow array the
decoder builds from :func:`arrow_type`; the two always agree.
"""

from __future__ import annotations

import re

import pyarrow as pa

from extract.schema.metadata import EdmProperty

__all__ = [
    "DEFAULT_DECIMAL",
    "MAX_DECIMAL_PRECISION",
    "arrow_type",
    "decimal_facets",
    "duckdb_type",
    "is_supported",
    "is_widening",
]

MAX_DECIMAL_PRECISION = 38
"""DuckDB's widest DECIMAL (and Arrow's decimal128)."""

DEFAULT_DECIMAL = (38, 10)
"""Facets for an ``Edm.Decimal`` without fixed precision/scale (absent or ``variable``)."""

_DUCKDB: dict[str, str] = {
    "Edm.Int16": "SMALLINT",
    "Edm.Int32": "INTEGER",
    "Edm.Int64": "BIGINT",
    "Edm.Byte": "UTINYINT",
    "Edm.SByte": "TINYINT",
    "Edm.Double": "DOUBLE",
    "Edm.Single": "FLOAT",
    "Edm.Boolean": "BOOLEAN",
    "Edm.String": "VARCHAR",
    "Edm.Guid": "UUID",
    "Edm.DateTimeOffset": "TIMESTAMPTZ",
    "Edm.Date": "DATE",
    "Edm.TimeOfDay": "TIME",
    "Edm.Duration": "INTERVAL",
    "Edm.Binary": "BLOB",
}

_ARROW: dict[str, pa.DataType] = {
    "Edm.Int16": pa.int16(),
    "Edm.Int32": pa.int32(),
    "Edm.Int64": pa.int64(),
    "Edm.Byte": pa.uint8(),
    "Edm.SByte": pa.int8(),
    "Edm.Double": pa.float64(),
    "Edm.Single": pa.float32(),
    "Edm.Boolean": pa.bool_(),
    "Edm.String": pa.string(),
    # DuckDB casts a UUID-shaped string on insert; Arrow has no portable UUID type.
    "Edm.Guid": pa.string(),
    "Edm.DateTimeOffset": pa.timestamp("us", "UTC"),
    "Edm.Date": pa.date32(),
    "Edm.TimeOfDay": pa.time64("us"),
    # DuckDB reads Arrow month_day_nano intervals as INTERVAL.
    "Edm.Duration": pa.month_day_nano_interval(),
    "Edm.Binary": pa.binary(),
}


def is_supported(edm_type: str) -> bool:
    """Whether ``edm_type`` has its own column type (others load as VARCHAR)."""
    return edm_type == "Edm.Decimal" or edm_type in _DUCKDB


def decimal_facets(p: EdmProperty) -> tuple[int, int]:
    """Precision and scale of an ``Edm.Decimal`` column.

    Both facets must be fixed to be used: a missing ``Scale`` means 0 in CSDL, but a
    service that forgets it would have every fraction rounded away, so a property without
    both facets gets the wide :data:`DEFAULT_DECIMAL` instead. Precision is capped at 38.
    """
    if p.precision is None or p.scale is None or p.precision < 1:
        return DEFAULT_DECIMAL
    precision = min(p.precision, MAX_DECIMAL_PRECISION)
    return precision, max(0, min(p.scale, precision))


def duckdb_type(p: EdmProperty) -> str:
    """The DuckDB column type for ``p``; unknown Edm types map to ``VARCHAR``.

    The caller records a property that fell back to ``VARCHAR`` (see :func:`is_supported`).
    """
    if p.edm_type == "Edm.Decimal":
        precision, scale = decimal_facets(p)
        return f"DECIMAL({precision},{scale})"
    return _DUCKDB.get(p.edm_type, "VARCHAR")


def arrow_type(p: EdmProperty) -> pa.DataType:
    """The Arrow type matching :func:`duckdb_type` for ``p``."""
    if p.edm_type == "Edm.Decimal":
        return pa.decimal128(*decimal_facets(p))
    return _ARROW.get(p.edm_type, pa.string())


# Integer types with the number of decimal digits needed to hold any of their values.
_INT_DIGITS = {"UTINYINT": 3, "TINYINT": 3, "SMALLINT": 5, "INTEGER": 10, "BIGINT": 19}
_INT_RANK = {"TINYINT": 0, "SMALLINT": 1, "INTEGER": 2, "BIGINT": 3, "HUGEINT": 4}
# Integer types a DOUBLE represents exactly (|value| < 2**53).
_EXACT_IN_DOUBLE = {"UTINYINT", "TINYINT", "SMALLINT", "INTEGER", "FLOAT"}
_DECIMAL = re.compile(r"^DECIMAL\((\d+),\s*(\d+)\)$")


def is_widening(old_duckdb: str, new_duckdb: str) -> bool:
    """Whether changing a column from ``old_duckdb`` to ``new_duckdb`` keeps every value.

    Safe changes: the same type; a wider integer (``INTEGER`` -> ``BIGINT``, ``UTINYINT`` ->
    ``SMALLINT``); an integer into a ``DECIMAL`` with enough integer digits; a ``DECIMAL``
    with at least as many integer and fractional digits (``DECIMAL(18,4)`` ->
    ``DECIMAL(38,10)``); ``FLOAT`` or a small integer -> ``DOUBLE``; anything -> ``VARCHAR``.

    Args:
        old_duckdb: The column's current DuckDB type, as :func:`duckdb_type` spells it.
        new_duckdb: The type the service now declares.

    Returns:
        ``True`` when the column can be altered in place without loss; ``False`` when the
        change needs a person (a new column, a rebuild).
    """
    old = _normalise(old_duckdb)
    new = _normalise(new_duckdb)
    if old == new or new == "VARCHAR":
        return True
    if old in _INT_RANK and new in _INT_RANK:
        return _INT_RANK[new] > _INT_RANK[old]
    if old == "UTINYINT":
        return new in ("SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE") or _int_fits(old, new)
    if new == "DOUBLE":
        return old in _EXACT_IN_DOUBLE
    if old in _INT_DIGITS:
        return _int_fits(old, new)
    old_dec = _DECIMAL.match(old)
    new_dec = _DECIMAL.match(new)
    if old_dec and new_dec:
        old_p, old_s = int(old_dec[1]), int(old_dec[2])
        new_p, new_s = int(new_dec[1]), int(new_dec[2])
        return new_s >= old_s and new_p - new_s >= old_p - old_s
    return False


def _int_fits(old: str, new: str) -> bool:
    match = _DECIMAL.match(new)
    if match is None:
        return False
    return int(match[1]) - int(match[2]) >= _INT_DIGITS[old]


# Spellings DuckDB itself reports (e.g. information_schema) for the types above.
_ALIASES = {
    "INT": "INTEGER",
    "INT4": "INTEGER",
    "SIGNED": "INTEGER",
    "INT8": "BIGINT",
    "LONG": "BIGINT",
    "INT2": "SMALLINT",
    "SHORT": "SMALLINT",
    "INT1": "TINYINT",
    "UINT8": "UTINYINT",
    "REAL": "FLOAT",
    "FLOAT4": "FLOAT",
    "FLOAT8": "DOUBLE",
    "BOOL": "BOOLEAN",
    "TEXT": "VARCHAR",
    "STRING": "VARCHAR",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "DECIMAL": "DECIMAL(18,3)",
}


def _normalise(duckdb: str) -> str:
    text = " ".join(duckdb.upper().split()).replace(", ", ",").replace("NUMERIC", "DECIMAL")
    return _ALIASES.get(text, text)

"""Helpers every generator uses: seeded RNGs, typed columns, and frame assembly.

Generators describe only the columns they care about; :func:`build_frame` fills the rest
from the entity type (null where nullable, a documented default otherwise) and fails
loudly on a non-nullable text or time column nobody provided, so a new schema property
cannot silently produce invalid rows.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from simulator.schema import EntityType
from simulator.store import polars_dtype

CLIENT_ID = 1
"""The one Norce client (merchant) the simulator serves."""
SYSTEM_USER = 1
"""``CreatedBy`` of generated rows: the shop's web front end."""
INTEGRATION_USER = 2
"""``UpdatedBy`` of changed rows: the merchant's back-office integration."""

US_PER_SECOND = 1_000_000
US_PER_DAY = 86_400 * US_PER_SECOND

MONEY = pl.Decimal(18, 4)

# Non-nullable columns that have one sensible value for every generated row.
FIELD_DEFAULTS: dict[str, Any] = {
    "ClientId": CLIENT_ID,
    "CreatedBy": SYSTEM_USER,
    "IsActive": True,
    "UnitOfMeasurementCount": 1,
    "StockUnitOfMeasurementCount": 1,
    "PriceUnitOfMeasurementCount": 1,
}

ColumnValue = pl.Series | np.ndarray | list[Any] | str | int | float | bool | datetime | None


def rng_for(seed: int, domain: str) -> np.random.Generator:
    """An independent generator per (seed, domain): domains do not shift each other."""
    return np.random.default_rng([seed, zlib.crc32(domain.encode())])


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of a tz-aware datetime."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US_PER_SECOND + delta.microseconds


def timestamps(us: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """UTC timestamps from epoch microseconds; rows where ``null`` is True become null."""
    series = pl.Series(np.asarray(us, dtype=np.int64)).cast(pl.Datetime("us", "UTC"))
    return with_nulls(series, null)


def money(cents: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """Decimal(18,4) amounts from integer cents (exact: never goes through float)."""
    return decimal4(np.asarray(cents, dtype=np.int64) * 100, null)


def decimal4(units: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """Decimal(18,4) values from integer 1/10000 units (exact: never goes through float)."""
    values = np.ascontiguousarray(units, dtype=np.int64)
    # Reinterpret the integers as Decimal(18,4) without arithmetic on the values.
    arrow = pa.Array.from_buffers(pa.decimal128(18, 4), values.size, [None, _int128_buffer(values)])
    return with_nulls(pl.Series(arrow), null)


def _int128_buffer(values: np.ndarray) -> pa.Buffer:
    out = np.zeros((values.size, 2), dtype=np.int64)
    out[:, 0] = values
    out[:, 1] = np.where(values < 0, -1, 0)  # sign extension of the high word
    return pa.py_buffer(out.tobytes())


def with_nulls(series: pl.Series, null: np.ndarray | None) -> pl.Series:
    """``series`` with the rows flagged in ``null`` set to null."""
    if null is None or not np.any(null):
        return series
    return (
        pl.select(pl.when(pl.Series(np.asarray(null, dtype=bool))).then(None).otherwise(series))
        .to_series()
        .alias(series.name)
    )


def guids(rng: np.random.Generator, n: int) -> pl.Series:
    """``n`` random (version 4) GUIDs as lower-case strings."""
    raw = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    binary = pa.Array.from_buffers(pa.binary(16), n, [None, pa.py_buffer(raw.tobytes())])
    hexed = pl.Series(binary.cast(pa.binary())).bin.encode("hex")
    h = pl.col("h").str
    return (
        pl.DataFrame({"h": hexed})
        .select(
            pl.concat_str(
                h.slice(0, 8),
                h.slice(8, 4),
                h.slice(12, 4),
                h.slice(16, 4),
                h.slice(20, 12),
                separator="-",
            )
        )
        .to_series()
    )


def counter_within(groups: np.ndarray) -> np.ndarray:
    """1-based position of each row within its run of equal, consecutive ``groups``."""
    n = groups.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    run_lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, run_lengths) + 1


def _series(
    name: str, value: pl.Series | np.ndarray | list[Any], n: int, dtype: pl.DataType
) -> pl.Series:
    series = value.alias(name) if isinstance(value, pl.Series) else pl.Series(name, value)
    if series.len() != n:
        raise ValueError(f"column {name}: {series.len()} values for {n} rows")
    return series if series.dtype == dtype else series.cast(dtype)


def build_frame(
    entity_type: EntityType, n: int, columns: Mapping[str, ColumnValue]
) -> pl.DataFrame:
    """A frame of ``n`` rows with every property of ``entity_type``.

    Args:
        entity_type: The (pristine) type; its properties fix columns, order and dtypes.
        n: Row count.
        columns: Values for some properties: a series/array/list of ``n`` values, or one
            scalar for all rows.

    Returns:
        The frame, unsorted. Unlisted nullable properties are null; unlisted non-nullable
        ones take :data:`FIELD_DEFAULTS` or zero/False.

    Raises:
        KeyError: If ``columns`` names a property the type lacks.
        ValueError: If a non-nullable text/time property has no value.
    """
    unknown = set(columns) - set(entity_type.property_names)
    if unknown:
        raise KeyError(f"{entity_type.name} has no properties {sorted(unknown)}")
    series: list[pl.Series] = []
    constants: list[pl.Expr] = []
    for prop in entity_type.properties:
        dtype = polars_dtype(prop)
        if prop.name in columns:
            value = columns[prop.name]
        elif prop.nullable:
            value = None
        elif prop.name in FIELD_DEFAULTS:
            value = FIELD_DEFAULTS[prop.name]
        elif prop.edm_type in ("Edm.Int32", "Edm.Int64", "Edm.Decimal", "Edm.Double"):
            value = 0
        elif prop.edm_type == "Edm.Boolean":
            value = False
        else:
            raise ValueError(f"{entity_type.name}.{prop.name} is required and has no value")
        if isinstance(value, pl.Series | np.ndarray | list):
            series.append(_series(prop.name, value, n, dtype))
        else:
            # A constant stays a polars scalar column: it costs no memory per row (many
            # columns are all-null or one value on every row).
            constants.append(pl.lit(value, dtype=dtype).alias(prop.name))
    frame = pl.DataFrame(series, height=n) if series else pl.DataFrame(height=n)
    return frame.with_columns(constants).select(entity_type.property_names)


def weighted_choice(rng: np.random.Generator, weights: np.ndarray, size: int) -> np.ndarray:
    """Indices drawn with probability proportional to ``weights`` (with replacement)."""
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64))
    draws = rng.random(size) * cumulative[-1]
    return np.asarray(np.searchsorted(cumulative, draws, side="right"), dtype=np.int64)

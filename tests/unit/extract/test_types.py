"""The Edm -> DuckDB / Arrow mapping table and the widening rules."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from extract.schema.metadata import EdmProperty
from extract.schema.types import arrow_type, duckdb_type, is_supported, is_widening


def prop(edm_type: str, precision: int | None = None, scale: int | None = None) -> EdmProperty:
    return EdmProperty("X", edm_type, True, None, precision, scale)


MAPPING = [
    ("Edm.Int16", "SMALLINT", pa.int16()),
    ("Edm.Int32", "INTEGER", pa.int32()),
    ("Edm.Int64", "BIGINT", pa.int64()),
    ("Edm.Byte", "UTINYINT", pa.uint8()),
    ("Edm.SByte", "TINYINT", pa.int8()),
    ("Edm.Double", "DOUBLE", pa.float64()),
    ("Edm.Single", "FLOAT", pa.float32()),
    ("Edm.Boolean", "BOOLEAN", pa.bool_()),
    ("Edm.String", "VARCHAR", pa.string()),
    ("Edm.Guid", "UUID", pa.string()),
    ("Edm.DateTimeOffset", "TIMESTAMPTZ", pa.timestamp("us", "UTC")),
    ("Edm.Date", "DATE", pa.date32()),
    ("Edm.TimeOfDay", "TIME", pa.time64("us")),
    ("Edm.Duration", "INTERVAL", pa.month_day_nano_interval()),
    ("Edm.Binary", "BLOB", pa.binary()),
    ("Edm.GeographyPoint", "VARCHAR", pa.string()),
    ("Some.Enum", "VARCHAR", pa.string()),
]


@pytest.mark.parametrize(("edm", "duck", "arrow"), MAPPING)
def test_mapping_table(edm: str, duck: str, arrow: pa.DataType) -> None:
    assert duckdb_type(prop(edm)) == duck
    assert arrow_type(prop(edm)) == arrow


@pytest.mark.parametrize(
    ("precision", "scale", "duck", "arrow"),
    [
        (18, 4, "DECIMAL(18,4)", pa.decimal128(18, 4)),
        (10, 0, "DECIMAL(10,0)", pa.decimal128(10, 0)),
        (None, None, "DECIMAL(38,10)", pa.decimal128(38, 10)),
        (18, None, "DECIMAL(38,10)", pa.decimal128(38, 10)),  # Scale="variable"
        (None, 4, "DECIMAL(38,10)", pa.decimal128(38, 10)),
        (60, 6, "DECIMAL(38,6)", pa.decimal128(38, 6)),  # capped at DuckDB's widest
    ],
)
def test_decimal_facets(
    precision: int | None, scale: int | None, duck: str, arrow: pa.DataType
) -> None:
    assert duckdb_type(prop("Edm.Decimal", precision, scale)) == duck
    assert arrow_type(prop("Edm.Decimal", precision, scale)) == arrow


def test_supported_types() -> None:
    assert is_supported("Edm.Decimal")
    assert is_supported("Edm.Int64")
    assert not is_supported("Edm.GeographyPoint")


SAMPLES = {
    "Edm.Int16": -12,
    "Edm.Int32": 2_000_000_000,
    "Edm.Int64": 9_000_000_000_000,
    "Edm.Byte": 255,
    "Edm.SByte": -128,
    "Edm.Double": 1.5,
    "Edm.Single": 2.5,
    "Edm.Boolean": True,
    "Edm.String": "åäö",
    "Edm.Guid": "0f8fad5b-d9cb-469f-a165-70867728950e",
    "Edm.DateTimeOffset": dt.datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=dt.UTC),
    "Edm.Date": dt.date(2026, 1, 2),
    "Edm.TimeOfDay": dt.time(12, 30, 15, 500000),
    "Edm.Duration": pa.MonthDayNano([0, 1, 3_000_000_000]),
    "Edm.Binary": b"\x00\x01",
    "Edm.GeographyPoint": '{"type":"Point"}',
    "Some.Enum": "Red",
}


@pytest.mark.parametrize(("edm", "duck", "arrow"), MAPPING)
def test_arrow_values_load_into_the_duckdb_column(edm: str, duck: str, arrow: pa.DataType) -> None:
    """The two mappings agree: a value typed arrow_type inserts into a duckdb_type column."""
    rows = pa.table({"x": pa.array([SAMPLES[edm], None], arrow)})
    con = duckdb.connect()
    try:
        con.register("arrow_rows", rows)
        con.execute(f"CREATE TABLE t (x {duck})")
        con.execute("INSERT INTO t SELECT x FROM arrow_rows")
        loaded = con.execute("SELECT count(x), count(*) FROM t").fetchone()
    finally:
        con.close()
    assert loaded == (1, 2)


@pytest.mark.parametrize(
    ("old", "new", "safe"),
    [
        ("INTEGER", "BIGINT", True),
        ("SMALLINT", "INTEGER", True),
        ("TINYINT", "BIGINT", True),
        ("UTINYINT", "SMALLINT", True),
        ("BIGINT", "INTEGER", False),
        ("UTINYINT", "TINYINT", False),
        ("DECIMAL(18,4)", "DECIMAL(38,10)", True),
        ("DECIMAL(18,4)", "DECIMAL(18, 4)", True),
        ("DECIMAL(18,4)", "DECIMAL(18,2)", False),
        ("DECIMAL(18,4)", "DECIMAL(20,10)", False),
        ("INTEGER", "DECIMAL(18,4)", True),
        ("BIGINT", "DECIMAL(18,4)", False),
        ("BIGINT", "DECIMAL(38,10)", True),
        ("INTEGER", "DOUBLE", True),
        ("FLOAT", "DOUBLE", True),
        ("BIGINT", "DOUBLE", False),
        ("DOUBLE", "FLOAT", False),
        ("TIMESTAMPTZ", "VARCHAR", True),
        ("DECIMAL(18,4)", "VARCHAR", True),
        ("VARCHAR", "INTEGER", False),
        ("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", True),
        ("TIMESTAMPTZ", "DATE", False),
        ("int", "BIGINT", True),
    ],
)
def test_is_widening(old: str, new: str, safe: bool) -> None:
    assert is_widening(old, new) is safe

"""Query results as text: an aligned table, CSV or JSON, written in batches.

CSV and JSON stream every row, a batch at a time, so a large result never sits in memory.
The table format needs column widths, so it shows at most ``max_rows`` rows and says how
many more there were.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, TextIO
from uuid import UUID

__all__ = ["FORMATS", "Format", "write_result"]

Format = Literal["table", "csv", "json"]
FORMATS: tuple[Format, ...] = ("table", "csv", "json")

BATCH_ROWS = 2_000
"""Rows fetched from DuckDB at a time."""


def _batches(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    while True:
        rows = cursor.fetchmany(BATCH_ROWS)
        if not rows:
            return
        yield rows


def _text(value: object) -> str:
    """A cell as text: ``NULL`` for null, ISO for dates, plain for numbers."""
    if value is None:
        return "NULL"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _json_value(value: object) -> object:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID | bytes):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def _numeric(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def write_result(cursor: Any, out: TextIO, fmt: Format, *, max_rows: int = 1_000) -> int:
    """Write the rows of an executed DuckDB cursor to ``out``.

    Args:
        cursor: A connection or cursor on which a query was executed.
        out: Where to write.
        fmt: ``table`` (aligned, at most ``max_rows`` rows), ``csv`` (header + rows) or
            ``json`` (an array of objects, one per row).
        max_rows: Row cap of the table format.

    Returns:
        The number of rows the query returned (all of them, also beyond the table's cap).
    """
    headers = [d[0] for d in cursor.description or []]
    if not headers:
        return 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(headers)
        count = 0
        for rows in _batches(cursor):
            writer.writerows([[("" if v is None else _text(v)) for v in row] for row in rows])
            count += len(rows)
        return count
    if fmt == "json":
        return _write_json(cursor, out, headers)
    return _write_table(cursor, out, headers, max_rows)


def _write_json(cursor: Any, out: TextIO, headers: Sequence[str]) -> int:
    count = 0
    out.write("[")
    for rows in _batches(cursor):
        for row in rows:
            obj = {h: _json_value(v) for h, v in zip(headers, row, strict=True)}
            out.write(("," if count else "") + "\n  " + json.dumps(obj, ensure_ascii=False))
            count += 1
    out.write("\n]\n" if count else "]\n")
    return count


def _write_table(cursor: Any, out: TextIO, headers: Sequence[str], max_rows: int) -> int:
    shown = cursor.fetchmany(max_rows)
    more = 0
    for rows in _batches(cursor):
        more += len(rows)
    cells = [[_text(v) for v in row] for row in shown]
    right = [
        bool(shown) and all(_numeric(row[i]) or row[i] is None for row in shown)
        for i in range(len(headers))
    ]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        parts = (
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        )
        return "  ".join(parts).rstrip()

    out.write(line(headers) + "\n")
    out.write("  ".join("-" * w for w in widths) + "\n")
    for row in cells:
        out.write(line(row) + "\n")
    total = len(shown) + more
    note = f"({total:,} row{'s' if total != 1 else ''}"
    note += f"; first {len(shown):,} shown, use --format csv for all)" if more else ")"
    out.write(note + "\n")
    return total

"""Typed Arrow tables of one raw table from a page's column values (either read path).

:class:`TableBuilder` types the values of a table plan's columns -- Python sequences from
the exact ``msgspec`` path, or Arrow arrays from :mod:`extract.decode.arrow_pages` -- with
the conversions of :mod:`extract.decode.columns`, hashes the ``hash`` columns and assembles
the table in plan order.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa

from extract.decode.columns import (
    ColumnError,
    Conversion,
    Converted,
    conversion_for,
    convert_columns,
)
from extract.decode.decimals import within_precision
from extract.decode.structs import Path
from extract.schema.plan import PARENT, Column, TablePlan
from extract.schema.privacy import PrivacyPolicy

__all__ = ["TableBuilder"]


class TableBuilder:
    """Turns the column values of one table plan into an Arrow table."""

    def __init__(self, plan: TablePlan, privacy: PrivacyPolicy) -> None:
        self.plan = plan
        self.privacy = privacy
        self.schema = pa.schema([pa.field(c.name, c.arrow_type) for c in plan.columns])
        self.conversions = {c.name: _column_conversion(c) for c in plan.columns}
        self._typed = [c for c in plan.columns if c.action == "keep" and c.source[0] != PARENT]

    def build(
        self, values: dict[Path, Sequence[Any]], parents: dict[str, pa.Array | pa.ChunkedArray]
    ) -> tuple[pa.Table, Counter[str]]:
        """The table from its columns' values: Python sequences (the exact path) or Arrow
        arrays read as :func:`extract.decode.arrow_pages.read_type` says (decimals are then
        typed already, and exact)."""
        typed = _convert(
            [self.conversions[c.name] for c in self._typed], [values[c.source] for c in self._typed]
        )
        by_column = dict(zip(self._typed, typed, strict=True))
        by_name = {c.name: t for c, t in by_column.items()}
        arrays: list[pa.Array | pa.ChunkedArray] = []
        for column in self.plan.columns:
            if column.name in parents:
                arrays.append(parents[column.name])
            elif column.action == "hash":
                arrays.append(_hashed(self.privacy, values[column.source]))
            else:
                arrays.append(by_name[column.name].array)
        rounded = Counter(
            {f"{self.plan.table}.{c.name}": t.rounded for c, t in by_column.items() if t.rounded}
        )
        return pa.Table.from_arrays(arrays, schema=self.schema), rounded


def _convert(conversions: list[Conversion], columns: list[Sequence[Any]]) -> list[Converted]:
    """:func:`convert_columns`, except that decimals already read by Arrow are kept."""
    out: list[Converted | None] = [None] * len(columns)
    rest = []
    for i, (conversion, column) in enumerate(zip(conversions, columns, strict=True)):
        if conversion.decimal is not None and isinstance(column, pa.Array):
            # Arrow's reader checks the scale but not the integer digits
            if not within_precision(column, conversion.decimal):
                raise ColumnError(f"{conversion.name}: value out of range for {column.type}")
            out[i] = Converted(column)
        else:
            rest.append(i)
    done = convert_columns([conversions[i] for i in rest], [columns[i] for i in rest])
    for i, converted in zip(rest, done, strict=True):
        out[i] = converted
    return [c for c in out if c is not None]


def _hashed(privacy: PrivacyPolicy, values: Sequence[Any]) -> pa.Array:
    """The hash column of a source column; an Arrow column is hashed once per distinct
    value (a customer's e-mail recurs on every order of a page)."""
    if not isinstance(values, pa.Array):
        return pa.array(privacy.hash_values(values), pa.string())
    encoded = values.dictionary_encode()
    digests = pa.array(privacy.hash_values(encoded.dictionary.to_pylist()), pa.string())
    return digests.take(encoded.indices)


def _column_conversion(column: Column) -> Conversion:
    if column.action == "hash":
        # Hashed in _TableBuilder.build; the source is decoded as text.
        return Conversion(
            column.name, str | None, None, lambda v: Converted(pa.array(v, pa.string()))
        )
    return conversion_for(column.name, column.edm)

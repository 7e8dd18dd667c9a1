"""Decode OData JSON pages into typed Arrow tables, one per raw table of a plan.

Speed matters here (a 500-order page with its lines is ~2,000 rows and a few MB), so:

* the JSON is decoded by ``msgspec`` into Struct types generated for the plan -- one per
  JSON object level: the row, each flattened navigation, each expanded collection -- so
  only planned properties are materialised and unknown ones are skipped by the parser;
* the Structs are transposed into columns in C (``zip(*map(astuple, rows))``) and
  each column becomes an Arrow array through :mod:`extract.decode.columns`, with vectorised casts
  for timestamps, decimals and GUIDs instead of per-value Python work.

Any problem with a body -- invalid or truncated JSON, no ``value`` array, a value that does
not fit its declared type -- raises :class:`~extract.errors.BadPayload`, which the client
retries and the pager eventually isolates to the one bad record and quarantines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extract.decode.columns import (
    ColumnError,
    Conversion,
    Converted,
    conversion_for,
    conversion_for_arrow,
    convert_columns,
)
from extract.decode.structs import Path, StructNode, envelope, plan_structs
from extract.errors import BadPayload
from extract.schema.plan import PARENT, Column, EntityPlan, TablePlan
from extract.schema.privacy import PrivacyPolicy

__all__ = ["DecodedPage", "KeyDecoder", "PageDecoder"]


@dataclass(slots=True)
class DecodedPage:
    """One decoded page (satisfies :class:`extract.paging.cursors.DecodedPage`).

    Attributes:
        row_count: Top-level rows on the page.
        last_key: Key of the last top-level row in page order, ``None`` on an empty page.
        next_link: ``@odata.nextLink`` if the server sent one.
        count: ``@odata.count`` if asked for.
        tables: Raw table name -> Arrow table, columns in plan order, typed exactly.
        max_cursor: Max of ``coalesce(<cursor fields>)`` over the page (for logs).
        rounded_values: Decimal values with more fractional digits than the declared scale,
            rounded half-even.
    """

    row_count: int
    last_key: tuple[object, ...] | None
    next_link: str | None
    count: int | None
    tables: dict[str, pa.Table]
    max_cursor: datetime | None = None
    rounded_values: int = 0


class PageDecoder:
    """Decode the pages of one entity plan; one decoder serves every page of the plan
    (no state is kept between calls).

    Args:
        plan: The reconciled plan; its tables fix the output columns and their types.
        privacy: Hashes the ``hash`` columns (the same salt for every page of a run).
    """

    def __init__(self, plan: EntityPlan, privacy: PrivacyPolicy) -> None:
        self._plan = plan
        self._privacy = privacy
        self._entity = plan.spec.path
        self._main = plan.main
        self._children = [t for t in plan.tables.values() if t.navigation is not None]
        self._tables = {t.table: _TableBuilder(t, privacy) for t in plan.tables.values()}
        self._root = plan_structs(plan, {name: t.conversions for name, t in self._tables.items()})
        self._decoder = msgspec.json.Decoder(envelope(self._root.struct), strict=False)

    def __call__(self, body: bytes) -> DecodedPage:
        """Decode one response body.

        Raises:
            BadPayload: Invalid/truncated JSON, no ``value`` array, or a value that does not
                fit its declared type (the client retries; the pager quarantines).
        """
        page = _decode(self._decoder, body, self._entity)
        rows: list[Any] = page.value
        root = self._root
        fields = root.transpose(rows)
        values = {path: fields[i] for path, i in root.index.items()}
        for i, sub in root.single.values():
            values.update(sub.columns_with_nulls(fields[i]))
        try:
            main, rounded = self._tables[self._main.table].build(values, {})
            tables = {self._main.table: main}
            for child in self._children:
                i, sub = root.many[child.navigation or ""]
                table, child_rounded = self._child_table(child, sub, fields[i], main)
                tables[child.table] = table
                rounded += child_rounded
        except ColumnError as exc:
            raise BadPayload(f"bad value in page: {exc}", entity=self._entity) from None
        return DecodedPage(
            row_count=len(rows),
            last_key=_last_key(main, self._main.key),
            next_link=page.next_link,
            count=page.count,
            tables=tables,
            max_cursor=_max_cursor(main, self._plan.cursor),
            rounded_values=rounded,
        )

    def _child_table(
        self, plan: TablePlan, sub: StructNode, lists: Sequence[Any], main: pa.Table
    ) -> tuple[pa.Table, int]:
        children = list(chain.from_iterable(x for x in lists if x))
        fields = sub.transpose(children)
        values = {path: fields[i] for path, i in sub.index.items()}
        parents: dict[str, pa.Array | pa.ChunkedArray] = {}
        from_parent = [c for c in plan.columns if c.source[0] == PARENT]
        if from_parent:
            # Row i of the child table belongs to parent row index[i].
            counts = np.fromiter((len(x) if x else 0 for x in lists), np.int64, len(lists))
            index = pa.array(np.repeat(np.arange(len(lists), dtype=np.int64), counts))
            for column in from_parent:
                parents[column.name] = main.column(column.source[1]).take(index)
        return self._tables[plan.table].build(values, parents)


class _TableBuilder:
    """Turns the column values of one table plan into an Arrow table."""

    def __init__(self, plan: TablePlan, privacy: PrivacyPolicy) -> None:
        self.plan = plan
        self.privacy = privacy
        self.schema = pa.schema([pa.field(c.name, c.arrow_type) for c in plan.columns])
        self.conversions = {c.name: _column_conversion(c) for c in plan.columns}
        self._typed = [c for c in plan.columns if c.action == "keep" and c.source[0] != PARENT]

    def build(
        self, values: dict[Path, Sequence[Any]], parents: dict[str, pa.Array | pa.ChunkedArray]
    ) -> tuple[pa.Table, int]:
        typed = convert_columns(
            [self.conversions[c.name] for c in self._typed], [values[c.source] for c in self._typed]
        )
        by_name = {c.name: t for c, t in zip(self._typed, typed, strict=True)}
        arrays: list[pa.Array | pa.ChunkedArray] = []
        for column in self.plan.columns:
            if column.name in parents:
                arrays.append(parents[column.name])
            elif column.action == "hash":
                hashed = self.privacy.hash_values(values[column.source])
                arrays.append(pa.array(hashed, pa.string()))
            else:
                arrays.append(by_name[column.name].array)
        rounded = sum(t.rounded for t in typed)
        return pa.Table.from_arrays(arrays, schema=self.schema), rounded


class KeyDecoder:
    """Decode key-only pages (``$select=<key>``) for forgotten-record and key sweeps.

    Args:
        key: Key property names.
        key_types: Arrow type per key property (as in the plan's columns). String keys are
            kept as sent.

    Raises:
        ValueError: No key, a type count that does not match, or an unsupported type.
    """

    def __init__(self, key: tuple[str, ...], key_types: tuple[pa.DataType, ...]) -> None:
        if not key or len(key) != len(key_types):
            raise ValueError("KeyDecoder needs one Arrow type per key column")
        self._key = key
        self._conversions = [
            conversion_for_arrow(k, t) for k, t in zip(key, key_types, strict=True)
        ]
        scalars: dict[Path, Conversion] = {
            (k,): c for k, c in zip(key, self._conversions, strict=True)
        }
        self._node = StructNode.build("Keys", scalars, {}, {})
        self._decoder = msgspec.json.Decoder(envelope(self._node.struct), strict=False)
        self._schema = pa.schema([pa.field(k, t) for k, t in zip(key, key_types, strict=True)])

    def __call__(self, body: bytes) -> DecodedPage:
        """Decode one key page; ``tables == {"keys": <the key columns>}``.

        Raises:
            BadPayload: As :meth:`PageDecoder.__call__`.
        """
        page = _decode(self._decoder, body, None)
        rows: list[Any] = page.value
        fields = self._node.transpose(rows)
        try:
            converted = convert_columns(self._conversions, fields[: len(self._key)])
        except ColumnError as exc:
            raise BadPayload(f"bad key value in page: {exc}") from None
        keys = pa.Table.from_arrays([c.array for c in converted], schema=self._schema)
        return DecodedPage(
            row_count=len(rows),
            last_key=_last_key(keys, self._key),
            next_link=page.next_link,
            count=page.count,
            tables={"keys": keys},
        )


def _column_conversion(column: Column) -> Conversion:
    if column.action == "hash":
        # Hashed in _TableBuilder.build; the source is decoded as text.
        return Conversion(
            column.name, str | None, None, lambda v: Converted(pa.array(v, pa.string()))
        )
    return conversion_for(column.name, column.edm)


# -- helpers ----------------------------------------------------------------------------


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes, entity: str | None) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise BadPayload(f"page does not match the plan: {exc}", entity=entity) from None
    except msgspec.DecodeError as exc:
        raise BadPayload(f"page is not valid JSON: {exc}", entity=entity) from None


def _last_key(table: pa.Table, key: tuple[str, ...]) -> tuple[object, ...] | None:
    if table.num_rows == 0:
        return None
    last = table.num_rows - 1
    return tuple(table.column(k)[last].as_py() for k in key)


def _max_cursor(table: pa.Table, cursor: tuple[str, ...]) -> datetime | None:
    if not cursor or table.num_rows == 0:
        return None
    columns = [table.column(c) for c in cursor]
    merged = pc.coalesce(*columns) if len(columns) > 1 else columns[0]
    value = pc.max(merged).as_py()
    return value if isinstance(value, datetime) else None

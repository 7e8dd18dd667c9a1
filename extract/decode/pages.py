"""Decode OData JSON pages into typed Arrow tables, one per raw table of a plan.

Speed matters here (a 500-order page with its lines is ~2,000 rows and a few MB), and there
are two ways of reading a page, which agree on every page both accept:

* first, Arrow's JSON reader (:mod:`extract.decode.arrow_pages`) reads the page straight
  into columns -- the row, each flattened navigation, each expanded collection -- with no
  Python object per row or value; it refuses any page it cannot read exactly (a decimal
  needing rounding, a value of another JSON type, ...);
* such a page (and every page of a plan with a type Arrow cannot read exactly) is decoded
  by ``msgspec`` into Struct types generated for the plan, transposed into columns in C
  (``zip(*map(astuple, rows))``).

Either way the columns are typed by :mod:`extract.decode.tables` with vectorised casts for
timestamps, decimals and GUIDs instead of per-value Python work.

Any problem with a body -- invalid or truncated JSON, no ``value`` array, a value that does
not fit its declared type -- raises :class:`~extract.errors.BadPayload`, which the client
retries and the pager eventually isolates to the one bad record and quarantines.

A page that decodes but breaks the key rules (:mod:`extract.decode.keys`: a null key, a key
twice, a child under the wrong parent) loses only the records concerned: they are returned
as :class:`Rejected`, with what may be kept of them privately (:mod:`extract.decode.private`),
for the run to quarantine, and the rest of the page loads.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from typing import Any

import msgspec
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from extract.decode.arrow_pages import ArrowPageReader, Unsupported
from extract.decode.columns import (
    ColumnError,
    Conversion,
    conversion_for_arrow,
    convert_columns,
)
from extract.decode.keys import ChildRows, PageVerdict, check_page
from extract.decode.private import PrivatePayload, PrivateRecords
from extract.decode.structs import Path, StructNode, envelope, plan_structs
from extract.decode.tables import TableBuilder
from extract.errors import BadPayload
from extract.schema.plan import PARENT, EntityPlan, TablePlan
from extract.schema.privacy import PrivacyPolicy

__all__ = ["DecodedPage", "KeyDecoder", "PageDecoder", "Rejected"]


@dataclass(frozen=True, slots=True)
class Rejected:
    """A record of a page that breaks the key rules: not loaded, to be quarantined.

    Attributes:
        key: Its key as sent (``None`` values where missing).
        reason: Why it was not loaded, one line.
        payload: What may be kept of it (privacy applied).
    """

    key: tuple[object, ...]
    reason: str
    payload: PrivatePayload


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
        rounded: The same, per ``table.column``.
        rejected: Records set aside by the key rules (not in ``tables``).
        notes: Repeated child rows dropped by the key rules, one line each.
    """

    row_count: int
    last_key: tuple[object, ...] | None
    next_link: str | None
    count: int | None
    tables: dict[str, pa.Table]
    max_cursor: datetime | None = None
    rounded_values: int = 0
    rounded: dict[str, int] = field(default_factory=dict)
    rejected: tuple[Rejected, ...] = ()
    notes: tuple[str, ...] = ()


class PageDecoder:
    """Decode the pages of one entity plan; one decoder serves every page of the plan.

    Args:
        plan: The reconciled plan; its tables fix the output columns and their types.
        privacy: Hashes the ``hash`` columns (the same salt for every page of a run).
        arrow: Read pages with Arrow first (:mod:`extract.decode.arrow_pages`); ``False``
            decodes every page the exact ``msgspec`` way (the two agree; tests compare them).

    Attributes:
        rounded: Decimal values rounded to their declared scale so far, per
            ``table.column`` (the one figure kept across pages, for the run's report).
    """

    def __init__(self, plan: EntityPlan, privacy: PrivacyPolicy, *, arrow: bool = True) -> None:
        self._plan = plan
        self._privacy = privacy
        self._entity = plan.spec.path
        self._main = plan.main
        self._children = [t for t in plan.tables.values() if t.navigation is not None]
        self._tables = {t.table: TableBuilder(t, privacy) for t in plan.tables.values()}
        self._root = plan_structs(plan, {name: t.conversions for name, t in self._tables.items()})
        self._decoder = msgspec.json.Decoder(envelope(self._root.struct), strict=False)
        self._arrow = _arrow_reader(plan) if arrow else None
        self.rounded: Counter[str] = Counter()

    def __call__(self, body: bytes) -> DecodedPage:
        """Decode one response body.

        Raises:
            BadPayload: Invalid/truncated JSON, no ``value`` array, or a value that does not
                fit its declared type (the client retries; the pager quarantines).
        """
        built: tuple[_Columns, dict[str, pa.Table], Counter[str]] | None = None
        if self._arrow is not None:
            try:
                read = self._arrow_read(body)
                built = (read, *self._build(read))
            except (Unsupported, ColumnError):
                built = None  # the exact path decides: rounds, counts, or rejects
        if built is None:
            read = self._exact_read(body)
            try:
                built = (read, *self._build(read))
            except ColumnError as exc:
                raise BadPayload(f"bad value in page: {exc}", entity=self._entity) from None
        read, tables, rounded = built
        self.rounded.update(rounded)
        main = tables[self._main.table]
        last_key = _last_key(main, self._main.key)  # the cursor moves past every row sent
        parents = {table: p for table, (_, p) in read.children.items()}
        verdict = check_page(main, self._main.key, self._child_rows(tables, parents))
        rejected: tuple[Rejected, ...] = ()
        if not verdict.clean:
            tables, rejected = self._set_aside(body, tables, parents, verdict)
        return DecodedPage(
            row_count=read.row_count,
            last_key=last_key,
            next_link=read.next_link,
            count=read.count,
            tables=tables,
            max_cursor=_max_cursor(tables[self._main.table], self._plan.cursor),
            rounded_values=sum(rounded.values()),
            rounded=dict(rounded),
            rejected=rejected,
            notes=tuple(f"{self._entity}: {note}" for note in verdict.notes),
        )

    def _arrow_read(self, body: bytes) -> _Columns:
        """The page's columns read by Arrow (:mod:`extract.decode.arrow_pages`)."""
        assert self._arrow is not None
        page = self._arrow(body)
        children = {child.table: page.children[child.navigation or ""] for child in self._children}
        return _Columns(page.row_count, page.next_link, page.count, page.values, children)

    def _exact_read(self, body: bytes) -> _Columns:
        """The page's columns from ``msgspec`` Structs (the exact path)."""
        page = _decode(self._decoder, body, self._entity)
        rows: list[Any] = page.value
        root = self._root
        fields = root.transpose(rows)
        values: dict[Path, Sequence[Any]] = {path: fields[i] for path, i in root.index.items()}
        for i, sub in root.single.values():
            values.update(sub.columns_with_nulls(fields[i]))
        children: dict[str, tuple[dict[Path, Sequence[Any]], np.ndarray]] = {}
        for child in self._children:
            i, node = root.many[child.navigation or ""]
            members = node.transpose(list(chain.from_iterable(x for x in fields[i] if x)))
            own = {path: members[j] for path, j in node.index.items()}
            children[child.table] = (own, _parent_of(fields[i]))
        return _Columns(len(rows), page.next_link, page.count, values, children)

    def _build(self, read: _Columns) -> tuple[dict[str, pa.Table], Counter[str]]:
        """Typed tables from the page's columns (raises :class:`ColumnError`)."""
        main, rounded = self._tables[self._main.table].build(read.values, {})
        tables = {self._main.table: main}
        for child in self._children:
            values, parents = read.children[child.table]
            table, child_rounded = self._child_table(child, values, main, parents)
            tables[child.table] = table
            rounded.update(child_rounded)
        return tables, rounded

    def _child_table(
        self,
        plan: TablePlan,
        values: dict[Path, Sequence[Any]],
        main: pa.Table,
        parents: np.ndarray,
    ) -> tuple[pa.Table, Counter[str]]:
        from_parent: dict[str, pa.Array | pa.ChunkedArray] = {}
        index = pa.array(parents)  # row i of the child belongs to parent index[i]
        for column in plan.columns:
            if column.source[0] == PARENT:
                from_parent[column.name] = main.column(column.source[1]).take(index)
        table, rounded = self._tables[plan.table].build(values, from_parent)
        return _fill_parent_key(table, plan, main, self._main.key, index), rounded

    def _child_rows(
        self, tables: dict[str, pa.Table], parents: dict[str, np.ndarray]
    ) -> list[ChildRows]:
        rows = []
        for child in self._children:
            assert child.parent_key is not None
            own = tuple(
                c.name
                for c in child.columns
                if c.name in child.parent_key and c.source[0] != PARENT
            )
            rows.append(
                ChildRows(
                    child.table,
                    tables[child.table],
                    child.key,
                    child.parent_key,
                    own,
                    parents[child.table],
                )
            )
        return rows

    def _set_aside(
        self,
        body: bytes,
        tables: dict[str, pa.Table],
        parents: dict[str, np.ndarray],
        verdict: PageVerdict,
    ) -> tuple[dict[str, pa.Table], tuple[Rejected, ...]]:
        """The page without the records the key rules set aside, and those records."""
        main = tables[self._main.table]
        out = {self._main.table: _without(main, list(verdict.set_aside))}
        aside = np.array(sorted(verdict.set_aside), dtype=np.int64)
        for child in self._children:
            table = tables[child.table]
            drop = np.isin(parents[child.table], aside)
            drop[verdict.dropped_children.get(child.table, [])] = True
            out[child.table] = table.filter(pa.array(~drop))
        private = PrivateRecords(self._plan, self._privacy)
        sent = _rows_as_sent(body)
        rejected = []
        for i, reason in sorted(verdict.set_aside.items()):
            row = sent[i] if i < len(sent) and isinstance(sent[i], dict) else {}
            key = tuple(main.column(k)[i].as_py() for k in self._main.key)
            rejected.append(Rejected(key, reason, private.record(row)))
        return out, tuple(rejected)


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


@dataclass(slots=True)
class _Columns:
    """A page's values by column source path, however it was read."""

    row_count: int
    next_link: str | None
    count: int | None
    values: dict[Path, Any]
    children: dict[str, tuple[dict[Path, Any], np.ndarray]]
    """Child table -> its values and, per child row, the position of its parent row."""


def _arrow_reader(plan: EntityPlan) -> ArrowPageReader | None:
    """The Arrow path for ``plan``, or ``None`` when a column needs the exact path."""
    try:
        return ArrowPageReader(plan)
    except Unsupported:
        return None


# -- helpers ----------------------------------------------------------------------------


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes, entity: str | None) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise BadPayload(f"page does not match the plan: {exc}", entity=entity) from None
    except msgspec.DecodeError as exc:
        raise BadPayload(f"page is not valid JSON: {exc}", entity=entity) from None


def _last_key(table: pa.Table, key: tuple[str, ...]) -> tuple[object, ...] | None:
    """The key of the last row in page order that has one (rows without are set aside)."""
    for row in range(table.num_rows - 1, -1, -1):
        value = tuple(table.column(k)[row].as_py() for k in key)
        if all(v is not None for v in value):
            return value
    return None


def _parent_of(lists: Sequence[Any]) -> np.ndarray:
    """For each child row (in order), the position of the parent row it is listed under."""
    counts = np.fromiter((len(x) if x else 0 for x in lists), np.int64, len(lists))
    return np.repeat(np.arange(len(lists), dtype=np.int64), counts)


def _fill_parent_key(
    child: pa.Table, plan: TablePlan, main: pa.Table, key: tuple[str, ...], index: pa.Array
) -> pa.Table:
    """A child row that omits its parent key (null) gets the key of the parent it is listed
    under; one naming another parent is left for the key rules to set aside."""
    assert plan.parent_key is not None
    for name, parent in zip(plan.parent_key, key, strict=True):
        at = child.schema.get_field_index(name)
        own = child.column(at)
        if own.null_count == 0:
            continue
        inherited = main.column(parent).take(index).cast(own.type)
        child = child.set_column(at, child.field(at), pc.coalesce(own, inherited))
    return child


def _without(table: pa.Table, rows: list[int]) -> pa.Table:
    keep = np.ones(table.num_rows, dtype=bool)
    keep[rows] = False
    return table.filter(pa.array(keep))


def _rows_as_sent(body: bytes) -> list[Any]:
    """The page's rows as plain JSON (only for the rare page with records set aside)."""
    try:
        rows = orjson.loads(body).get("value")
    except (orjson.JSONDecodeError, AttributeError):
        return []
    return rows if isinstance(rows, list) else []


def _max_cursor(table: pa.Table, cursor: tuple[str, ...]) -> datetime | None:
    if not cursor or table.num_rows == 0:
        return None
    columns = [table.column(c) for c in cursor]
    merged = pc.coalesce(*columns) if len(columns) > 1 else columns[0]
    value = pc.max(merged).as_py()
    return value if isinstance(value, datetime) else None

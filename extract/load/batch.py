"""The batch writer: decoded pages in, one transaction per batch of rows and their state.

A partition hands each decoded page to :meth:`BatchWriter.add` with the partition state
that page leads to. The writer buffers pages and, once ``batch_rows`` rows are buffered,
commits them together with that state in one transaction; :meth:`BatchWriter.flush`
commits what is buffered early (a run stopping on a failure keeps its progress), and
:meth:`BatchWriter.commit` writes the rest with the final state.

A record may come twice within one batch (``$skip`` paging over rows that change, a
look-back that re-reads): the newest copy -- the last in page order -- wins, with its own
children, and a child row twice keeps its last copy (:func:`concat_pages`), so a batch never
inserts a key twice.

Two ways of writing, fixed per pass:

* ``merge`` (incremental sets): rows are merged on the key batch by batch;
* ``replace`` (lookups, reloaded in full): nothing is written until :meth:`commit`, which
  replaces the whole table -- a partial lookup is never committed, so a pass that stops
  early leaves the previous content and state as they were; and a pass that got no row at
  all keeps the previous content unless the source confirmed it is empty.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from extract.decode.keys import repeated_key_rows
from extract.load import meta
from extract.load.merge import merge_batch, replace_all
from extract.load.state import PartitionState
from extract.load.warehouse import Warehouse, qi
from extract.schema.plan import EntityPlan, TablePlan

__all__ = ["BatchWriter", "WriteMode", "concat_pages", "keeps_old_rows"]

WriteMode = Literal["merge", "replace"]


class BatchWriter:
    """Buffers the pages of one partition pass and writes them with their state.

    Args:
        wh: The working database.
        plan: The entity set's plan (raw tables and keys).
        mode: ``merge`` or ``replace`` (see the module docstring).
        batch_rows: Rows (across tables) buffered before a merge batch commits.
        insert_only: ``merge`` mode: raw cannot hold the keys this pass still sends
            (:func:`~extract.load.merge.range_is_empty`), so rows are inserted without
            deleting their keys first.
    """

    def __init__(
        self,
        wh: Warehouse,
        plan: EntityPlan,
        *,
        mode: WriteMode,
        batch_rows: int,
        insert_only: bool = False,
    ) -> None:
        self._wh = wh
        self._insert_only = insert_only
        self._plan = plan
        self._mode = mode
        self._batch_rows = batch_rows
        self._pages: list[dict[str, pa.Table]] = []
        self._rows = 0
        self._state: PartitionState | None = None
        self.commits = 0
        """Transactions written so far."""

    def add(self, tables: dict[str, pa.Table], state: PartitionState) -> None:
        """Buffer one decoded page; ``state`` is where the partition stands after it.

        In ``merge`` mode a full batch commits here, with ``state``.
        """
        self._pages.append(tables)
        self._rows += sum(t.num_rows for t in tables.values())
        self._state = state
        if self._mode == "merge" and self._rows >= self._batch_rows:
            self.flush()

    def flush(self) -> None:
        """Commit the buffered pages with the state they lead to (``merge`` mode only).

        Nothing happens when nothing is buffered, or in ``replace`` mode.
        """
        if self._mode != "merge" or not self._pages:
            return
        merge_batch(
            self._wh,
            self._plan,
            concat_pages(self._pages, self._plan),
            extracted_at=datetime.now(UTC),
            state=self._state,
            insert_only=self._insert_only,
        )
        self.commits += 1
        self._pages, self._rows = [], 0

    def commit(self, state: PartitionState, *, source_empty: bool = False) -> int:
        """Write the rest of the pass with its final ``state`` (``replace``: every page).

        A ``replace`` pass that delivered no row does not empty a table that has rows
        unless the source confirmed it has none (``source_empty``, from ``$count``): an
        empty first page is more often a fault than a lookup emptied at the source. Only
        the state is written then.

        Returns:
            Rows kept that the pass would have removed (0 when it wrote normally).
        """
        tables = concat_pages(self._pages, self._plan) if self._pages else {}
        kept = 0
        if self._mode == "replace" and not _rows(tables, self._plan):
            existing = _existing_rows(self._wh, self._plan)
            kept = existing if keeps_old_rows(0, existing, source_empty=source_empty) else 0
        if kept:
            with self._wh.transaction() as con:
                meta.write_state(con, state)
        elif self._mode == "replace":
            replace_all(self._wh, self._plan, tables, extracted_at=datetime.now(UTC), state=state)
        else:
            merge_batch(
                self._wh,
                self._plan,
                tables,
                extracted_at=datetime.now(UTC),
                state=state,
                insert_only=self._insert_only,
            )
        self.commits += 1
        self._pages, self._rows, self._state = [], 0, state
        return kept


def keeps_old_rows(new_rows: int, old_rows: int, *, source_empty: bool) -> bool:
    """The empty-refresh guard: a full reload that brought no row keeps the rows a table
    has, unless the source confirmed it holds none (``$count`` 0)."""
    return new_rows == 0 and old_rows > 0 and not source_empty


def _rows(tables: dict[str, pa.Table], plan: EntityPlan) -> int:
    main = tables.get(plan.main.table)
    return main.num_rows if main is not None else 0


def _existing_rows(wh: Warehouse, plan: EntityPlan) -> int:
    if plan.main.table not in wh.raw_tables():
        return 0
    [(count,)] = wh.query(f"select count(*) from raw.{qi(plan.main.table)}")
    return int(count)


def concat_pages(pages: list[dict[str, pa.Table]], plan: EntityPlan) -> dict[str, pa.Table]:
    """Concatenate per-page tables into one batch per raw table, each key once.

    A record sent on several pages keeps its last copy and that copy's children; a child
    row sent twice keeps its last copy. (Within one page the decoder's key rules already
    hold: :mod:`extract.decode.keys`.)
    """
    main = plan.main
    newer: set[tuple[object, ...]] = set()
    kept: list[dict[str, pa.Table]] = []
    for page in reversed(pages):
        kept.append(_without_superseded(page, plan, newer))
        newer.update(_keys(page[main.table], main.key))
    acc: dict[str, list[pa.Table]] = {}
    for page in reversed(kept):
        for name, table in page.items():
            acc.setdefault(name, []).append(table)
    out = {name: pa.concat_tables(parts) for name, parts in acc.items()}
    for table in plan.tables.values():
        if table.navigation is not None and table.table in out:
            out[table.table] = _last_copies(out[table.table], table)
    return out


def _keys(table: pa.Table, key: tuple[str, ...]) -> list[tuple[object, ...]]:
    return list(zip(*(table.column(k).to_pylist() for k in key), strict=True))


def _without_superseded(
    page: dict[str, pa.Table], plan: EntityPlan, newer: set[tuple[object, ...]]
) -> dict[str, pa.Table]:
    """``page`` without the records a later page sent again, and without their children."""
    main = plan.main
    keys = _keys(page[main.table], main.key)
    stale = [k in newer for k in keys]
    if not any(stale):
        return page
    out = {main.table: page[main.table].filter(pa.array(np.logical_not(stale)))}
    gone = {k for k, s in zip(keys, stale, strict=True) if s}
    for table in plan.tables.values():
        if table.parent_key is None or table.table not in page:
            continue
        children = page[table.table]
        owners = _keys(children, table.parent_key)
        out[table.table] = children.filter(pa.array([o not in gone for o in owners]))
    return out


def _last_copies(table: pa.Table, plan: TablePlan) -> pa.Table:
    repeats = repeated_key_rows(table, plan.key)
    if not repeats:
        return table
    keep = np.ones(table.num_rows, dtype=bool)
    keep[repeats] = False
    return pc.filter(table, pa.array(keep))

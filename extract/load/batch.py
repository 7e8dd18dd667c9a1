"""The batch writer: decoded pages in, one transaction per batch of rows and their state.

A partition hands each decoded page to :meth:`BatchWriter.add` with the partition state
that page leads to. The writer buffers pages and, once ``batch_rows`` rows are buffered,
commits them together with that state in one transaction; :meth:`BatchWriter.flush`
commits what is buffered early (a run stopping on a failure keeps its progress), and
:meth:`BatchWriter.commit` writes the rest with the final state.

Two ways of writing, fixed per pass:

* ``merge`` (incremental sets): rows are merged on the key batch by batch;
* ``replace`` (lookups, reloaded in full): nothing is written until :meth:`commit`, which
  replaces the whole table -- a partial lookup is never committed, so a pass that stops
  early leaves the previous content and state as they were.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

import pyarrow as pa

from extract.load.merge import merge_batch, replace_all
from extract.load.state import PartitionState
from extract.load.warehouse import Warehouse
from extract.schema.plan import EntityPlan

__all__ = ["BatchWriter", "WriteMode", "concat_pages"]

WriteMode = Literal["merge", "replace"]


class BatchWriter:
    """Buffers the pages of one partition pass and writes them with their state.

    Args:
        wh: The working database.
        plan: The entity set's plan (raw tables and keys).
        mode: ``merge`` or ``replace`` (see the module docstring).
        batch_rows: Rows (across tables) buffered before a merge batch commits.
    """

    def __init__(
        self, wh: Warehouse, plan: EntityPlan, *, mode: WriteMode, batch_rows: int
    ) -> None:
        self._wh = wh
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
            concat_pages(self._pages),
            extracted_at=datetime.now(UTC),
            state=self._state,
        )
        self.commits += 1
        self._pages, self._rows = [], 0

    def commit(self, state: PartitionState) -> None:
        """Write the rest of the pass with its final ``state`` (``replace``: every page)."""
        tables = concat_pages(self._pages) if self._pages else {}
        write = replace_all if self._mode == "replace" else merge_batch
        write(self._wh, self._plan, tables, extracted_at=datetime.now(UTC), state=state)
        self.commits += 1
        self._pages, self._rows, self._state = [], 0, state


def concat_pages(pages: list[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Concatenate per-page tables into one batch per raw table."""
    acc: dict[str, list[pa.Table]] = {}
    for page in pages:
        for name, table in page.items():
            acc.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in acc.items()}

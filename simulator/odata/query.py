"""Select, order, page and expand rows of the store's frames for one request.

Speed matters here (the simulator must not be the bottleneck of the loader benchmarks), so
the expensive parts are computed once per store version and reused:

* the row order of a set under a given ``$filter``/``$orderby`` (an array of row
  positions), so deep ``$skip`` paging slices an array instead of re-filtering the table;
* for each navigation, a join index (:mod:`simulator.odata.expand`), so the children of a
  500-row page are found with two ``searchsorted`` calls.

Rows are gathered into small frames (:class:`~simulator.odata.rows.Rows`) that
:mod:`simulator.odata.serialize` renders to JSON without going through Python objects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from simulator.odata.cache import WeightedLRU
from simulator.odata.expand import Expander
from simulator.odata.filter import compile_filter
from simulator.odata.parse import QueryOptions
from simulator.odata.resolve import effective_orderby, key_predicate, validate
from simulator.odata.rows import Expanded, Page, Rows, StoreLike, gather
from simulator.schema import EntityType

PAGE_SIZE = 500
"""Server page size; a larger ``$top`` is clamped to it (observed on the real API)."""

__all__ = ["PAGE_SIZE", "Expanded", "Page", "QueryEngine", "Rows", "StoreLike"]


class QueryEngine:
    """Answers collection, entity and count queries over a store.

    Args:
        store: the data; the engine holds ``store.lock`` while it reads frames.
        cache_rows: how many row positions the row-order and join-index caches may hold
            together (8 bytes each); the least recently used entries go first.
    """

    def __init__(self, store: StoreLike, *, cache_rows: int = 16_000_000) -> None:
        self.store = store
        self._orders = WeightedLRU(cache_rows)
        self._expander = Expander(store, cache_rows)

    # -- public -------------------------------------------------------------------
    def page(self, namespace: str, set_name: str, options: QueryOptions) -> Page:
        """One page of ``namespace/set_name`` under ``options``.

        Raises:
            ODataError: 400 for options that do not fit the set's type.
        """
        store = self.store
        with store.lock:
            et = store.schema.set_type(namespace, set_name)
            validate(et, options)
            frame = store.frame(namespace, et.name)
            positions = self._positions(namespace, et, frame, options, store.version)
            total = frame.height if positions is None else len(positions)
            skip = options.skip or 0
            limit = PAGE_SIZE if options.top is None else min(options.top, PAGE_SIZE)
            if positions is None:
                page_frame = frame.slice(skip, limit)
            else:
                page_frame = gather(frame, positions[skip : skip + limit])
            rows = self._expander.rows(namespace, et, page_frame, options)
        end = skip + page_frame.height
        remaining = total - end
        if options.top is not None:
            remaining = min(remaining, options.top - page_frame.height)
        if remaining <= 0:
            return Page(rows, total, None, None)
        next_top = None if options.top is None else options.top - page_frame.height
        return Page(rows, total, end, next_top)

    def count(self, namespace: str, set_name: str, options: QueryOptions) -> int:
        """Rows of ``namespace/set_name`` matching ``options.filter``."""
        store = self.store
        with store.lock:
            et = store.schema.set_type(namespace, set_name)
            validate(et, options)
            frame = store.frame(namespace, et.name)
            positions = self._positions(namespace, et, frame, options, store.version)
        return frame.height if positions is None else len(positions)

    def entity(
        self,
        namespace: str,
        set_name: str,
        key: tuple[tuple[str | None, Any], ...],
        options: QueryOptions,
    ) -> Rows | None:
        """The entity with ``key`` (from :func:`~simulator.odata.parse.parse_key_predicate`).

        Returns:
            Rows holding one row, or None if no entity has that key.

        Raises:
            ODataError: 400 if the key does not match the type's key properties.
        """
        store = self.store
        with store.lock:
            et = store.schema.set_type(namespace, set_name)
            validate(et, options)
            predicate = key_predicate(et, key)
            frame = store.frame(namespace, et.name).filter(predicate).head(1)
            if frame.height == 0:
                return None
            return self._expander.rows(namespace, et, frame, options)

    # -- row order ----------------------------------------------------------------
    def _positions(
        self,
        namespace: str,
        et: EntityType,
        frame: pl.DataFrame,
        options: QueryOptions,
        version: int,
    ) -> np.ndarray | None:
        """Row positions in result order, or None for "all rows, key order"."""
        orderby = effective_orderby(et, options.orderby)
        filt = options.filter
        if filt is None and not orderby:
            return None
        cache_key = (namespace, et.name, filt.text if filt else None, orderby, version)
        cached = self._orders.get(cache_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        positions: np.ndarray | None = None
        if filt is not None:
            predicate = compile_filter(filt.node, et)
            # int_range(...).filter broadcasts a constant predicate (``$filter=true``),
            # which arg_where does not
            rows = pl.int_range(pl.len(), dtype=pl.Int64).filter(predicate)
            positions = frame.select(rows).to_series().to_numpy()
        if orderby:
            names = [k.name for k in orderby]
            sub = frame.select(names)
            if positions is not None:
                sub = gather(sub, positions)
            order = (
                sub.select(
                    pl.arg_sort_by(
                        names,
                        descending=[k.descending for k in orderby],
                        # SQL Server puts nulls first ascending and last descending
                        nulls_last=[k.descending for k in orderby],
                        maintain_order=True,
                    )
                )
                .to_series()
                .to_numpy()
            )
            positions = order if positions is None else positions[order]
        result = np.asarray(positions, dtype=np.int64)
        self._orders.put(cache_key, result, max(1, len(result)))
        return result

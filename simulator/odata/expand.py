"""``$expand``: find each parent's related rows through cached join indexes.

For a navigation joined on one column, the index is the target column's values in sorted
order (plus the permutation to frame rows when the frame is not already sorted by it), so
the children of a 500-row page are two ``numpy.searchsorted`` calls and one gather. Indexes
are kept per store version. Composite-key navigations use a plain join.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from simulator.odata.cache import WeightedLRU
from simulator.odata.errors import bad_request
from simulator.odata.filter import compile_filter
from simulator.odata.parse import QueryOptions
from simulator.odata.resolve import effective_orderby, resolve_expand, resolve_select, validate
from simulator.odata.rows import Expanded, Rows, StoreLike, gather
from simulator.schema import EntityType, Navigation

_GROUP = "__odata_group"


class Expander:
    """Builds :class:`Rows` with their expands.

    Args:
        store: the data (callers hold ``store.lock``).
        cache_rows: index entries to keep across versions and navigations.
    """

    def __init__(self, store: StoreLike, cache_rows: int) -> None:
        self.store = store
        self._indexes = WeightedLRU(cache_rows)

    def rows(
        self, namespace: str, et: EntityType, frame: pl.DataFrame, options: QueryOptions
    ) -> Rows:
        """Rows of ``et`` from ``frame`` with ``options``' select and expands applied."""
        select = resolve_select(et, options.select)
        expands = tuple(
            self._expand(namespace, et, frame, et.navigation(item.navigation), item.options)
            for item in resolve_expand(et, options.expand)
        )
        return Rows(et, frame, select, expands)

    def _expand(
        self,
        namespace: str,
        parent: EntityType,
        parent_frame: pl.DataFrame,
        nav: Navigation,
        options: QueryOptions,
    ) -> Expanded:
        target = self.store.schema.entity_type(namespace, nav.target)
        validate(target, options)
        if len(nav.local_keys) != 1:
            return self._expand_by_join(namespace, target, parent_frame, nav, options)
        target_frame = self.store.frame(namespace, target.name)
        order, fk = self._index(namespace, target, target_frame, nav.remote_keys[0])
        values, valid = _join_values(parent_frame[nav.local_keys[0]])
        left = np.searchsorted(fk, values, side="left")
        right = np.searchsorted(fk, values, side="right")
        counts = np.where(valid, right - left, 0)
        if not nav.collection:
            present = counts > 0
            child = gather(target_frame, _through(order, left[present]))
            if options.filter is not None:
                predicate = compile_filter(options.filter.node, target)
                keep = child.select(pl.repeat(True, pl.len()) & predicate).to_series()
                present[present] = keep.to_numpy()
                child = child.filter(keep)
            if options.orderby or options.top is not None or options.skip is not None:
                raise bad_request(
                    f"$orderby, $top and $skip do not apply to the single-valued {nav.name}."
                )
            return Expanded(nav, self.rows(namespace, target, child, options), present=present)
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        positions = np.arange(offsets[-1], dtype=np.int64) + np.repeat(left - offsets[:-1], counts)
        child = gather(target_frame, _through(order, positions))
        child, offsets = _shape_groups(child, offsets, target, options)
        return Expanded(nav, self.rows(namespace, target, child, options), offsets=offsets)

    def _expand_by_join(
        self,
        namespace: str,
        target: EntityType,
        parent_frame: pl.DataFrame,
        nav: Navigation,
        options: QueryOptions,
    ) -> Expanded:
        """Composite-key navigations: a plain join (none is hot enough to need an index)."""
        parents = parent_frame.select(
            [pl.col(lk).alias(rk) for lk, rk in zip(nav.local_keys, nav.remote_keys, strict=True)]
        ).with_row_index(_GROUP)
        joined = parents.join(
            self.store.frame(namespace, target.name), on=list(nav.remote_keys), how="inner"
        ).sort(_GROUP, maintain_order=True)
        counts = np.bincount(joined[_GROUP].to_numpy(), minlength=parent_frame.height)
        if not nav.collection:
            first = joined.unique(_GROUP, keep="first", maintain_order=True).drop(_GROUP)
            return Expanded(nav, self.rows(namespace, target, first, options), present=counts > 0)
        offsets = np.zeros(parent_frame.height + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        child, offsets = _shape_groups(joined.drop(_GROUP), offsets, target, options)
        return Expanded(nav, self.rows(namespace, target, child, options), offsets=offsets)

    def _index(
        self, namespace: str, target: EntityType, frame: pl.DataFrame, column: str
    ) -> tuple[np.ndarray | None, Any]:
        """A join index on ``frame[column]``: ``(order, sorted values)``.

        ``order`` maps positions in the sorted values back to frame rows (nulls left out);
        None when the column is already sorted without nulls, as foreign keys of generated
        child rows usually are. No frame is copied, only one column and one permutation.
        """
        key = (namespace, target.name, column, self.store.version)
        cached = self._indexes.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        series = frame[column]
        order: np.ndarray | None = None
        if series.null_count() or not series.is_sorted():
            order = (
                frame.select(
                    pl.int_range(pl.len(), dtype=pl.Int64)
                    .filter(pl.col(column).is_not_null())
                    .sort_by(pl.col(column).drop_nulls(), maintain_order=True)
                )
                .to_series()
                .to_numpy()
            )
            series = series.gather(order)
        values, _ = _join_values(series)
        result = (order, values)
        self._indexes.put(key, result, max(1, len(values)))
        return result


def _through(order: np.ndarray | None, positions: np.ndarray) -> np.ndarray:
    """Positions in an index's sorted order, as frame rows."""
    return positions if order is None else order[positions]


def _shape_groups(
    child: pl.DataFrame, offsets: np.ndarray, target: EntityType, options: QueryOptions
) -> tuple[pl.DataFrame, np.ndarray]:
    """Apply nested ``$filter``/``$orderby``/``$skip``/``$top`` within each parent's group."""
    if (
        options.filter is None
        and not options.orderby
        and options.top is None
        and options.skip is None
    ):
        return child, offsets
    parents = len(offsets) - 1
    groups = np.repeat(np.arange(parents, dtype=np.int64), np.diff(offsets))
    shaped = child.with_columns(pl.Series(_GROUP, groups))
    if options.filter is not None:
        shaped = shaped.filter(compile_filter(options.filter.node, target))
    orderby = effective_orderby(target, options.orderby)
    if orderby:
        shaped = shaped.sort(
            [_GROUP, *(k.name for k in orderby)],
            descending=[False, *(k.descending for k in orderby)],
            nulls_last=[False, *(k.descending for k in orderby)],
            maintain_order=True,
        )
    if options.top is not None or options.skip is not None:
        rank = pl.int_range(pl.len()).over(_GROUP)
        skip = options.skip or 0
        keep = rank >= skip
        if options.top is not None:
            keep = keep & (rank < skip + options.top)
        shaped = shaped.filter(keep)
    counts = np.bincount(shaped[_GROUP].to_numpy(), minlength=parents)
    new_offsets = np.zeros(parents + 1, dtype=np.int64)
    np.cumsum(counts, out=new_offsets[1:])
    return shaped.drop(_GROUP), new_offsets


def _join_values(series: pl.Series) -> tuple[Any, np.ndarray]:
    """A join column as a numpy array (nulls filled) and its not-null mask."""
    valid = series.is_not_null().to_numpy()
    if series.dtype == pl.String:
        return np.asarray(series.fill_null("").to_list(), dtype=object), valid
    if series.dtype.is_numeric():
        return series.fill_null(0).to_numpy(), valid
    return series.fill_null(strategy="zero").to_numpy(), valid

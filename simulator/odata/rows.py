"""What the query engine hands to the serializer: gathered rows and their expands."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import polars as pl

from simulator.schema import EntityType, Navigation, Schema


class StoreLike(Protocol):
    """What the engine needs from :class:`simulator.store.Store`."""

    schema: Schema
    lock: Any

    @property
    def version(self) -> int: ...

    def frame(self, namespace: str, type_name: str) -> pl.DataFrame: ...


@dataclass(slots=True)
class Rows:
    """Rows of one entity type, ready to render.

    Attributes:
        entity_type: the rows' type.
        frame: the rows in output order, with every column of the type.
        select: the properties to render, in schema order.
        expands: expanded navigations, aligned with ``frame``'s rows.
    """

    entity_type: EntityType
    frame: pl.DataFrame
    select: tuple[str, ...]
    expands: tuple[Expanded, ...] = ()


@dataclass(slots=True)
class Expanded:
    """One expanded navigation of a :class:`Rows`.

    For a collection, the children of parent ``i`` are ``rows.frame[offsets[i]:offsets[i+1]]``.
    For a single-valued navigation, ``present[i]`` says whether parent ``i`` has a target;
    ``rows`` holds the targets of the present parents, in parent order.
    """

    navigation: Navigation
    rows: Rows
    offsets: np.ndarray | None = None
    present: np.ndarray | None = None


@dataclass(slots=True)
class Page:
    """One page of a collection.

    Attributes:
        rows: the page's rows.
        count: rows matching ``$filter`` before ``$top``/``$skip`` (``@odata.count``).
        next_skip: ``$skip`` of the next page, or None on the last page.
        next_top: ``$top`` of the next page if the client gave one, else None.
    """

    rows: Rows
    count: int
    next_skip: int | None
    next_top: int | None


def gather(frame: pl.DataFrame, positions: np.ndarray) -> pl.DataFrame:
    """The rows of ``frame`` at ``positions``, in that order."""
    if len(positions) == 0:
        return frame.clear()
    return frame.select(pl.all().gather(pl.Series(positions, dtype=pl.Int64)))

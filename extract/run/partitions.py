"""Partitions: the units a run extracts concurrently, and the OData filter each one sends.

A partition is an entity set x application (client-wide sets use application 0), and for
the first full load of a big set also a key range. Its filter combines the application
filter, the incremental window and the key range; every value goes through
:func:`extract.paging.odata.odata_literal`, so nothing from config can change a filter's
shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from extract.load.state import PartitionState
from extract.paging.odata import odata_literal
from extract.run.start import PartitionKey
from extract.schema.plan import EntityPlan

__all__ = ["Partition", "SetPlan", "build_filter", "split_range", "window_filter"]


@dataclass(frozen=True)
class SetPlan:
    """An entity set the run loads."""

    plan: EntityPlan
    """Its load plan."""
    resync: bool = False
    """Its source schema changed: every partition re-reads it in full."""
    schema_changes: int = 0
    """Raw columns added, removed or retyped for it in this run."""


@dataclass(frozen=True, slots=True)
class Partition:
    """One unit of extraction: an entity set x application (x key range)."""

    plan: EntityPlan
    """The entity set's load plan."""
    application_id: int
    """The application filtered on; 0 for a client-wide set."""
    header_application_id: int | None
    """The ``applicationId`` header sent (context only)."""
    part: str = ""
    """``''``, or ``r<i>/<n>`` for a key range of a split pass."""
    key_lo: tuple[Any, ...] | None = None
    """Lower key bound (inclusive) of a key range."""
    key_hi: tuple[Any, ...] | None = None
    """Upper key bound (exclusive) of a key range."""
    resync: bool = False
    """The set's source schema changed in this run: re-read it in full."""

    @property
    def entity(self) -> str:
        """``Namespace/EntitySet``."""
        return self.plan.spec.path

    @property
    def key(self) -> PartitionKey:
        """The partition's identity in ``meta.state``."""
        return PartitionKey(self.entity, self.application_id, self.part, self.key_lo, self.key_hi)

    @property
    def label(self) -> str:
        """``Orders/Orders app=1 r0/2``, for logs and task names."""
        app = f" app={self.application_id}" if self.application_id else ""
        part = f" {self.part}" if self.part else ""
        return f"{self.entity}{app}{part}"


def window_filter(plan: EntityPlan, since: datetime) -> str | None:
    """``Updated ge T or (Updated eq null and Created ge T)`` from the plan's cursor fields."""
    t = odata_literal(since)
    cursor = plan.cursor
    if not cursor:
        return None
    if len(cursor) == 1:
        return f"{cursor[0]} ge {t}"
    first, *rest = cursor
    clause = f"{first} ge {t}"
    nulls = [first]
    for field in rest:
        guard = " and ".join(f"{n} eq null" for n in nulls)
        clause += f" or ({guard} and {field} ge {t})"
        nulls.append(field)
    return clause


def build_filter(partition: Partition, state: PartitionState) -> str | None:
    """The ``$filter`` of one pass of ``partition`` (``None`` when it reads everything)."""
    plan = partition.plan
    clauses: list[str] = []
    if partition.application_id and plan.application_filter:
        clauses.append(f"ApplicationId eq {odata_literal(partition.application_id)}")
    if state.pending_mode == "backfill":
        # a backfill reads by business date from pending_since (kept in state for resumes)
        if state.pending_since is not None and plan.backfill_field:
            clauses.append(f"{plan.backfill_field} ge {odata_literal(state.pending_since)}")
    elif state.pending_since is not None:
        window = window_filter(plan, state.pending_since)
        if window:
            clauses.append(f"({window})")
    key = plan.spec.key
    if partition.key_lo is not None:
        clauses.append(f"{key[0]} ge {odata_literal(partition.key_lo[0])}")
    if partition.key_hi is not None:
        clauses.append(f"{key[0]} lt {odata_literal(partition.key_hi[0])}")
    if not clauses:
        return None
    return " and ".join(clauses)


def split_range(lo: int, hi: int, n: int) -> list[tuple[int | None, int | None]]:
    """Split the integer key range [lo, hi] into ``n`` half-open ranges; outer ends open."""
    if n <= 1 or hi - lo < n:
        return [(None, None)]
    step = (hi - lo + 1) // n
    bounds = [lo + i * step for i in range(1, n)]
    edges: list[int | None] = [None, *bounds, None]
    return [(edges[i], edges[i + 1]) for i in range(n)]

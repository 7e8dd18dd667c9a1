"""A partition's incremental state: the committed watermark and the pass under way.

A partition is one entity set x application (x key range during a split pass). Its state
holds the committed ``watermark`` -- the server time at which the last *complete* pass
started -- and, while a pass is under way, the pending window, the kind of pass and the last
key committed. The state row is written in the same transaction as the rows it produced
(:class:`~extract.load.batch.BatchWriter`), so after a kill the next run resumes exactly
after the last committed batch and promotes the watermark only when the pass completes
(never past the start of the pass, never to max(Updated)). Stored in ``meta.state`` by
:mod:`extract.load.meta`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

__all__ = ["PartitionState", "PassKind"]

PassKind = Literal["first", "incremental", "full", "backfill", "resync"]
"""What a pass reads. ``first``: everything, no state yet; ``incremental``: rows changed since
the watermark minus the look-back; ``full``: everything (a full refresh, or a lookup set);
``backfill``: rows whose business date is on or after ``--since``; ``resync``: everything,
because the source schema changed and older rows lack the new columns."""


@dataclass(frozen=True, slots=True)
class PartitionState:
    """One row of ``meta.state``.

    Attributes:
        entity: ``Namespace/EntitySet``.
        application_id: The application filtered on; 0 for a client-wide set.
        part: ``''``, or ``r<i>/<n>`` for a key range of a split pass.
        run_id: The run that wrote the row last.
        updated_at: When it was written.
        watermark: Server time at the start of the last complete pass.
        pending_since: Lower bound of the pass under way (``None``: all rows).
        pending_until: Start of the pass under way (the next watermark).
        pending_mode: The :data:`PassKind` under way; ``None`` when idle.
        last_key: Key of the last committed row of the pass under way.
        key_lo: Lower key bound (inclusive) of a split range.
        key_hi: Upper key bound (exclusive) of a split range.
        rows_in_pass: Rows committed by the pass under way (across resumed runs).
    """

    entity: str
    application_id: int
    part: str
    run_id: str
    updated_at: datetime
    watermark: datetime | None = None
    pending_since: datetime | None = None
    pending_until: datetime | None = None
    pending_mode: str | None = None
    last_key: tuple[Any, ...] | None = None
    key_lo: tuple[Any, ...] | None = None
    key_hi: tuple[Any, ...] | None = None
    rows_in_pass: int = 0

    @property
    def in_progress(self) -> bool:
        """A pass is under way (or planned and not finished)."""
        return self.pending_mode is not None

    def advanced(
        self, last_key: tuple[Any, ...] | None, rows: int, *, at: datetime
    ) -> PartitionState:
        """The state after ``rows`` more rows, the last with key ``last_key``."""
        return replace(
            self, last_key=last_key, rows_in_pass=self.rows_in_pass + rows, updated_at=at
        )

    def completed(self, *, at: datetime, keep_watermark: bool = False) -> PartitionState:
        """The pass finished: promote the pending window's start to the watermark.

        Args:
            at: When.
            keep_watermark: Keep the current watermark instead (a backfill reads by business
                date, so finishing it says nothing about rows changed since).
        """
        return replace(
            self,
            watermark=self.watermark if keep_watermark else self.pending_until,
            pending_since=None,
            pending_until=None,
            pending_mode=None,
            last_key=None,
            rows_in_pass=0,
            updated_at=at,
        )

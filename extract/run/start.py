"""Where a partition's pass starts: resume the pass under way, or begin a new one.

:func:`decide_start` is a pure function of the run mode, the set's kind, whether its schema
just changed and the partition's stored state; a table-driven unit test covers every
combination. The rules:

* **Resume** a pass under way (killed, budget-stopped, or a registered split range) from its
  last committed key -- unless it is an ``incremental`` pass and this run wants more (a full
  refresh, or a resync after a schema change): that pass is restarted in the new kind. A
  lookup set never resumes: it is written whole when its pass completes.
* Otherwise **begin** a pass, by kind: a lookup set is always ``full``; an incremental set
  is ``resync`` after a schema change, ``full`` on ``--full-refresh``, ``backfill`` from the
  ``--since`` date, ``incremental`` from the watermark minus the look-back when it has one,
  and ``first`` when it has none.
* Completing a backfill keeps the watermark the set had (a backfill reads by business date,
  so it says nothing about rows changed since).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from extract.load.state import PartitionState, PassKind
from extract.run.request import RunMode
from extract.schema.catalog import Mode

__all__ = ["PartitionKey", "Start", "decide_start"]


@dataclass(frozen=True, slots=True)
class PartitionKey:
    """Which partition: the state's identity and, for a split range, its key bounds."""

    entity: str
    application_id: int
    part: str = ""
    key_lo: tuple[Any, ...] | None = None
    key_hi: tuple[Any, ...] | None = None


@dataclass(frozen=True, slots=True)
class Start:
    """How a partition's pass starts.

    Attributes:
        state: The state the pass starts from: ``pending_*`` describe the pass, ``last_key``
            is where a resumed pass continues.
        kind: What the pass reads (``state.pending_mode``).
        resumed: True when an interrupted pass continues.
        keep_watermark: Completing the pass keeps the current watermark.
    """

    state: PartitionState
    kind: PassKind
    resumed: bool
    keep_watermark: bool


def decide_start(
    existing: PartitionState | None,
    partition: PartitionKey,
    *,
    mode: RunMode,
    set_mode: Mode,
    resync: bool,
    since: datetime | None,
    lookback: timedelta,
    run_id: str,
    now: datetime,
) -> Start:
    """Decide where ``partition``'s pass starts (see the module docstring for the rules).

    Args:
        existing: The partition's stored state, if any.
        partition: The partition (identity and split bounds).
        mode: The run's mode.
        set_mode: ``incremental`` set or ``full`` (lookup) set.
        resync: The set's source schema changed in this run: re-read it in full.
        since: The backfill start date.
        lookback: Window re-read before the watermark.
        run_id: The run.
        now: The current time (``updated_at``).

    Returns:
        The start.
    """
    keep = mode == "backfill" and existing is not None and existing.watermark is not None
    if (
        existing is not None
        and existing.in_progress
        and _resumable(existing, mode, set_mode, resync)
    ):
        state = replace(existing, run_id=run_id, updated_at=now)
        return Start(state, _kind(existing.pending_mode), True, keep)
    kind, pass_since = _new_pass(existing, mode, set_mode, resync, since, lookback)
    base = existing or PartitionState(
        partition.entity, partition.application_id, partition.part, run_id, now
    )
    state = replace(
        base,
        run_id=run_id,
        updated_at=now,
        pending_since=pass_since,
        pending_until=None,
        pending_mode=kind,
        last_key=None,
        key_lo=partition.key_lo,
        key_hi=partition.key_hi,
        rows_in_pass=0,
    )
    return Start(state, kind, False, keep)


def _resumable(existing: PartitionState, mode: RunMode, set_mode: Mode, resync: bool) -> bool:
    if set_mode == "full":
        return False  # a lookup is written whole at the end of its pass: nothing to resume
    if existing.pending_mode != "incremental":
        return True
    return set_mode == "incremental" and mode != "full" and not resync


def _new_pass(
    existing: PartitionState | None,
    mode: RunMode,
    set_mode: Mode,
    resync: bool,
    since: datetime | None,
    lookback: timedelta,
) -> tuple[PassKind, datetime | None]:
    if set_mode == "full":
        return "full", None
    if resync:
        return "resync", None
    if mode == "full":
        return "full", None
    if mode == "backfill":
        return "backfill", since
    if existing is not None and existing.watermark is not None:
        return "incremental", existing.watermark - lookback
    return "first", None


def _kind(pending_mode: str | None) -> PassKind:
    kinds: dict[str | None, PassKind] = {
        "first": "first",
        "incremental": "incremental",
        "full": "full",
        "backfill": "backfill",
        "resync": "resync",
    }
    return kinds.get(pending_mode, "full")

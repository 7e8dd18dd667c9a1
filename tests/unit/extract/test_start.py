"""Where a partition's pass starts: every run mode against every kind of stored state."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from extract.load.state import PartitionState
from extract.run.start import PartitionKey, decide_start

W = datetime(2026, 11, 1, tzinfo=UTC)  # the committed watermark
T = datetime(2026, 11, 1, 6, tzinfo=UTC)  # start of a pass that was interrupted
NOW = datetime(2026, 11, 2, tzinfo=UTC)
LOOKBACK = timedelta(hours=2)
SINCE = datetime(2025, 1, 1, tzinfo=UTC)  # --since of a backfill
ORDERS = "Orders/Orders"

STATES: dict[str, PartitionState | None] = {
    "none": None,
    "complete": PartitionState(ORDERS, 1, "", "old", W, watermark=W),
    # an incremental pass killed after committing 500 rows
    "killed mid-pass": PartitionState(
        ORDERS,
        1,
        "",
        "old",
        T,
        watermark=W,
        pending_since=W - LOOKBACK,
        pending_until=T,
        pending_mode="incremental",
        last_key=(500,),
        rows_in_pass=500,
    ),
    # a first load the request budget stopped after 1,000 rows
    "budget-stopped": PartitionState(
        ORDERS,
        1,
        "",
        "old",
        T,
        pending_until=T,
        pending_mode="first",
        last_key=(1000,),
        rows_in_pass=1000,
    ),
    # a key range of a split first load, registered before any range ran
    "split range": PartitionState(
        ORDERS, 1, "r0/2", "old", T, pending_mode="first", key_hi=(5000,)
    ),
}

# mode -> (request mode, schema changed in this run)
MODES = {
    "first load / incremental": ("incremental", False),
    "full refresh": ("full", False),
    "backfill": ("backfill", False),
    "resync": ("incremental", True),
}

# (mode, state) -> (kind, resumed, pending_since, keep_watermark, last_key)
EXPECTED = {
    ("first load / incremental", "none"): ("first", False, None, False, None),
    ("first load / incremental", "complete"): ("incremental", False, W - LOOKBACK, False, None),
    ("first load / incremental", "killed mid-pass"): (
        "incremental",
        True,
        W - LOOKBACK,
        False,
        (500,),
    ),
    ("first load / incremental", "budget-stopped"): ("first", True, None, False, (1000,)),
    ("first load / incremental", "split range"): ("first", True, None, False, None),
    ("full refresh", "none"): ("full", False, None, False, None),
    ("full refresh", "complete"): ("full", False, None, False, None),
    # an incremental pass under way is restarted as the full pass asked for
    ("full refresh", "killed mid-pass"): ("full", False, None, False, None),
    # a first or full pass under way already reads everything: it continues
    ("full refresh", "budget-stopped"): ("first", True, None, False, (1000,)),
    ("full refresh", "split range"): ("first", True, None, False, None),
    ("backfill", "none"): ("backfill", False, SINCE, False, None),
    # a backfill reads by business date: finishing it keeps the watermark
    ("backfill", "complete"): ("backfill", False, SINCE, True, None),
    ("backfill", "killed mid-pass"): ("incremental", True, W - LOOKBACK, True, (500,)),
    ("backfill", "budget-stopped"): ("first", True, None, False, (1000,)),
    ("backfill", "split range"): ("first", True, None, False, None),
    ("resync", "none"): ("resync", False, None, False, None),
    ("resync", "complete"): ("resync", False, None, False, None),
    ("resync", "killed mid-pass"): ("resync", False, None, False, None),
    ("resync", "budget-stopped"): ("first", True, None, False, (1000,)),
    ("resync", "split range"): ("first", True, None, False, None),
}


def test_the_table_covers_every_combination() -> None:
    assert set(EXPECTED) == {(m, s) for m in MODES for s in STATES}


@pytest.mark.parametrize(("mode", "state"), sorted(EXPECTED))
def test_start_of_an_incremental_set(mode: str, state: str) -> None:
    request_mode, resync = MODES[mode]
    existing = STATES[state]
    part = existing.part if existing is not None else ""
    key = PartitionKey(ORDERS, 1, part, None, (5000,) if part else None)
    start = decide_start(
        existing,
        key,
        mode=request_mode,  # type: ignore[arg-type]
        set_mode="incremental",
        resync=resync,
        since=SINCE,
        lookback=LOOKBACK,
        run_id="new",
        now=NOW,
    )
    kind, resumed, since, keep, last_key = EXPECTED[(mode, state)]
    s = start.state
    assert (start.kind, start.resumed, start.keep_watermark) == (kind, resumed, keep)
    assert (s.pending_mode, s.pending_since, s.last_key) == (kind, since, last_key)
    assert (s.run_id, s.updated_at) == ("new", NOW)
    assert s.watermark == (existing.watermark if existing else None)  # moved only at the end
    if resumed:
        assert existing is not None
        assert (s.pending_until, s.rows_in_pass) == (existing.pending_until, existing.rows_in_pass)
        assert (s.key_lo, s.key_hi) == (existing.key_lo, existing.key_hi)
    else:
        assert (s.pending_until, s.rows_in_pass) == (None, 0)
        assert (s.key_lo, s.key_hi) == (key.key_lo, key.key_hi)


@pytest.mark.parametrize("state", ["none", "complete", "leftover pass"])
@pytest.mark.parametrize("request_mode", ["incremental", "full", "backfill"])
def test_a_lookup_always_starts_a_full_pass(request_mode: str, state: str) -> None:
    stored = {
        "none": None,
        "complete": PartitionState("Core/Currencies", 0, "", "old", W, watermark=W),
        # never written by a lookup any more (it commits whole), but an older run could
        "leftover pass": PartitionState(
            "Core/Currencies", 0, "", "old", T, watermark=W, pending_mode="full", last_key=(3,)
        ),
    }[state]
    start = decide_start(
        stored,
        PartitionKey("Core/Currencies", 0),
        mode=request_mode,  # type: ignore[arg-type]
        set_mode="full",
        resync=False,
        since=SINCE,
        lookback=LOOKBACK,
        run_id="new",
        now=NOW,
    )
    assert (start.kind, start.resumed, start.state.last_key) == ("full", False, None)
    assert start.state.pending_since is None


def test_completing_a_pass_promotes_its_start_unless_told_to_keep_the_watermark() -> None:
    running = replace(STATES["complete"], pending_mode="incremental", pending_until=T)  # type: ignore[arg-type]
    assert running.completed(at=NOW).watermark == T
    kept = running.completed(at=NOW, keep_watermark=True)
    assert kept.watermark == W and kept.pending_mode is None and not kept.in_progress


def test_a_schema_change_wins_over_a_backfill() -> None:
    # A backfill would leave rows before --since without the new columns for good (the
    # change is applied now, so no later run would resync): the whole set is re-read.
    start = decide_start(
        STATES["complete"],
        PartitionKey(ORDERS, 1),
        mode="backfill",
        set_mode="incremental",
        resync=True,
        since=SINCE,
        lookback=LOOKBACK,
        run_id="new",
        now=NOW,
    )
    assert (start.kind, start.state.pending_since, start.keep_watermark) == ("resync", None, True)

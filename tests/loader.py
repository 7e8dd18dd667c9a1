"""Tests drive the loader through its one public API, as the flow does.

:func:`load` is a call of :func:`extract.extract` (plan, load every partition, finish) that
releases the run lock at once -- tests do not build or publish in between. It adds no
orchestration of its own: the flow differs only in passing a Prefect partition runner.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import httpx

from extract import RunMode, RunRequest, RunSummary, extract, in_threads
from extract.run.context import Progress
from extract.settings import Settings


def load(
    settings: Settings,
    *,
    entities: Iterable[str] | None = None,
    applications: Iterable[int] | None = None,
    mode: RunMode = "incremental",
    since: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
) -> RunSummary:
    """One extract run; returns its summary (the run lock is released)."""
    request = RunRequest(
        mode=mode,
        since=since,
        entities=tuple(entities) if entities else None,
        applications=tuple(applications) if applications else None,
    )
    runner = in_threads(workers) if workers else None
    with extract(settings, request, runner=runner, transport=transport, progress=progress) as done:
        return done.summary

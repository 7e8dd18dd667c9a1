"""The extract phase of a run, in one call: the only orchestration of the loader.

:func:`extract` opens an :class:`~extract.run.session.ExtractSession`, plans, loads every
partition through a *partition runner*, finishes, and hands back the summary with the run
lock still held (the caller builds and publishes the working file, then releases it). The
Prefect flow, the CLI (through the flow), the tests and the benchmarks all call it; the flow
only passes a runner that submits each partition as a Prefect task, where the default
runner uses a thread pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from extract.load.locking import RunLock
from extract.run.context import Progress
from extract.run.partitions import Partition
from extract.run.request import RunRequest
from extract.run.results import PartitionResult, RunSummary
from extract.run.session import ExtractSession
from extract.settings import Settings

__all__ = ["Extracted", "PartitionRunner", "extract", "in_threads"]

PartitionRunner = Callable[[ExtractSession, Sequence[Partition]], list[PartitionResult]]
"""Loads every partition (``session.load``), concurrently as it likes; returns the result
that stands for each one, in any order. Must not raise for a partition's failure."""


def in_threads(workers: int | None = None) -> PartitionRunner:
    """A runner loading partitions on a thread pool.

    Args:
        workers: Threads; default: ``NORCE_MAX_INFLIGHT`` (fewer when there are fewer
            partitions). The one throttle caps requests in flight either way.
    """

    def run(session: ExtractSession, partitions: Sequence[Partition]) -> list[PartitionResult]:
        count = workers or max(1, min(len(partitions), session.settings.throttle.max_inflight))
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="extract") as pool:
            return list(pool.map(session.load, partitions))

    return run


@dataclass
class Extracted:
    """A finished extract whose run lock is still held.

    Use as a context manager (or call :meth:`release`): build and publish the working
    database inside, so no other run loads in between.
    """

    summary: RunSummary
    """What the extract did."""
    lock: RunLock
    """The run lock, held until :meth:`release`."""

    def release(self) -> None:
        """Release the run lock (idempotent)."""
        self.lock.release()

    def __enter__(self) -> Extracted:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def extract(
    settings: Settings,
    request: RunRequest | None = None,
    *,
    runner: PartitionRunner | None = None,
    transport: httpx.BaseTransport | None = None,
    progress: Progress | None = None,
    wait_for_lock_s: float = 0.0,
) -> Extracted:
    """Run the extract phase: plan, load every partition, finish; keep the lock.

    Args:
        settings: Validated settings.
        request: What to run (default: incremental, the configured sets and applications).
        runner: How partitions are executed; default :func:`in_threads`.
        transport: httpx transport (tests: ``MockTransport``); default: the network.
        progress: Receives each partition's running figures.
        wait_for_lock_s: How long to wait for another run that holds the warehouse.

    Returns:
        The summary, with the run lock held (release it when the file is published).

    Raises:
        ConfigError, FatalError, StateError, WarehouseError: Problems that stop the run
            before any partition starts (bad config, credentials, a locked warehouse).
            Per-partition failures do not raise; they are in the summary.
    """
    session = ExtractSession.open(
        settings, request, transport=transport, progress=progress, wait_for_lock_s=wait_for_lock_s
    )
    try:
        plan = session.plan()
        results = (runner or in_threads())(session, plan.partitions)
        summary = session.finish(results)
    except BaseException:
        session.close()
        raise
    return Extracted(summary, session.hand_off())

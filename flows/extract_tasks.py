"""The extract phase of a flow run as Prefect tasks: plan, one task per partition, finish.

Partition tasks run concurrently on a thread pool sized to the throttle's in-flight cap and
share one :class:`~extract.runner.Extractor` (one client, one throttle, one warehouse
connection). A partition is retried by Prefect only when it ended on a
:class:`~extract.errors.RetryableError` -- the client already retried each request, so
these retries are few and slow; every other failure is final for the run.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from time import monotonic, sleep
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from extract.config import Settings
from extract.errors import RetryableError, StateError
from extract.partitions import Partition
from extract.results import PartitionResult, RunSummary
from extract.runner import Extractor, RunMode
from extract.stats import RequestStats
from flows.progress import ProgressLog

__all__ = [
    "ExtractRun",
    "PartitionRetry",
    "extract_all",
    "extract_partition",
    "finish_extract",
    "open_extractor",
    "plan_partitions",
]

log = logging.getLogger(__name__)

PARTITION_RETRIES = 2
"""Task-level retries of a partition that ended on a transient error (requests inside it
were already retried by the client)."""
PARTITION_RETRY_DELAYS_S: list[float] = [30.0, 120.0]
"""Slow on purpose: a partition only gets here after the client's own backoff gave up."""
LOCK_POLL_S = 10.0
"""How often a run waiting for the warehouse lock tries again."""


class PartitionRetry(RetryableError):
    """A partition ended on a transient error and will be run again by Prefect."""


def _retry_only_transient(task: Any, task_run: Any, state: State[Any]) -> bool:
    """Prefect ``retry_condition_fn``: retry on :class:`RetryableError`, nothing else."""
    try:
        state.result()
    except RetryableError:
        return True
    except BaseException:
        return False
    return False


def _attempts_left() -> bool:
    ctx = TaskRunContext.get()
    if ctx is None:
        return False
    return ctx.task_run.run_count <= (ctx.task.retries or 0)


class ExtractRun:
    """What the partition tasks of one flow run share: the extractor (one client, one
    throttle, one warehouse connection) and the request counts of attempts that were
    retried, so the run's totals still include every request sent."""

    def __init__(self, extractor: Extractor) -> None:
        self.extractor = extractor
        self._earlier: dict[str, RequestStats] = {}
        self._lock = threading.Lock()

    def set_aside(self, label: str, result: PartitionResult) -> None:
        """Drop a retried attempt from the summary, keeping its request counts."""
        with self._lock:
            self.extractor.summary.partitions.remove(result)
            self._earlier.setdefault(label, RequestStats()).merge(result.stats)

    def fold_in(self, label: str, result: PartitionResult) -> None:
        """Add the counts of earlier attempts to the attempt that stands."""
        with self._lock:
            earlier = self._earlier.pop(label, None)
        if earlier is not None:
            result.stats.merge(earlier)


@task(
    name="extract-partition",
    retries=PARTITION_RETRIES,
    retry_delay_seconds=PARTITION_RETRY_DELAYS_S,
    retry_condition_fn=_retry_only_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def extract_partition(run: ExtractRun, partition: Partition) -> PartitionResult:
    """Extract and load one partition (idempotent: it resumes from committed state).

    Returns:
        The partition's result; a failed result on the last attempt is returned, not
        raised, so the run can finish the other partitions, build and publish.

    Raises:
        PartitionRetry: The partition ended on a transient error and attempts remain.
    """
    result = run.extractor.run_partition(partition)
    if (
        result.status == "failed"
        and result.exit_code == RetryableError.exit_code
        and _attempts_left()
    ):
        # meta.runs keeps a row per attempt; the summary keeps only the attempt that stands.
        run.set_aside(partition.label, result)
        raise PartitionRetry(
            f"{partition.label} failed on a transient error; retrying the partition",
            hint=result.error or "",
        )
    run.fold_in(partition.label, result)
    return result


@task(name="plan-partitions", retries=0, cache_policy=NO_CACHE, persist_result=False)
def plan_partitions(
    extractor: Extractor, entities: list[str] | None, applications: list[int] | None
) -> list[Partition]:
    """Reconcile the catalog with ``$metadata`` and list the partitions to extract."""
    mode = f"{extractor.mode} mode"
    if extractor.mode == "incremental" and not extractor.warehouse.execute(
        "select 1 from meta.state where watermark is not null limit 1"
    ):  # asked before prepare(), which records the partitions it plans
        mode = "first load (no watermarks yet: everything)"
    partitions = extractor.prepare(entities, applications)
    if isinstance(extractor.progress, ProgressLog):
        extractor.progress.expect(len(partitions))
    log.info(
        "run %s: %d partitions, %s, up to %d at a time",
        extractor.run_id,
        len(partitions),
        mode,
        extractor.settings.throttle.max_inflight,
    )
    return partitions


@task(name="finish-extract", retries=0, cache_policy=NO_CACHE, persist_result=False)
def finish_extract(extractor: Extractor) -> RunSummary:
    """Consolidate, purge forgotten and erased records, record the run in ``meta``."""
    return extractor.finish()


def open_extractor(
    settings: Settings, mode: RunMode, since: datetime | None, command: str, wait_s: int
) -> Extractor:
    """Open the run's extractor, waiting up to ``wait_s`` for a run that holds the lock."""
    deadline = monotonic() + max(wait_s, 0)
    while True:
        try:
            return Extractor(
                settings, mode=mode, since=since, progress=ProgressLog(), command=command
            )
        except StateError as exc:
            if monotonic() >= deadline:
                raise
            log.info("%s; waiting (up to %d s in all)", exc.message, wait_s)
            sleep(min(LOCK_POLL_S, max(deadline - monotonic(), 0.0)))


def extract_all(extractor: Extractor, partitions: list[Partition], workers: int) -> None:
    """Submit every partition as a task on a pool sized to the throttle's in-flight cap."""
    # Big incremental sets first so the long poles start early; lookups fill the gaps.
    ordered = sorted(partitions, key=lambda p: (p.plan.spec.mode != "incremental", p.entity))
    run = ExtractRun(extractor)
    runner: ThreadPoolTaskRunner[PartitionResult] = ThreadPoolTaskRunner(
        max_workers=max(1, workers)
    )
    with runner:
        futures: list[PrefectFuture[PartitionResult]] = [
            runner.submit(
                extract_partition.with_options(task_run_name=f"extract {p.label}"),
                {"run": quote(run), "partition": quote(p)},
            )
            for p in ordered
        ]
        for future in futures:
            # Unexpected exceptions (bugs) surface here; per-partition failures do not.
            future.result()

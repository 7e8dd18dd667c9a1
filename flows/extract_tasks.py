"""Partitions as Prefect tasks: the partition runner the flow hands to the loader.

The flow calls :func:`extract.extract` like every other caller; the only thing it adds is
:func:`prefect_partitions`, a partition runner that submits each partition as a task on a
thread pool sized to the throttle's in-flight cap (one loader session, so one throttle
governs every request). A partition is retried by Prefect only when it ended on a
:class:`~extract.errors.RetryableError` -- the client already retried each request, so these
retries are few and slow; every other failure is final for the run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State
from prefect.context import TaskRunContext
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from extract import ExtractSession, Partition, PartitionResult, PartitionRunner, RequestStats
from extract.errors import RetryableError
from flows.progress import ProgressLog

__all__ = ["PartitionAttempts", "PartitionRetry", "extract_partition", "prefect_partitions"]

log = logging.getLogger(__name__)

PARTITION_RETRIES = 2
"""Task-level retries of a partition that ended on a transient error (requests inside it
were already retried by the client)."""
PARTITION_RETRY_DELAYS_S: list[float] = [30.0, 120.0]
"""Slow on purpose: a partition only gets here after the client's own backoff gave up."""


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


class PartitionAttempts:
    """What the partition tasks of one flow run share: the loader session, and the request
    counts of attempts that were retried, so the run's totals include every request sent."""

    def __init__(self, session: ExtractSession) -> None:
        self.session = session
        self._earlier: dict[str, RequestStats] = {}
        self._lock = threading.Lock()

    def set_aside(self, label: str, result: PartitionResult) -> None:
        """Keep a retried attempt's request counts (``meta.runs`` has its row already)."""
        with self._lock:
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
def extract_partition(attempts: PartitionAttempts, partition: Partition) -> PartitionResult:
    """Extract and load one partition (idempotent: it resumes from committed state).

    Returns:
        The partition's result; a failed result on the last attempt is returned, not
        raised, so the run can finish the other partitions, build and publish.

    Raises:
        PartitionRetry: The partition ended on a transient error and attempts remain.
    """
    result = attempts.session.load(partition)
    if (
        result.status == "failed"
        and result.exit_code == RetryableError.exit_code
        and _attempts_left()
    ):
        attempts.set_aside(partition.label, result)
        raise PartitionRetry(
            f"{partition.label} failed on a transient error; retrying the partition",
            hint=result.error or "",
        )
    attempts.fold_in(partition.label, result)
    return result


def prefect_partitions(progress: ProgressLog | None = None) -> PartitionRunner:
    """A partition runner submitting each partition as an ``extract-partition`` task.

    Args:
        progress: Told how many partitions the run has, for its ``k/n done`` figure.
    """

    def run(session: ExtractSession, partitions: Sequence[Partition]) -> list[PartitionResult]:
        if progress is not None:
            progress.expect(len(partitions))
        attempts = PartitionAttempts(session)
        workers = max(1, session.settings.throttle.max_inflight)
        runner: ThreadPoolTaskRunner[PartitionResult] = ThreadPoolTaskRunner(max_workers=workers)
        with runner:
            futures: list[PrefectFuture[PartitionResult]] = [
                runner.submit(
                    extract_partition.with_options(task_run_name=f"extract {p.label}"),
                    {"attempts": quote(attempts), "partition": quote(p)},
                )
                for p in partitions
            ]
            # Unexpected exceptions (bugs) surface here; per-partition failures do not.
            return [future.result() for future in futures]

    return run

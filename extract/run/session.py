"""One run of the loader, step by step: plan → load each partition → finish → hand off.

:class:`ExtractSession` holds a run's resources -- the run lock, one client (one throttle,
one request budget, one token) and one connection to the working database -- and offers the
run's steps. :func:`extract.run.phase.extract` drives them in order; nothing else does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import httpx

from extract.http.client import QueryClient
from extract.load.locking import RunLock
from extract.load.warehouse import Warehouse
from extract.run.context import Progress, RunContext
from extract.run.finishing import finish_run
from extract.run.partition import load_partition
from extract.run.partitions import Partition
from extract.run.planning import RunPlan, plan_run
from extract.run.request import RunRequest
from extract.run.results import PartitionResult, RunSummary
from extract.schema.privacy import PrivacyPolicy
from extract.settings import Settings

__all__ = ["ExtractSession", "new_run_id"]


def new_run_id() -> str:
    """A run id: UTC start time and a random suffix, e.g. ``20261130T120000Z-ab12cd``."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]


class ExtractSession:
    """A run's resources and steps. Open with :meth:`open`; close with :meth:`close` or
    hand the still-held run lock on with :meth:`hand_off`."""

    def __init__(self, ctx: RunContext, lock: RunLock) -> None:
        self._ctx = ctx
        self._lock = lock
        self._plan: RunPlan | None = None
        self._closed = False

    @classmethod
    def open(
        cls,
        settings: Settings,
        request: RunRequest | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
        progress: Progress | None = None,
        wait_for_lock_s: float = 0.0,
    ) -> ExtractSession:
        """Take the run lock, open the client and the working database.

        Args:
            settings: Validated settings.
            request: What to run (default: an incremental run of the configured sets).
            transport: httpx transport (tests: ``MockTransport``); default: the network.
            progress: Receives each partition's running figures.
            wait_for_lock_s: How long to wait for another run that holds the warehouse.

        Raises:
            StateError: Another run holds the warehouse (after waiting).
            WarehouseError: The working database cannot be created or opened.
        """
        request = request or RunRequest()
        lock = RunLock(settings.warehouse.work_database)
        lock.acquire(wait_for_lock_s)
        run_id = new_run_id()
        try:
            client = QueryClient(settings, transport=transport)
            try:
                warehouse = Warehouse(
                    settings.warehouse.work_database,
                    run_id=run_id,
                    memory_limit_mb=settings.warehouse.memory_limit_mb,
                    threads=settings.warehouse.duckdb_threads,
                    checkpoint_mb=settings.warehouse.checkpoint_mb,
                )
            except BaseException:
                client.close()
                raise
        except BaseException:
            lock.release()
            raise
        privacy = PrivacyPolicy(settings.extract.pii_salt.reveal(), settings.extract.pii_overrides)
        ctx = RunContext(
            settings, request, run_id, datetime.now(UTC), client, warehouse, privacy, progress
        )
        return cls(ctx, lock)

    @property
    def run_id(self) -> str:
        """The run's id."""
        return self._ctx.run_id

    @property
    def settings(self) -> Settings:
        """The run's settings."""
        return self._ctx.settings

    def plan(self) -> RunPlan:
        """Reconcile the catalog with ``$metadata`` and list the partitions, in start order.

        A request budget spent while planning gives a plan with no partitions
        (``budget_spent``), not an error.

        Raises:
            ConfigError: Unknown entity set or application id.
            FatalError, RetryableError, DataContractError: Planning failed.
        """
        self._plan = plan_run(self._ctx)
        return self._plan

    def load(self, partition: Partition) -> PartitionResult:
        """Extract and load one partition (thread-safe; never raises for its failures)."""
        return load_partition(self._ctx, partition)

    def finish(self, results: Sequence[PartitionResult]) -> RunSummary:
        """Consolidate, sweep, re-apply erasures and record the run.

        Args:
            results: The result that stands for each partition (one per partition).
        """
        if self._plan is None:
            raise RuntimeError("finish() before plan()")
        return finish_run(self._ctx, self._plan, results)

    def hand_off(self) -> RunLock:
        """Close the client and the working database but keep the run lock.

        The caller builds and publishes the working file next (DuckDB allows one writing
        process per file) and releases the returned lock when done, so no other run can
        load in between.
        """
        self._close_resources()
        return self._lock

    def close(self) -> None:
        """Close everything and release the run lock (idempotent)."""
        self._close_resources()
        self._lock.release()

    def __enter__(self) -> ExtractSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _close_resources(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._ctx.client.close()
        finally:
            self._ctx.warehouse.close()

"""A run's shared resources: what planning, partition loading and finishing all use."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from extract.http.client import QueryClient, RequestContext
from extract.http.retry import RetryPolicy
from extract.http.stats import RequestStats
from extract.load import meta_notes
from extract.load.warehouse import Warehouse
from extract.run.request import RunRequest
from extract.run.results import ProgressEvent
from extract.schema.privacy import PrivacyPolicy
from extract.settings import Settings

__all__ = ["BEST_EFFORT_RETRIES", "Progress", "RunContext"]

log = logging.getLogger("extract.run")

BEST_EFFORT_RETRIES = 1
"""5xx retries of a request for a best-effort set (``EntitySpec.best_effort``)."""

Progress = Callable[[ProgressEvent], None]
"""Receives a partition's running figures (after each page, and when it is done)."""


@dataclass
class RunContext:
    """One run's client, warehouse connection and the figures kept outside partitions.

    Attributes:
        settings: The validated settings.
        request: What the run was asked to do.
        run_id: The run's id (``20261130T120000Z-ab12cd``).
        started_at: When the run started.
        client: The one client (one throttle, one budget, one token) of the run.
        warehouse: The one connection to the working database.
        privacy: Hashes and drops personal fields.
        progress: Where running figures go, if anywhere.
        overhead: Requests outside partitions: ``$metadata``, applications, key bounds,
            sweeps.
        warnings: One line per thing a person should know about the run.
    """

    settings: Settings
    request: RunRequest
    run_id: str
    started_at: datetime
    client: QueryClient
    warehouse: Warehouse
    privacy: PrivacyPolicy
    progress: Progress | None = None
    overhead: RequestStats = field(default_factory=RequestStats)
    warnings: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    """Fallbacks found while loading (after planning), one line each."""
    _no_count: set[str] = field(default_factory=set, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def warn(self, message: str) -> None:
        """Log a warning and keep it for the run summary."""
        log.warning(message)
        with self._lock:
            self.warnings.append(message)

    def count_refused(self, entity: str) -> bool:
        """Whether ``entity`` answered a ``$count`` with 400 earlier in this run."""
        with self._lock:
            return entity in self._no_count

    def refuse_count(self, entity: str) -> None:
        """``entity`` refused ``$count``: say so once, ask no more, record it."""
        with self._lock:
            if entity in self._no_count:
                return
            self._no_count.add(entity)
            line = f"{entity}: $count refused -- loaded rows are not checked against a count"
            self.fallbacks.append(line)
        log.warning(line)
        with self.warehouse.transaction() as con:
            meta_notes.set_capability(con, entity, "count", "no")

    def overhead_context(
        self, entity: str, application_id: int | None = None, *, best_effort: bool = False
    ) -> RequestContext:
        """The request context of a request outside any partition.

        Args:
            entity: What the request is for, in messages.
            application_id: The ``applicationId`` header; ``None``: the run's context one.
            best_effort: One quick retry of 5xx answers (see :meth:`retry_for`).
        """
        return RequestContext(entity, application_id, self.overhead, self.retry_for(best_effort))

    def retry_for(self, best_effort: bool) -> RetryPolicy | None:
        """The retry policy of a best-effort set's requests (one quick retry of 5xx
        answers: such a set must never hold the run up), else ``None`` (the client's)."""
        if not best_effort:
            return None
        policy = self.client.retry
        return replace(policy, page_retries=min(policy.page_retries, BEST_EFFORT_RETRIES))

"""A run's shared resources: what planning, partition loading and finishing all use."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from extract.http.client import QueryClient, RequestContext
from extract.http.stats import RequestStats
from extract.load.warehouse import Warehouse
from extract.run.request import RunRequest
from extract.run.results import ProgressEvent
from extract.schema.privacy import PrivacyPolicy
from extract.settings import Settings

__all__ = ["Progress", "RunContext"]

log = logging.getLogger("extract.run")

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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def warn(self, message: str) -> None:
        """Log a warning and keep it for the run summary."""
        log.warning(message)
        with self._lock:
            self.warnings.append(message)

    def overhead_context(self, entity: str, application_id: int | None) -> RequestContext:
        """The request context of a request outside any partition."""
        return RequestContext(entity, application_id, self.overhead)

"""What a run reports: progress events, per-partition figures and the run summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from extract.http.stats import RequestStats
from extract.schema.capabilities import SetCapabilities

__all__ = ["PartitionResult", "ProgressEvent", "RunSummary", "SkippedSet"]


@dataclass(frozen=True, slots=True)
class SkippedSet:
    """An entity set a run left out, and why (it is named in the output, report, ``meta``).

    Attributes:
        entity: ``Namespace/EntitySet``.
        reason: One line: what failed and what to do.
        exit_code: The exit code of what caused it (as its error would have).
    """

    entity: str
    reason: str
    exit_code: int


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """A partition's running figures: after each page, and once when it is done."""

    partition: str
    rows: int
    pages: int
    done: bool
    status: str = "running"


@dataclass(slots=True)
class PartitionResult:
    """What one attempt at a partition did (also a ``meta.runs`` row)."""

    entity: str
    table: str
    application_id: int
    part: str
    mode: str
    """The kind of pass: first | incremental | full | backfill | resync."""
    status: str = "ok"  # ok | failed | budget | skipped
    rows: int = 0
    pages: int = 0
    source_count: int | None = None
    loaded_count: int = 0
    quarantined: int = 0
    purged: int = 0
    deleted_marked: int = 0
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    stats: RequestStats = field(default_factory=RequestStats)
    error: str | None = None
    exit_code: int = 0

    @property
    def count_match(self) -> bool | None:
        if self.source_count is None:
            return None
        return self.source_count == self.loaded_count

    @property
    def duration_s(self) -> float:
        end = self.finished_at or datetime.now(UTC)
        return (end - self.started_at).total_seconds()


@dataclass(slots=True)
class RunSummary:
    """What a whole extract did."""

    run_id: str
    mode: str
    """The run's mode: first (no watermark yet) | incremental | full | backfill."""
    started_at: datetime
    finished_at: datetime | None = None
    partitions: list[PartitionResult] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    schema_changes: int = 0
    token_requests: int = 0
    purged: dict[str, int] = field(default_factory=dict)
    overhead: RequestStats = field(default_factory=RequestStats)
    """Requests outside partitions: $metadata, applications, key bounds, sweeps."""
    budget_spent: bool = False
    """The run's request budget ran out (before or during the partitions)."""
    skipped: list[SkippedSet] = field(default_factory=list)
    """Entity sets left out of the run (their ``$metadata``, plan or probe failed)."""
    degraded: list[str] = field(default_factory=list)
    """Why privacy is degraded: sets holding personal data with no forget flag."""
    fallbacks: list[str] = field(default_factory=list)
    """What the run did differently because of what the tenant supports."""
    capabilities: list[SetCapabilities] = field(default_factory=list)
    """What each planned set accepts (learned on first contact, reused since)."""
    application_context: str | None = None
    """Which ``applicationId`` header the run used, and why."""

    @property
    def status(self) -> str:
        """``ok``, ``partial`` (something failed or was skipped, something else loaded),
        ``failed`` (nothing loaded) or ``budget`` (the request budget ran out)."""
        states = {p.status for p in self.partitions}
        if "failed" in states or self.skipped:
            return "partial" if states - {"failed", "skipped"} else "failed"
        if "budget" in states or self.budget_spent:
            return "budget"
        return "ok"

    @property
    def exit_code(self) -> int:
        """The code of what failed (10 when failures differ); 0 when nothing did."""
        codes = [p.exit_code for p in self.partitions if p.status == "failed"]
        codes += [s.exit_code for s in self.skipped]
        if not codes:
            return 0
        return codes[0] if len(set(codes)) == 1 else 10

    def total(self, attr: str) -> int:
        """Sum of a figure over the run; request counters include the planning overhead."""
        if attr in (
            "requests",
            "retries",
            "rate_limited",
            "server_errors",
            "network_errors",
            "bad_payloads",
            "bytes",
            "rate_limit_waits",
        ):
            in_partitions = sum(int(getattr(p.stats, attr)) for p in self.partitions)
            return in_partitions + int(getattr(self.overhead, attr))
        return sum(int(getattr(p, attr)) for p in self.partitions)

    @property
    def rate_limit_wait_s(self) -> float:
        """Seconds spent waiting after 429s, over the run (threads waited together)."""
        return self.overhead.rate_limit_wait_s + sum(
            p.stats.rate_limit_wait_s for p in self.partitions
        )

    @property
    def count_mismatches(self) -> list[PartitionResult]:
        return [p for p in self.partitions if p.count_match is False]

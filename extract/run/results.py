"""What a run reports: progress events, per-partition figures and the run summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from extract.http.stats import RequestStats

__all__ = ["PartitionResult", "ProgressEvent", "RunSummary"]


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
    skipped: dict[str, str] = field(default_factory=dict)
    """Entity sets left out of the run, with the reason."""

    @property
    def status(self) -> str:
        states = {p.status for p in self.partitions}
        if "failed" in states:
            return "partial" if states - {"failed", "skipped"} else "failed"
        if "budget" in states or self.budget_spent:
            return "budget"
        return "ok"

    @property
    def exit_code(self) -> int:
        codes = [p.exit_code for p in self.partitions if p.status == "failed"]
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
        ):
            in_partitions = sum(int(getattr(p.stats, attr)) for p in self.partitions)
            return in_partitions + int(getattr(self.overhead, attr))
        return sum(int(getattr(p, attr)) for p in self.partitions)

    @property
    def count_mismatches(self) -> list[PartitionResult]:
        return [p for p in self.partitions if p.count_match is False]

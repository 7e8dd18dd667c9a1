"""Task wiring of the flow: partitions are retried only on transient errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from prefect import flow

from extract.results import PartitionResult, RunSummary
from extract.stats import RequestStats
from flows.extract_tasks import ExtractRun, extract_partition
from flows.flow import _mode


@dataclass
class FakePartition:
    label: str = "Orders/Orders app=1"


@dataclass
class FakeExtractor:
    """Returns the scripted outcomes in order, appending each to the summary like the real one."""

    outcomes: list[tuple[str, int]]
    summary: RunSummary = field(
        default_factory=lambda: RunSummary("r", "incremental", datetime.now(UTC))
    )
    calls: int = 0

    def run_partition(self, partition: FakePartition) -> PartitionResult:
        status, code = self.outcomes[self.calls]
        self.calls += 1
        stats = RequestStats()
        stats.add(requests=3)
        result = PartitionResult(
            "Orders/Orders",
            "orders",
            1,
            "",
            "incremental",
            status=status,
            exit_code=code,
            rows=10 if status == "ok" else 0,
            stats=stats,
            error=None if status == "ok" else f"failure with exit code {code}",
        )
        self.summary.partitions.append(result)
        return result


def _run(extractor: FakeExtractor, retries: int = 2) -> PartitionResult:
    task = extract_partition.with_options(retries=retries, retry_delay_seconds=0)

    @flow
    def one_partition() -> PartitionResult:
        return task(ExtractRun(extractor), FakePartition())  # type: ignore[arg-type]

    return one_partition()


@pytest.mark.usefixtures("prefect_harness")
def test_transient_failure_is_retried_and_counts_every_request() -> None:
    ex = FakeExtractor([("failed", 5), ("ok", 0)])
    result = _run(ex)
    assert ex.calls == 2
    assert result.status == "ok"
    assert ex.summary.partitions == [result]  # the retried attempt is not in the summary
    assert result.stats.requests == 6  # ... but its requests are counted
    assert ex.summary.status == "ok"


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("code", [2, 3, 4, 6, 7, 8])
def test_fatal_failure_is_not_retried(code: int) -> None:
    ex = FakeExtractor([("failed", code), ("ok", 0)])
    result = _run(ex)
    assert ex.calls == 1
    assert (result.status, result.exit_code) == ("failed", code)


@pytest.mark.usefixtures("prefect_harness")
def test_last_attempt_failure_is_returned_not_raised() -> None:
    ex = FakeExtractor([("failed", 5), ("failed", 5)])
    result = _run(ex, retries=1)
    assert ex.calls == 2
    assert result.status == "failed"
    assert ex.summary.partitions == [result]
    assert result.stats.requests == 6
    assert ex.summary.status == "failed" and ex.summary.exit_code == 5


def test_mode_from_parameters() -> None:
    assert _mode(False, None) == ("incremental", None)
    assert _mode(True, None) == ("full", None)
    mode, since = _mode(False, datetime(2025, 1, 2).date())
    assert mode == "backfill" and since == datetime(2025, 1, 2, tzinfo=UTC)

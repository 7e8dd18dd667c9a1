"""Task wiring of the flow: partitions are retried only on transient errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from prefect import flow

from extract import PartitionResult, RunSummary
from extract.http.stats import RequestStats
from flows.extract_tasks import PartitionAttempts, extract_partition
from flows.flow import _mode


@dataclass
class FakePartition:
    label: str = "Orders/Orders app=1"


@dataclass
class FakeSession:
    """Returns the scripted outcomes in order, as ``ExtractSession.load`` would."""

    outcomes: list[tuple[str, int]]
    calls: int = 0

    def load(self, partition: FakePartition) -> PartitionResult:
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
        return result


def _run(session: FakeSession, retries: int = 2) -> PartitionResult:
    task = extract_partition.with_options(retries=retries, retry_delay_seconds=0)

    @flow
    def one_partition() -> PartitionResult:
        return task(PartitionAttempts(session), FakePartition())  # type: ignore[arg-type]

    return one_partition()


def _summary(result: PartitionResult) -> RunSummary:
    return RunSummary("r", "incremental", datetime.now(UTC), partitions=[result])


@pytest.mark.usefixtures("prefect_harness")
def test_transient_failure_is_retried_and_counts_every_request() -> None:
    ex = FakeSession([("failed", 5), ("ok", 0)])
    result = _run(ex)
    assert ex.calls == 2
    assert result.status == "ok"  # the retried attempt is not the result that stands ...
    assert result.stats.requests == 6  # ... but its requests are counted
    assert _summary(result).status == "ok"


@pytest.mark.usefixtures("prefect_harness")
@pytest.mark.parametrize("code", [2, 3, 4, 6, 7, 8])
def test_fatal_failure_is_not_retried(code: int) -> None:
    ex = FakeSession([("failed", code), ("ok", 0)])
    result = _run(ex)
    assert ex.calls == 1
    assert (result.status, result.exit_code) == ("failed", code)


@pytest.mark.usefixtures("prefect_harness")
def test_last_attempt_failure_is_returned_not_raised() -> None:
    ex = FakeSession([("failed", 5), ("failed", 5)])
    result = _run(ex, retries=1)
    assert ex.calls == 2
    assert result.status == "failed"
    assert result.stats.requests == 6
    summary = _summary(result)
    assert summary.status == "failed" and summary.exit_code == 5


def test_mode_from_parameters() -> None:
    assert _mode(False, None) == ("incremental", None)
    assert _mode(True, None) == ("full", None)
    mode, since = _mode(False, datetime(2025, 1, 2).date())
    assert mode == "backfill" and since == datetime(2025, 1, 2, tzinfo=UTC)

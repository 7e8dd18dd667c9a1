"""Exit codes of flow-level failures, and the progress lines of a long extract."""

from __future__ import annotations

import logging
import pickle
import threading

import pytest

from extract import ProgressEvent
from extract.errors import AuthError, ConfigError, RateLimited, StateError, WarehouseError
from flows.errors import PARTIAL_EXIT_CODE, DbtFailed, RunFailed, exit_code_for
from flows.progress import ProgressLog


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (ConfigError(["x"]), 2),
        (AuthError("refused"), 3),
        (RateLimited("slow down"), 5),
        (StateError("locked"), 7),
        (WarehouseError("disk full"), 8),
        (DbtFailed("dbt build failed"), 9),
        (RunFailed("partial", exit_code=PARTIAL_EXIT_CODE), 10),
        (RunFailed("all failed", exit_code=3), 3),
        (ValueError("bug"), 1),
    ],
)
def test_exit_codes(exc: BaseException, code: int) -> None:
    assert exit_code_for(exc) == code


def test_failures_pickle_without_their_report() -> None:
    # Prefect may pickle a failed run's exception; the report (with locks) stays behind.
    err = RunFailed("2 partition(s) failed", exit_code=10, report=threading.Lock())
    back = pickle.loads(pickle.dumps(err))
    assert (type(back), back.exit_code, back.report, str(back)) == (RunFailed, 10, None, str(err))
    dbt = pickle.loads(pickle.dumps(DbtFailed("dbt build failed", report=threading.Lock())))
    assert dbt.report is None and str(dbt).startswith("dbt build failed -- ")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_logs_totals_on_an_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    progress = ProgressLog(interval_s=10, clock=clock)
    progress.expect(2)
    with caplog.at_level(logging.DEBUG, logger="flows.progress"):
        progress(ProgressEvent("Orders/Orders app=1", 500, 1, done=False))
        clock.now = 5
        progress(ProgressEvent("Orders/Orders app=1", 1000, 2, done=False))  # too soon
        clock.now = 11
        progress(ProgressEvent("Orders/Orders app=2", 500, 1, done=False))  # interval passed
        progress(ProgressEvent("Orders/Orders app=1", 1200, 3, done=True, status="ok"))
    periodic = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert periodic == ["... 1500 rows, 3 pages so far (0/2 partitions done, 11 s, 136 rows/s)"]
    done = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert done == ["[1/2] Orders/Orders app=1 ok: 1200 rows, 3 pages"]
    assert (progress.rows, progress.pages) == (1700, 4)


def test_unexpected_error_line_is_scrubbed_of_secrets() -> None:
    import click
    from click.testing import CliRunner

    from extract.redact import register_secret
    from flows.cli_support import NorceGroup

    secret = "unexpected-canary-3c9e71"
    register_secret(secret)

    @click.group(cls=NorceGroup)
    def group() -> None:
        pass

    @group.command()
    def boom() -> None:
        raise RuntimeError(f"client_secret={secret} went where it should not")

    result = CliRunner().invoke(group, ["boom"])
    assert result.exit_code == 1
    assert "error: unexpected RuntimeError" in result.output
    assert secret not in result.output

    @click.group(cls=NorceGroup)
    @click.pass_context
    def verbose(ctx: click.Context) -> None:
        ctx.meta["norce_verbosity"] = 1

    verbose.add_command(boom)
    result = CliRunner().invoke(verbose, ["boom"])
    assert "Traceback" in result.output and "RuntimeError" in result.output
    assert secret not in result.output

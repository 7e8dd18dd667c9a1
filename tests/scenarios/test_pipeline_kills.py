"""Scenario: the whole pipeline (`norce-wh run`) is SIGKILLed while dbt builds and while it
publishes.

Promise: readers keep the last complete warehouse -- the published file is byte-for-byte
the one before the killed run and opens read-only -- nothing left behind blocks the next
run, and that run publishes marts identical to a clean build over the same source.
"""

from __future__ import annotations

import random
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest

from flows.publish import last_publish
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.scenarios.conftest import (
    CliRun,
    cli_env,
    file_sha256,
    run_cli,
    table_checksums,
    wait_for,
)

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

SEED = 61

Checksums = dict[str, tuple[int, int]]

# dbt.log lines (the file is appended to by every run; only this run's part is read).
DBT_STARTED = "Running with dbt="
DBT_EXECUTING = "Concurrency: "  # logged once the project is parsed, right before node 1
DBT_NODE_DONE = "Finished running node "
DBT_DONE = re.compile(r"Finished running \d+ .* \((?P<seconds>[\d.]+)s\)\.")
DBT_SUMMARY = "dbt build ok"  # the CLI's line once dbt has returned (flows/build.py)

# Marts are compared with table_checksums, which leaves out `_extracted_at` (fct_orders and
# fct_order_lines carry the extraction time of each order: when the loader fetched it, not
# a fact about it), `_load_id` and the reconciliation mart's `summary_as_of` (when Norce's
# summary was read). No other mart column depends on when a run happened:
# recency is measured from the latest order date (macro as_of_date), and dim_date spans to
# current_date, which is the same for every run of this test.


@dataclass(frozen=True)
class Baseline:
    """One complete run (A), then the source changed and a clean build of the new source."""

    server: SimulatorServer
    prefect_home: Path
    api_url: str
    """The session's Prefect API (saves each run starting a temporary one)."""
    complete: Path
    """Warehouse directory after run A: published file, working database, dbt/."""
    published_sha: str
    marts: Checksums
    dbt_seconds: float
    """How long dbt took executing nodes in run A (from dbt.log)."""
    reference_marts: Checksums
    """Marts of a fresh warehouse loaded once from the changed source."""

    def env(self, target: Path) -> dict[str, str]:
        return cli_env(self.server, target, self.prefect_home, self.api_url)


def _log_since(log: Path, offset: int) -> str:
    if not log.exists():
        return ""
    with log.open("rb") as fh:
        if log.stat().st_size >= offset:  # else dbt rotated it: all of it is new
            fh.seek(offset)
        return fh.read().decode("utf-8", "replace")


def _temp_copies(target: Path) -> set[str]:
    """Publish's temp files beside ``target`` (`.<name>.<random>.publishing`)."""
    return {
        p.name
        for p in target.parent.iterdir()
        if p.name.startswith(f".{target.name}.") and p.name.endswith(".publishing")
    }


def _copy_under_way(target: Path) -> Path | None:
    """A temp copy publish has started writing into (non-empty), if there is one now."""
    for name in _temp_copies(target):
        try:
            if (target.parent / name).stat().st_size > 0:
                return target.parent / name
        except FileNotFoundError:
            pass  # renamed over the target or removed between listing and stat
    return None


@pytest.fixture(scope="module")
def baseline(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baseline]:
    from prefect.settings import PREFECT_API_URL

    api_url = PREFECT_API_URL.value()
    assert api_url and api_url.startswith("http://127.0.0.1:")
    sim = Simulator.create(seed=SEED, scale=0.05)
    with SimulatorServer(sim) as server:
        root = tmp_path_factory.mktemp("pipeline-kills")
        home = root / "prefect"
        complete = root / "complete" / "norce.duckdb"
        run_cli(["run"], cli_env(server, complete, home, api_url))
        done = DBT_DONE.search(_log_since(complete.parent / "dbt" / "logs" / "dbt.log", 0))
        assert done is not None

        # The source moves on: time passes, orders progress, new ones arrive, people edit
        # their accounts. Every run below reads this state.
        sim.advance(6 * 3600)
        sim.update_orders(40)
        sim.create_orders(15)
        sim.update_customers(10)
        reference = root / "reference" / "norce.duckdb"
        run_cli(["run"], cli_env(server, reference, home, api_url))

        yield Baseline(
            server=server,
            prefect_home=home,
            api_url=api_url,
            complete=complete.parent,
            published_sha=file_sha256(complete),
            marts=table_checksums(complete, "marts"),
            dbt_seconds=float(done["seconds"]),
            reference_marts=table_checksums(reference, "marts"),
        )


def _copy_of_complete(baseline: Baseline, tmp_path: Path) -> Path:
    """A private copy of the warehouse as run A left it (no process has it open)."""
    shutil.copytree(baseline.complete, tmp_path / "wh", ignore=shutil.ignore_patterns("*.lock"))
    return tmp_path / "wh" / "norce.duckdb"


def _assert_catches_up(baseline: Baseline, target: Path) -> CliRun:
    """The next `norce-wh run` succeeds and publishes the reference marts, no temp left."""
    run = run_cli(["run"], baseline.env(target))
    assert table_checksums(target, "marts") == baseline.reference_marts
    assert _temp_copies(target) == set()
    run_id = re.search(r"^run\s+(\S+)$", run.output, re.MULTILINE)
    published = last_publish(target)
    assert run_id is not None and published is not None
    assert published[0] == run_id[1]
    return run


def test_sigkill_during_dbt_keeps_the_last_complete_warehouse(
    baseline: Baseline, tmp_path: Path
) -> None:
    target = _copy_of_complete(baseline, tmp_path)
    assert baseline.marts != baseline.reference_marts  # the change reaches the marts
    dbt_log = target.parent / "dbt" / "logs" / "dbt.log"
    offset = dbt_log.stat().st_size
    delay = random.Random(SEED).uniform(0.15, 0.75) * baseline.dbt_seconds

    run = CliRun(["run"], baseline.env(target))
    wait_for(lambda: DBT_EXECUTING in _log_since(dbt_log, offset), run, timeout=180)
    executing_at = time.monotonic()
    time.sleep(delay)
    assert run.alive() and not run.said(DBT_SUMMARY)
    run.kill()
    into_dbt = time.monotonic() - executing_at

    # dbt.log is final now: dbt started, ran some nodes and never finished.
    log = _log_since(dbt_log, offset)
    assert DBT_STARTED in log and DBT_DONE.search(log) is None
    assert not run.said(DBT_SUMMARY) and not run.said("published")
    nodes_done = log.count(DBT_NODE_DONE)
    assert nodes_done > 0  # models were being replaced, not just the project parsed
    print(f"killed {into_dbt:.2f} s into dbt's nodes ({nodes_done} finished)")

    # Readers still have run A's warehouse, whole.
    assert file_sha256(target) == baseline.published_sha
    assert table_checksums(target, "marts") == baseline.marts
    assert _temp_copies(target) == set()

    _assert_catches_up(baseline, target)


def test_sigkill_during_publish_keeps_the_previous_file(baseline: Baseline, tmp_path: Path) -> None:
    target = _copy_of_complete(baseline, tmp_path)
    env = baseline.env(target)
    work = target.with_name("norce.work.duckdb")

    caught: tuple[str, int, int] | None = None
    attempts = 0
    while caught is None and attempts < 3:
        attempts += 1
        before_sha = file_sha256(target)
        before_marts = table_checksums(target, "marts")
        run = CliRun(["run"], env)
        # Publish starts after dbt returns: wait for that, then look continuously.
        wait_for(partial(run.said, DBT_SUMMARY), run, timeout=240)
        copying = None
        while run.alive() and copying is None:
            copying = _copy_under_way(target)
        if copying is None:
            assert run.wait() == 0, run.output[-4000:]
            continue  # the run got through publishing between two looks
        run.kill()
        if not copying.exists():
            continue  # renamed into place before the kill landed: a complete publish
        caught = (copying.name, copying.stat().st_size, work.stat().st_size)
        # The kill landed mid-publish; readers keep the previous file, whole.
        assert file_sha256(target) == before_sha
        assert table_checksums(target, "marts") == before_marts

    assert caught is not None, f"no kill landed mid-publish in {attempts} attempts"
    name, copied, size = caught
    print(f"killed mid-publish on attempt {attempts}: {name} held {copied} of {size} bytes")

    _assert_catches_up(baseline, target)

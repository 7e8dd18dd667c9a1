"""Which rows a scheduled ``dbt build`` tests: every row, or the rows loaded since the last build.

A 15-minute run changes a few thousand rows of tables that hold millions; testing every row
of the big facts on every run would make the cycle grow with the table. So the data tests
on the large tables carry a ``where`` config keyed on ``_extracted_at``
(``where: "_extracted_at >= __test_scope_since__"``, see ``dbt_project/macros/test_scope.sql``),
and before each build this module writes the lower bound into ``meta.dbt_test_scope``:

* ``changed``: the start of the last *successful* build. Every row loaded after it (by this
  run's extract, or a ``norce-wh extract`` in between) is tested; a build that failed does
  not move the bound, so rows it could not vouch for are tested again.
* ``full``: no bound, every row. On ``--full-refresh``, on the first build, and when the
  last successful full pass is older than ``NORCE_FULL_TESTS_EVERY_H`` hours (default 24;
  0 tests every row on every run). The full pass is the backstop for rows a build rewrote
  for another reason than a load (a new exchange rate or cost reaching old orders).

After the build the bound is removed again (a ``dbt build`` run by hand tests every row) and
the build is recorded in ``meta.dbt_builds``: when it started and ended, which kind of
tests ran, and whether it succeeded. dbt unit tests (SQL on fixtures, the same result at
any scale) run in CI and on ``--full-refresh``, not in the scheduled cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

import duckdb

__all__ = ["DEFAULT_FULL_TESTS_EVERY_H", "TestPlan", "plan_tests", "record_build"]

DEFAULT_FULL_TESTS_EVERY_H = 24.0
"""Hours between whole-table test passes of the scheduled builds."""

_DDL = (
    "create schema if not exists meta",
    "create table if not exists meta.dbt_test_scope (since timestamptz, kind varchar)",
    """create table if not exists meta.dbt_builds (
        started_at timestamptz not null,
        finished_at timestamptz not null,
        tests varchar not null,
        tests_since timestamptz,
        unit_tests boolean not null,
        success boolean not null
    )""",
)


@dataclass(frozen=True, slots=True)
class TestPlan:
    """What one build tests."""

    __test__ = False  # not a pytest class

    kind: Literal["full", "changed"]
    """``full``: every row; ``changed``: the rows loaded since :attr:`since`."""
    since: datetime | None
    """The lower bound on ``_extracted_at`` of a ``changed`` pass."""
    reason: str
    """Why this kind, for the run report."""
    unit_tests: bool
    """Whether dbt's unit tests run too (``--full-refresh`` only)."""

    def describe(self) -> str:
        """One line for the run report, e.g. ``rows loaded since 2026-12-03 21:40:12 UTC (...)``."""
        if self.kind == "full":
            what = "every row"
        else:
            assert self.since is not None
            what = f"rows loaded since {self.since.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"
        units = "; unit tests too" if self.unit_tests else ""
        return f"{what} ({self.reason}{units})"


def plan_tests(
    work_database: Path, *, full_refresh: bool, every_h: float, now: datetime
) -> TestPlan:
    """Decide what the build about to start tests, and write its bound for the tests to read.

    Args:
        work_database: The working DuckDB file (closed by every other connection).
        full_refresh: The build rebuilds the models from scratch: test every row.
        every_h: Hours after which the next build tests every row again (0: always).
        now: The build's start.

    Returns:
        The plan, also written to ``meta.dbt_test_scope``.
    """
    con = duckdb.connect(str(work_database))
    try:
        for statement in _DDL:
            con.execute(statement)
        last_ok, last_full = con.execute(
            "select max(started_at), max(started_at) filter (where tests = 'full') "
            "from meta.dbt_builds where success"
        ).fetchone() or (None, None)
        plan = _decide(full_refresh, every_h, now, last_ok, last_full)
        con.execute("delete from meta.dbt_test_scope")
        if plan.kind == "changed":
            con.execute("insert into meta.dbt_test_scope values (?, ?)", [plan.since, plan.kind])
    finally:
        con.close()
    return plan


def _decide(
    full_refresh: bool,
    every_h: float,
    now: datetime,
    last_ok: datetime | None,
    last_full: datetime | None,
) -> TestPlan:
    if full_refresh:
        return TestPlan("full", None, "--full-refresh", unit_tests=True)
    if last_ok is None or last_full is None:
        return TestPlan("full", None, "no earlier whole-table pass", unit_tests=False)
    age = now - last_full
    if every_h <= 0 or age >= timedelta(hours=every_h):
        reason = f"last whole-table pass {age.total_seconds() / 3600:.1f} h ago, "
        reason += f"NORCE_FULL_TESTS_EVERY_H={every_h:g}"
        return TestPlan("full", None, reason, unit_tests=False)
    due = (last_full + timedelta(hours=every_h)).astimezone(UTC)
    reason = f"every row again from {due:%Y-%m-%d %H:%M} UTC"
    return TestPlan("changed", last_ok, reason, unit_tests=False)


def record_build(
    work_database: Path, plan: TestPlan, started_at: datetime, *, success: bool
) -> None:
    """Remove the bound (a hand-run ``dbt build`` tests every row) and record the build."""
    con = duckdb.connect(str(work_database))
    try:
        for statement in _DDL:
            con.execute(statement)
        con.execute("delete from meta.dbt_test_scope")
        con.execute(
            "insert into meta.dbt_builds values (?, ?, ?, ?, ?, ?)",
            [started_at, datetime.now(UTC), plan.kind, plan.since, plan.unit_tests, success],
        )
    finally:
        con.close()

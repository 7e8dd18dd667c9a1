"""What a scheduled dbt build tests: every row, or the rows loaded since the last build."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from flows.scoped_tests import plan_tests, record_build

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def _scope(database: Path) -> list[tuple[object, ...]]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute("select since, kind from meta.dbt_test_scope").fetchall()
    finally:
        con.close()


def test_the_first_build_and_a_full_refresh_test_every_row(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    first = plan_tests(database, full_refresh=False, every_h=24, now=NOW)
    assert (first.kind, first.since, first.unit_tests) == ("full", None, False)
    assert first.describe().startswith("every row (no earlier whole-table pass")
    assert _scope(database) == []
    refresh = plan_tests(database, full_refresh=True, every_h=24, now=NOW)
    assert (refresh.kind, refresh.unit_tests) == ("full", True)
    assert refresh.describe() == "every row (--full-refresh; unit tests too)"


def test_later_builds_test_what_was_loaded_since_the_last_successful_one(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    full = plan_tests(database, full_refresh=False, every_h=24, now=NOW)
    record_build(database, full, NOW, success=True)
    later = NOW + timedelta(minutes=15)
    scoped = plan_tests(database, full_refresh=False, every_h=24, now=later)
    assert (scoped.kind, scoped.since) == ("changed", NOW)
    assert _scope(database) == [(NOW, "changed")]
    assert scoped.describe().startswith("rows loaded since 2026-12-03 12:00:00 UTC")
    # a failed build does not move the bound: its rows are tested again
    record_build(database, scoped, later, success=False)
    assert _scope(database) == []  # removed after the build: a hand-run build tests all
    again = plan_tests(database, full_refresh=False, every_h=24, now=later + timedelta(minutes=15))
    assert (again.kind, again.since) == ("changed", NOW)


def test_the_whole_table_pass_comes_back_after_the_configured_hours(tmp_path: Path) -> None:
    database = tmp_path / "w.duckdb"
    full = plan_tests(database, full_refresh=False, every_h=24, now=NOW)
    record_build(database, full, NOW, success=True)
    day_later = NOW + timedelta(hours=24)
    due = plan_tests(database, full_refresh=False, every_h=24, now=day_later)
    assert due.kind == "full" and "NORCE_FULL_TESTS_EVERY_H=24" in due.reason
    always = plan_tests(database, full_refresh=False, every_h=0, now=NOW + timedelta(minutes=1))
    assert always.kind == "full"

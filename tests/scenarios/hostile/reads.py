"""Reading what a hostile run left: tables, quarantine rows, traces of a value anywhere."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import duckdb

from tests.scenarios.hostile.cli import CONTROL, Outcome


def rows(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def scalar(db: Path, sql: str, params: list[Any] | None = None) -> Any:
    return rows(db, sql, params)[0][0]


def has_table(db: Path, schema: str, table: str) -> bool:
    return bool(
        scalar(
            db,
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        )
    )


def quarantine(db: Path, entity: str) -> list[dict[str, Any]]:
    """``meta.quarantine`` rows of ``entity`` as dicts (none when the table is absent)."""
    if not has_table(db, "meta", "quarantine"):
        return []
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute("select * from meta.quarantine where entity = ?", [entity])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    finally:
        con.close()


def traces(db: Path, text: str) -> list[str]:
    """Every ``schema.table.column`` of ``db`` whose text contains ``text`` (any case)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type in ('VARCHAR', 'JSON') or data_type like 'STRUCT%' "
            "or data_type like '%[]'"
        ).fetchall()
        found = []
        for schema, table, column in columns:
            hit = con.execute(
                f'select count(*) from "{schema}"."{table}" '
                f'where contains(lower(cast("{column}" as varchar)), lower(?))',
                [text],
            ).fetchone()
            if hit and hit[0]:
                found.append(f"{schema}.{table}.{column}")
        return found
    finally:
        con.close()


def copy_warehouse(source_dir: Path, target_dir: Path) -> Path:
    """A private copy of a warehouse directory (published and working files, no locks)."""
    shutil.copytree(source_dir, target_dir, ignore=shutil.ignore_patterns("*.lock", "dbt"))
    return target_dir / "norce.duckdb"


def last_line(out: Outcome) -> str:
    return next((line for line in reversed(out.lines) if line.strip()), "")


def assert_clean_failure(out: Outcome, *, codes: set[int] | None = None) -> None:
    """The run ended (not hung, not a crash) on one ``error:`` line that says what to do,
    and printed nothing a terminal would act on. (A partial run's report lists each failed
    set's error above that line.)"""
    assert out.code is not None, out.describe()
    assert out.code not in (0, 1), out.describe()
    if codes is not None:
        assert out.code in codes, out.describe()
    last = last_line(out)
    assert last.startswith("error: ") and " -- " in last, out.describe()
    assert not CONTROL.search(out.output), out.describe()


def assert_ended(out: Outcome) -> None:
    """The run ended on its own, without an unexpected-error crash (exit 1)."""
    assert out.code is not None, out.describe()
    assert out.code != 1, out.describe()
    assert "error: unexpected " not in out.output, out.describe()

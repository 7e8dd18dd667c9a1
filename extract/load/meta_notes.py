"""Writes and reads of what a run learned about the tenant and what it had to leave out.

``meta.capabilities``: per entity set (and for the tenant as a whole) what the tenant
accepts, with the hash of the namespace's ``$metadata`` it was learned against, so a later
run reuses it until that document changes. ``meta.run_notices``: per run, the entity sets
skipped (with the reason and exit code), a privacy-degraded set, a fallback taken. Tables:
:mod:`extract.load.meta_tables`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal

import duckdb

__all__ = [
    "CapabilityRow",
    "NoticeKind",
    "NoticeRow",
    "put_capability",
    "read_capabilities",
    "read_notices",
    "set_capability",
    "write_capabilities",
    "write_notices",
]

NoticeKind = Literal["skipped", "degraded", "fallback"]


@dataclass(frozen=True, slots=True)
class CapabilityRow:
    """``meta.capabilities``: one thing learned about the tenant."""

    namespace: str
    entity: str
    capability: str
    value: str
    metadata_hash: str | None
    detail: str | None
    learned_at: datetime
    run_id: str


@dataclass(frozen=True, slots=True)
class NoticeRow:
    """``meta.run_notices``: an entity set skipped, degraded or adapted in one run."""

    run_id: str
    kind: NoticeKind
    entity: str
    detail: str
    exit_code: int | None
    recorded_at: datetime


def write_capabilities(
    con: duckdb.DuckDBPyConnection, namespace: str, entity: str, rows: list[CapabilityRow]
) -> None:
    """Replace what is recorded for ``(namespace, entity)`` with ``rows``."""
    _x(con, "delete from meta.capabilities where namespace = ? and entity = ?", [namespace, entity])
    for row in rows:
        _insert(con, "capabilities", row)


def put_capability(con: duckdb.DuckDBPyConnection, row: CapabilityRow) -> None:
    """Record one capability, replacing what was recorded for it."""
    _x(
        con,
        "delete from meta.capabilities where namespace = ? and entity = ? and capability = ?",
        [row.namespace, row.entity, row.capability],
    )
    _insert(con, "capabilities", row)


def set_capability(
    con: duckdb.DuckDBPyConnection, entity: str, capability: str, value: str
) -> None:
    """Change a recorded capability of ``entity`` (learned while loading, not probing)."""
    _x(
        con,
        "update meta.capabilities set value = ? where entity = ? and capability = ?",
        [value, entity, capability],
    )


def read_capabilities(
    con: duckdb.DuckDBPyConnection, namespace: str | None = None
) -> list[CapabilityRow]:
    """Recorded capabilities (of one namespace, or all), by namespace, entity, capability."""
    names = [f.name for f in fields(CapabilityRow)]
    where, params = ("where namespace = ?", [namespace]) if namespace is not None else ("", [])
    rows = con.execute(
        f"select {', '.join(names)} from meta.capabilities {where} "
        "order by namespace, entity, capability",
        params,
    ).fetchall()
    return [CapabilityRow(*r) for r in rows]


def write_notices(con: duckdb.DuckDBPyConnection, rows: list[NoticeRow]) -> None:
    """Record a run's notices."""
    for row in rows:
        _insert(con, "run_notices", row)


def read_notices(con: duckdb.DuckDBPyConnection, run_id: str) -> list[NoticeRow]:
    """One run's notices, skipped sets first."""
    names = [f.name for f in fields(NoticeRow)]
    rows = con.execute(
        f"select {', '.join(names)} from meta.run_notices where run_id = ? "
        "order by case kind when 'skipped' then 0 when 'degraded' then 1 else 2 end, entity",
        [run_id],
    ).fetchall()
    return [NoticeRow(*r) for r in rows]


def _insert(con: duckdb.DuckDBPyConnection, table: str, row: Any) -> None:
    values = {f.name: getattr(row, f.name) for f in fields(row)}
    columns = ", ".join(f'? as "{name}"' for name in values)
    _x(con, f"insert into meta.{table} by name select {columns}", list(values.values()))


def _x(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> None:
    """Run a statement and drain its result (DuckDB 2 refuses new work while one is open)."""
    con.execute(sql, params or []).fetchall()

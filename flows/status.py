"""``norce-wh status``: what the warehouse holds, read from the published file.

Everything comes from the *published* file, opened read-only, so status works while a run
is writing the working database. Whether a run is under way is read from the run lock
beside the working database.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from extract.errors import WarehouseError
from extract.settings import WarehouseSettings
from flows.render import Section, fmt_age, fmt_count, fmt_time, sections_text
from flows.report import TableFigures, table_figures
from flows.status_tenant import (
    CapabilityLine,
    NoticeLine,
    capabilities_section,
    notices_section,
    read_capabilities,
    read_notices,
)

__all__ = [
    "CapabilityLine",
    "NoticeLine",
    "RunRow",
    "StateRow",
    "WarehouseStatus",
    "read_status",
    "render_status",
]


@dataclass(frozen=True, slots=True)
class RunRow:
    """One entry of ``meta.run_history``."""

    run_id: str
    command: str
    mode: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    rows: int | None
    requests: int | None
    error: str | None


@dataclass(frozen=True, slots=True)
class StateRow:
    """One partition's incremental state (``meta.state``)."""

    entity: str
    application_id: int
    part: str
    watermark: datetime | None
    in_progress: bool


@dataclass(frozen=True, slots=True)
class WarehouseStatus:
    """What ``status`` shows."""

    published: Path
    exists: bool
    published_at: datetime | None = None
    published_run: str | None = None
    size: int = 0
    running: str | None = None
    """Who holds the run lock right now (``pid N, started T``), if anyone."""
    runs: list[RunRow] = field(default_factory=list)
    tables: list[TableFigures] = field(default_factory=list)
    states: list[StateRow] = field(default_factory=list)
    quarantined: int = 0
    erasures: int = 0
    notices: list[NoticeLine] = field(default_factory=list)
    """The last run's skipped sets, degraded privacy and fallbacks."""
    degraded_runs: set[str] = field(default_factory=set)
    """Runs (among ``runs``) whose privacy was degraded."""
    capabilities: list[CapabilityLine] = field(default_factory=list)
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


def read_status(warehouse: WarehouseSettings, *, last_runs: int = 5) -> WarehouseStatus:
    """Read the published warehouse (read-only) and the run lock.

    Args:
        warehouse: Where the files are (no API settings are needed).
        last_runs: How many recent runs to list.

    Raises:
        WarehouseError: The published file exists but cannot be opened.
    """
    target = warehouse.path
    running = _lock_holder(warehouse.work_database)
    if not target.exists():
        return WarehouseStatus(target, exists=False, running=running)
    try:
        con = duckdb.connect(str(target), read_only=True)
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot open the published warehouse {target}: {str(exc).splitlines()[0]}",
            hint="check the file's permissions; re-create it with `norce-wh run`",
        ) from exc
    try:
        status = _read(con, target, running, last_runs)
    finally:
        con.close()
    return replace(status, tables=table_figures(target))


def _read(
    con: duckdb.DuckDBPyConnection, target: Path, running: str | None, last_runs: int
) -> WarehouseStatus:
    """Everything ``status`` shows from ``meta`` (tables that predate a version: empty)."""
    con.execute("SET TimeZone = 'UTC'")
    tables = _present_tables(con)
    publish_row = (
        con.execute(
            "select run_id, published_at from meta.publishes order by published_at desc limit 1"
        ).fetchone()
        if "meta.publishes" in tables
        else None
    )
    runs = (
        [
            RunRow(*row)
            for row in con.execute(
                "select run_id, command, mode, started_at, finished_at, status, rows, "
                "requests, error from meta.run_history order by started_at desc limit ?",
                [last_runs],
            ).fetchall()
        ]
        if "meta.run_history" in tables
        else []
    )
    notices, degraded = read_notices(con, tables, [r.run_id for r in runs])
    return WarehouseStatus(
        published=target,
        exists=True,
        published_at=publish_row[1] if publish_row else None,
        published_run=publish_row[0] if publish_row else None,
        size=target.stat().st_size,
        running=running,
        runs=runs,
        states=_states(con, tables),
        quarantined=_count(con, "meta.quarantine", tables),
        erasures=_count(con, "meta.erasures", tables),
        notices=notices,
        degraded_runs=degraded,
        capabilities=read_capabilities(con, tables),
    )


def _states(con: duckdb.DuckDBPyConnection, present: set[str]) -> list[StateRow]:
    if "meta.state" not in present:
        return []
    return [
        StateRow(entity, app, part, watermark, bool(in_progress))
        for entity, app, part, watermark, in_progress in con.execute(
            "select entity, application_id, part, watermark, pending_until is not null "
            "from meta.state order by entity, application_id, part"
        ).fetchall()
    ]


def _present_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables"
    ).fetchall()
    return {r[0] for r in rows}


def _count(con: duckdb.DuckDBPyConnection, table: str, present: set[str]) -> int:
    if table not in present:
        return 0
    row = con.execute(f"select count(*) from {table}").fetchone()
    return int(row[0]) if row else 0


def _lock_holder(work_database: Path) -> str | None:
    """Who holds the run lock beside the working database, or ``None`` if nobody does.

    On Linux the kernel's lock table (``/proc/locks``) says whether the lock file is held,
    without touching the lock (taking it, even briefly, could make a starting run fail).
    Elsewhere, the pid written in the lock file is checked for being alive, which can be
    wrong for a long-lived ``serve`` process between runs.
    """
    lock = work_database.with_name(work_database.name + ".lock")
    try:
        note = lock.read_text().strip() or "a run"
        st = lock.stat()
    except OSError:
        return None
    try:
        table = Path("/proc/locks").read_text()
    except OSError:
        return note if _pid_alive(note) else None
    device = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    for line in table.splitlines():
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; waiters have a "->" field.
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5] == device:
            return note
    return None


_PID = re.compile(r"pid (\d+)")


def _pid_alive(note: str) -> bool:
    match = _PID.search(note)
    if not match or int(match.group(1)) == os.getpid():
        return False
    try:
        os.kill(int(match.group(1)), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user
    return True


def render_status(status: WarehouseStatus) -> str:
    """``status`` as terminal text."""
    if not status.exists:
        lines = [
            f"No published warehouse at {status.published} yet.",
            "Run `norce-wh run` (or `norce-wh demo` to try it against the simulator).",
        ]
        if status.running:
            lines.append(f"A run is in progress: {status.running}.")
        return "\n".join(lines) + "\n"
    sections = [_overview_section(status), _runs_section(status)]
    if status.notices:
        sections.append(notices_section(status.notices))
    sections += [_tables_section(status), _state_section(status)]
    if status.capabilities:
        sections.append(capabilities_section(status.capabilities))
    return sections_text(sections)


def _overview_section(status: WarehouseStatus) -> Section:
    now = status.now
    return Section(
        "Warehouse",
        ("item", "value"),
        [
            ("published file", str(status.published)),
            ("size", f"{status.size / 1e6:.1f} MB"),
            (
                "published at",
                f"{fmt_time(status.published_at)} ({fmt_age(status.published_at, now)} ago)",
            ),
            ("published run", status.published_run or "-"),
            ("run in progress", f"yes ({status.running})" if status.running else "no"),
            ("quarantined records", fmt_count(status.quarantined)),
            ("erasure requests", fmt_count(status.erasures)),
        ],
    )


def _runs_section(status: WarehouseStatus) -> Section:
    return Section(
        "Last runs",
        ("run", "command", "mode", "started", "seconds", "status", "rows", "requests"),
        [
            (
                r.run_id,
                r.command,
                r.mode,
                fmt_time(r.started_at),
                f"{(r.finished_at - r.started_at).total_seconds():.1f}" if r.finished_at else "-",
                f"{r.status}, DEGRADED" if r.run_id in status.degraded_runs else r.status,
                fmt_count(r.rows),
                fmt_count(r.requests),
            )
            for r in status.runs
        ],
        notes=[f"{r.run_id} error: {r.error.splitlines()[0]}" for r in status.runs if r.error],
    )


def _tables_section(status: WarehouseStatus) -> Section:
    return Section(
        "Tables",
        ("table", "rows", "freshest row", "age"),
        [
            (
                f"{t.schema}.{t.table}",
                fmt_count(t.rows),
                fmt_time(t.freshness),
                fmt_age(t.freshness, status.now),
            )
            for t in status.tables
        ],
    )


def _state_section(status: WarehouseStatus) -> Section:
    return Section(
        "Incremental state",
        ("entity set", "application", "part", "watermark", "age", "pass in progress"),
        [
            (
                s.entity,
                str(s.application_id) if s.application_id else "all",
                s.part or "-",
                fmt_time(s.watermark),
                fmt_age(s.watermark, status.now),
                "yes" if s.in_progress else "no",
            )
            for s in status.states
        ],
    )

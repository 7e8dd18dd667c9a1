"""The figures behind the report's charts, read from a warehouse file.

Two trends: net revenue per day for the last 90 days by application, and rows and seconds
of the last runs. Each comes from one small query function, so a renamed mart column is
changed in one place (:data:`REVENUE_COLUMN`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

__all__ = [
    "REVENUE_COLUMN",
    "RevenueDay",
    "RunPoint",
    "Trends",
    "read_trends",
    "recent_runs",
    "revenue_by_day",
]

REVENUE_COLUMN = "net_revenue_rc"
"""The daily sales mart's net revenue column (reporting currency, net of VAT)."""

REVENUE_DAYS = 90
"""How many days the revenue chart covers, up to the newest order day."""

RECENT_RUNS = 20
"""How many runs the runs chart shows."""


@dataclass(frozen=True, slots=True)
class RevenueDay:
    """Net revenue of one application on one day."""

    day: date
    application: str
    net_revenue: float


@dataclass(frozen=True, slots=True)
class RunPoint:
    """One run of the loader: when, what it loaded, how long its extract took."""

    run_id: str
    started_at: datetime
    rows: int
    seconds: float
    command: str
    status: str


@dataclass(frozen=True, slots=True)
class Trends:
    """What the charts show."""

    revenue: list[RevenueDay] = field(default_factory=list)
    currency: str | None = None
    runs: list[RunPoint] = field(default_factory=list)


def revenue_by_day(
    con: duckdb.DuckDBPyConnection, days: int = REVENUE_DAYS
) -> tuple[list[RevenueDay], str | None]:
    """Net revenue per day and application over the last ``days`` days with orders.

    Returns:
        The points (oldest first) and the reporting currency; empty when the marts are
        not built (``norce-wh extract``).
    """
    if not _exists(con, "marts", "mart_sales_daily"):
        return [], None
    rows = con.execute(
        f"""
        with last as (select max(order_date) as day from marts.mart_sales_daily)
        select order_date, coalesce(application_name, 'application ' || application_id),
               sum({REVENUE_COLUMN}), any_value(reporting_currency_code)
        from marts.mart_sales_daily, last
        where order_date > last.day - ?::integer
        group by all
        order by 1, 2
        """,
        [days],
    ).fetchall()
    currency = next((r[3] for r in rows if r[3]), None)
    return [RevenueDay(r[0], str(r[1]), _float(r[2])) for r in rows], currency


def recent_runs(con: duckdb.DuckDBPyConnection, last: int = RECENT_RUNS) -> list[RunPoint]:
    """The last ``last`` finished runs (oldest first): rows loaded and extract seconds."""
    if not _exists(con, "meta", "run_history"):
        return []
    rows = con.execute(
        """
        select run_id, started_at, coalesce(rows, 0),
               epoch(finished_at) - epoch(started_at), command, status
        from meta.run_history
        where finished_at is not null
        order by started_at desc
        limit ?
        """,
        [last],
    ).fetchall()
    return [RunPoint(r[0], r[1], int(r[2]), _float(r[3]), r[4], r[5]) for r in reversed(rows)]


def read_trends(database: Path) -> Trends:
    """Both trends from ``database`` (opened read-only; nobody may be writing it)."""
    if not Path(database).exists():
        return Trends()
    con = duckdb.connect(str(database), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        revenue, currency = revenue_by_day(con)
        return Trends(revenue=revenue, currency=currency, runs=recent_runs(con))
    finally:
        con.close()


def _exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def _float(value: object) -> float:
    if value is None:
        return 0.0
    if isinstance(value, Decimal | int | float):
        return float(value)
    return float(str(value))

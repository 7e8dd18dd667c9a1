"""Row counts of the loaded Orders tables, for every contender (imports only duckdb)."""

from __future__ import annotations

from pathlib import Path

import duckdb

OURS_TABLES = ("orders", "order_items", "order_infos")
"""Our raw tables for Orders with Items and Infos."""


def table_rows(
    database: Path, schema: str = "raw", tables: tuple[str, ...] = OURS_TABLES
) -> dict[str, int]:
    """Rows in each of ``tables`` (default: our raw Orders tables) of ``schema``."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        out: dict[str, int] = {}
        for table in tables:
            row = con.execute(f"select count(*) from {schema}.{table}").fetchone()
            out[table] = int(row[0]) if row else 0
        return out
    finally:
        con.close()

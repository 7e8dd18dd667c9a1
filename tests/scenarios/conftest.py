"""Shared pieces for reliability scenarios: warehouse checksums and a loader subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[2]

LOADER = """
import sys
from extract.config import load_settings
from extract.runner import run_extract
summary = run_extract(load_settings())
sys.exit(summary.exit_code)
"""


def loader_env(base_url: str, warehouse: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NORCE_")}
    env.update(
        {
            "NORCE_BASE_URL": base_url,
            "NORCE_CLIENT_ID": "demo",
            "NORCE_CLIENT_SECRET": "demo-secret",
            "NORCE_WAREHOUSE": str(warehouse),
            "NORCE_PII_SALT": "scenario-salt",
            "NORCE_MAX_RPS": "300",
            "NORCE_MAX_INFLIGHT": "4",
            "PYTHONPATH": str(REPO),
            **extra,
        }
    )
    return env


def start_loader(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", LOADER],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def table_checksums(database: Path, schema: str = "raw") -> dict[str, tuple[int, int]]:
    """Per table: (rows, order-independent hash of every source column)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        out: dict[str, tuple[int, int]] = {}
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = ? "
                "order by table_name",
                [schema],
            ).fetchall()
        ]
        for table in tables:
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? and column_name not in "
                    "('_load_id', '_extracted_at') order by ordinal_position",
                    [schema, table],
                ).fetchall()
            ]
            args = ", ".join(f'"{c}"' for c in cols)
            row = con.execute(
                f"select count(*), coalesce(sum(hash({args}) % 1000000007), 0) "
                f'from {schema}."{table}"'
            ).fetchall()[0]
            out[table] = (int(row[0]), int(row[1]))
        return out
    finally:
        con.close()

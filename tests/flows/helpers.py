"""Shared helpers for the flow and CLI tests: simulator settings and warehouse reads."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

NORCE_PREFIX = "NORCE_"


def pipeline_env(server: Any, warehouse: Path, **extra: str) -> dict[str, str]:
    """Environment pointing the pipeline at the test simulator and a temp warehouse."""
    apps = server.sim.truth("Core", "Applications").get_column("Id").to_list()
    env = {
        "NORCE_BASE_URL": server.base_url,
        "NORCE_CLIENT_ID": "demo",
        "NORCE_CLIENT_SECRET": "demo-secret",
        "NORCE_APPLICATION_IDS": ",".join(map(str, apps)),
        "NORCE_WAREHOUSE": str(warehouse),
        "NORCE_PII_SALT": "flows-test-salt",
        "NORCE_MAX_RPS": "1000",
        "NORCE_MAX_INFLIGHT": "4",
        # keep a test run short if the simulator misbehaves
        "NORCE_MAX_RETRIES": "2",
    }
    env.update(extra)
    return env


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Replace every NORCE_* variable of the process with ``env``."""
    import os

    for name in list(os.environ):
        if name.startswith(NORCE_PREFIX):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


def query(path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one query against a DuckDB file opened read-only."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()

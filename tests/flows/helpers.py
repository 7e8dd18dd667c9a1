"""Shared helpers for the flow and CLI tests: simulator settings and warehouse reads."""

from __future__ import annotations

from dataclasses import dataclass
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


@dataclass(frozen=True)
class PublishedRun:
    """A ``norce_elt`` run that published (the ``published_run`` fixture), and where."""

    state: Any
    target: Path
    env: dict[str, str]


def artifacts_of(flow_run_id: Any) -> dict[str, Any]:
    """The Prefect artifacts of one flow run, by key."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}

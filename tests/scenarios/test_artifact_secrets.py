"""Scenario: the client secret and the PII salt never reach Prefect or the warehouse.

The flow runs in-process under the session's Prefect API with canary values; everything
Prefect keeps about the run (artifacts, logs, flow and task runs, and the API's database
file itself) and every file the run wrote is searched for them, for a good run and for one
whose secret is refused.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from flows.flow import norce_elt
from simulator.control import Simulator
from simulator.server import SimulatorServer
from tests.flows.helpers import pipeline_env, use_env

pytestmark = [pytest.mark.slow, pytest.mark.scenario, pytest.mark.usefixtures("prefect_harness")]

SECRET = "canary-s3cr3t-a51f0e"
SALT = "canary-salt-c07e19"
CANARIES = (SECRET, SALT)


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    sim = Simulator.create(seed=81, scale=0.02)
    with SimulatorServer(sim, credentials={"demo": SECRET}) as srv:
        yield srv


def _stored_by_prefect(flow_run_id: UUID) -> dict[str, list[str]]:
    """Every text the Prefect API holds about one flow run, by kind."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterId,
        LogFilter,
        LogFilterFlowRunId,
    )
    from prefect.logging.handlers import APILogHandler

    APILogHandler().flush()  # logs are sent in batches by a background worker
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        logs: list[Any] = []
        while True:
            page = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])),
                limit=200,
                offset=len(logs),
            )
            logs += page
            if len(page) < 200:
                break
        flow_run = client.read_flow_run(flow_run_id)
        task_runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id]))
        )
    return {
        "artifacts": [a.model_dump_json() for a in artifacts],
        "artifact keys": [str(a.key) for a in artifacts],
        "logs": [f"{log.name} {log.message}" for log in logs],
        "flow run": [flow_run.model_dump_json()],
        "task runs": [t.model_dump_json() for t in task_runs],
    }


def _assert_no_canary(texts: dict[str, list[str]]) -> None:
    for kind, items in texts.items():
        for text in items:
            for canary in CANARIES:
                assert canary not in text, f"{canary!r} in {kind}: {text[:500]}"


def _assert_no_canary_in_files(*roots: Path) -> int:
    """Search every file under ``roots``; returns how many were read."""
    files = [p for root in roots for p in ([root] if root.is_file() else root.rglob("*"))]
    read = 0
    for path in files:
        if path.is_file():
            data = path.read_bytes()
            read += 1
            for canary in CANARIES:
                assert canary.encode() not in data, f"{canary!r} in {path}"
    return read


def _prefect_database() -> list[Path]:
    """The harness API's SQLite file (and its WAL): all that Prefect persisted."""
    from prefect.settings import PREFECT_SERVER_DATABASE_CONNECTION_URL

    url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    assert url is not None and url.startswith("sqlite+aiosqlite:///")
    db = Path(url.removeprefix("sqlite+aiosqlite:///"))
    assert db.is_file()
    return [p for p in (db, db.with_name(db.name + "-wal")) if p.exists()]


def test_canaries_stay_out_of_prefect_and_the_warehouse(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "wh" / "norce.duckdb"
    use_env(
        monkeypatch,
        pipeline_env(server, target, NORCE_CLIENT_SECRET=SECRET, NORCE_PII_SALT=SALT),
    )
    state = norce_elt(return_state=True)
    assert state.is_completed(), state.message
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None

    texts = _stored_by_prefect(flow_run_id)
    # What is searched is the real record of the run, not an empty answer.
    assert {"norce-elt-report", "norce-elt-entities"} <= set(texts["artifact keys"])
    assert len(texts["logs"]) > 50
    assert any("published" in log for log in texts["logs"])
    assert any("dbt build ok" in log for log in texts["logs"])
    assert len(texts["task runs"]) >= 4  # partitions, dbt-build, publish, report
    _assert_no_canary(texts)

    assert target.is_file()
    read = _assert_no_canary_in_files(target, target.parent, *_prefect_database())
    print(f"searched {sum(map(len, texts.values()))} Prefect records and {read} files")


def test_a_refused_secret_stays_out_of_prefect(
    server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wrong secret contains the canary: any echo of it (error text, request dump,
    # traceback) would show.
    target = tmp_path / "wh" / "norce.duckdb"
    use_env(
        monkeypatch,
        pipeline_env(server, target, NORCE_CLIENT_SECRET=SECRET + "-rotated", NORCE_PII_SALT=SALT),
    )
    state = norce_elt(return_state=True)
    assert state.is_failed()
    flow_run_id = state.state_details.flow_run_id
    assert flow_run_id is not None

    texts = _stored_by_prefect(flow_run_id)
    assert any("credentials" in t.lower() or "auth" in t.lower() for t in texts["flow run"])
    _assert_no_canary(texts)
    _assert_no_canary_in_files(tmp_path, *_prefect_database())

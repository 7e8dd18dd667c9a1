"""The README's "Schedules and a Prefect server" section, step by step, on a real server.

`prefect server start` on 127.0.0.1, a process work pool with a concurrency limit of one,
`prefect deploy --all` from the repository root, `prefect worker start --pool norce`, then
`prefect deployment run 'norce-elt/orders-15min'`; the run's `norce-elt-report` artifact is
read back through the server's REST API and compared with the published warehouse.

The deployment loads only Orders, so it runs on top of the session's published warehouse
(as the 15-minute cadence runs after the first full load). Prefect's home is a temporary
directory; the server's scheduler is off so that no cron of prefect.yaml starts a second
run while the test waits for its own.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.flows.helpers import PublishedRun, pipeline_env, query

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEPLOYMENT = "norce-elt/orders-15min"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class PrefectStack:
    """Processes started as the README says, with their logs in one directory."""

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.home = home
        self.env = env
        self.procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str, *args: str) -> None:
        log = self.home / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [str(BIN / "prefect"), *args],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append((proc, log))

    def run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [str(BIN / "prefect"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"prefect {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{_tail(log)}" for _, log in self.procs)

    def stop(self) -> None:
        for proc, _ in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc, _ in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[PrefectStack]:
    port = _free_port()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "NORCE_"))}
    env = {
        **base,
        "PATH": f"{BIN}{os.pathsep}{base.get('PATH', '')}",
        "PWD": str(ROOT),  # prefect.yaml's pull step is "{{ $PWD }}" at deploy time
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_CLI_PROMPT": "false",
        "DO_NOT_TRACK": "1",
    }
    s = PrefectStack(tmp_path, env)
    try:
        yield s
    finally:
        s.stop()


def _wait_healthy(api: str, stack: PrefectStack, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"prefect server did not start within {timeout:.0f} s\n{stack.logs()}")


def _wait_final(api: str, flow_run_id: str, stack: PrefectStack, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=10).json()
        if (run.get("state") or {}).get("type") in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return run
        time.sleep(1)
    pytest.fail(f"flow run still {run.get('state_name')} after {timeout:.0f} s\n{stack.logs()}")


def test_a_deployment_run_on_a_real_server_reports_what_the_warehouse_holds(
    stack: PrefectStack, published_run: PublishedRun, sim_server: Any, tmp_path: Path
) -> None:
    # The first full load is done (the session's run); this warehouse continues from it.
    target = tmp_path / "warehouse" / "norce.duckdb"
    target.parent.mkdir()
    shutil.copyfile(
        published_run.target.with_suffix(".work.duckdb"), target.with_suffix(".work.duckdb")
    )
    # No new orders: Norce's Reporting summary is reloaded nightly, and the reconciliation
    # test would (rightly) flag orders the summary does not count yet.
    sim_server.sim.advance(120)
    api = stack.env["PREFECT_API_URL"]

    stack.start("server", "server", "start")
    _wait_healthy(api, stack)
    stack.run("work-pool", "create", "norce", "--type", "process")
    stack.run("work-pool", "set-concurrency-limit", "norce", "1")
    stack.run("deploy", "--all", timeout=180)
    stack.env.update(pipeline_env(sim_server, target))  # the worker's NORCE_* settings
    stack.start("worker", "worker", "start", "--pool", "norce")
    out = stack.run("deployment", "run", DEPLOYMENT)
    match = re.search(r"UUID:\s*([0-9a-f-]{36})", out)
    assert match, out
    flow_run_id = match.group(1)

    run = _wait_final(api, flow_run_id, stack, timeout=300)
    assert run["state"]["type"] == "COMPLETED", f"{run['state']}\n{stack.logs()}"

    artifacts = httpx.post(
        f"{api}/artifacts/filter",
        json={"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}},
        timeout=10,
    ).json()
    by_key = {a["key"]: a for a in artifacts}
    assert {"norce-elt-report", "norce-elt-entities"} <= set(by_key)
    markdown = by_key["norce-elt-report"]["data"]

    run_id, requests, rows, mode = query(
        target,
        "select run_id, requests, rows, mode from meta.run_history "
        "order by started_at desc limit 1",
    )[0]
    assert f"# norce-elt run {run_id}: ok" in markdown
    assert f"| API requests | {requests:,} |" in markdown
    assert f"| rows extracted | {rows:,} |" in markdown
    assert mode != "full"
    orders = query(target, "select count(*) from raw.orders where _deleted_at is null")[0][0]
    assert f"| raw.orders | {orders:,} |" in markdown
    assert query(target, "select count(*) from marts.fct_orders")[0][0] == orders
    entities = {row["entity"] for row in _table(by_key["norce-elt-entities"]["data"])}
    assert {"Orders/Orders", "Orders/Invoices", "Orders/DeliveryNotes"} <= entities
    assert "data:image/png;base64," in markdown  # the charts travel with the artifact
    assert target.with_name("norce.report.html").is_file()

    # The section's other way: `norce-wh serve --cadences` registers the same four
    # deployments with the server and serves them from its own process (no work pool).
    _serve_cadences_registers_the_deployments(api, stack)


def _serve_cadences_registers_the_deployments(api: str, stack: PrefectStack) -> None:
    log = stack.home / "serve-cadences.log"
    started = datetime.now(UTC)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "norce-wh"), "serve", "--cadences"],
            cwd=ROOT,
            env=stack.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.procs.append((proc, log))
    names = {"lookups-daily", "products-customers-hourly", "orders-15min", "reporting-nightly"}
    deadline = time.monotonic() + 120
    served: set[str] = set()
    while time.monotonic() < deadline and served != names:
        assert proc.poll() is None, _tail(log)
        found = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
        # serve re-registers (updates) each deployment it serves
        served = {d["name"] for d in found if d["name"] in names and _iso(d["updated"]) > started}
        time.sleep(1)
    assert served == names, f"serve --cadences registered {sorted(served)}\n{_tail(log)}"


def _iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _table(data: Any) -> list[dict[str, Any]]:
    import json

    rows = json.loads(data) if isinstance(data, str) else data
    assert isinstance(rows, list)
    return rows

"""Shared pieces for reliability scenarios: warehouse checksums, a loader subprocess and
`norce-wh` runs in a subprocess."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from tests.flows.helpers import pipeline_env

REPO = Path(__file__).resolve().parents[2]

LOADER = """
import sys
from extract import extract
from extract.settings import load_settings
with extract(load_settings()) as done:
    pass
sys.exit(done.summary.exit_code)
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
                    "('_load_id', '_extracted_at', 'summary_as_of') order by ordinal_position",
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


# --- the whole pipeline (`norce-wh run`) in a subprocess -------------------------------------

NORCE_WH = Path(sys.executable).with_name("norce-wh")
"""The console script of this virtualenv (``norce-wh = flows.cli:main``)."""


def cli_env(
    server: Any, warehouse: Path, prefect_home: Path, api_url: str | None = None, **extra: str
) -> dict[str, str]:
    """Environment for ``norce-wh`` against ``server``, with a private Prefect home.

    With ``api_url`` (e.g. the session's ``prefect_harness`` API) runs report there; without
    it each run starts Prefect's temporary local API (a few seconds more per run). Either
    way Prefect keeps its files in ``prefect_home`` instead of ``~/.prefect``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORCE_", "PREFECT_"))}
    env.update(pipeline_env(server, warehouse, **extra))
    env.update(
        {
            "PREFECT_HOME": str(prefect_home),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_LOGGING_LEVEL": "WARNING",
            "DO_NOT_TRACK": "1",
            "PYTHONPATH": str(REPO),
        }
    )
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    return env


class CliRun:
    """``norce-wh <args>`` in its own process group; a thread collects its output lines.

    The group holds the CLI and the temporary Prefect server it starts, so :meth:`kill`
    takes both down at once, like a host losing the container.
    """

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        command = (
            [str(NORCE_WH), *args]
            if NORCE_WH.exists()
            else [sys.executable, "-c", "from flows.cli import main; main()", *args]
        )
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    @property
    def output(self) -> str:
        return "\n".join(line for _, line in list(self.lines))

    def said(self, text: str) -> bool:
        """True once a line of output contains ``text``."""
        return any(text in line for _, line in list(self.lines))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = 300) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            self._finish()
        return code

    def kill(self) -> None:
        """SIGKILL the whole process group (no handler, no atexit, no cleanup)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._finish()

    def _finish(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=60)
        self._reader.join(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def run_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> CliRun:
    """Run ``norce-wh`` to the end; fails the test unless it exits 0."""
    run = CliRun(args, env)
    code = run.wait(timeout)
    assert code == 0, f"norce-wh {' '.join(args)} exited {code}:\n{run.output[-4000:]}"
    return run


def wait_for(
    condition: Callable[[], bool], run: CliRun, timeout: float, poll: float = 0.05
) -> None:
    """Poll ``condition`` until true; fails if ``run`` exits first or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert run.alive(), f"the run exited ({run.proc.returncode}) first:\n{run.output[-4000:]}"
        assert time.monotonic() < deadline, f"timed out:\n{run.output[-4000:]}"
        time.sleep(poll)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()

"""Run a workload in its own child process and collect its JSON result.

A fresh interpreter per workload keeps each wall time, CPU figure and peak RSS separate
(``ru_maxrss`` is per process) and lets a crashed or hung contender fail alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

DEFAULT_TIMEOUT_S = 1800.0
"""Longest any single workload may take before it is killed."""
DEFAULT_MEMORY_LIMIT_MIB = 8192
"""A child past this resident size is killed: the machine is shared, and a contender that
needs more than a third of it has already lost the memory comparison."""
POLL_S = 0.1


class WorkloadFailed(RuntimeError):
    """A workload raised, crashed or timed out; the message says which and why."""


def _watch(
    process: subprocess.Popen[bytes], workload: str, timeout_s: float, limit_mib: int
) -> None:
    """Wait for the child; kill it (and say why) past the time or memory limit."""
    deadline = time.monotonic() + timeout_s
    watched = psutil.Process(process.pid)
    while process.poll() is None:
        why = None
        if time.monotonic() > deadline:
            why = f"timed out after {timeout_s:.0f} s"
        else:
            try:
                rss_mib = watched.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                rss_mib = 0.0
            if rss_mib > limit_mib:
                why = f"killed at {rss_mib:,.0f} MiB resident (limit {limit_mib:,} MiB)"
        if why is not None:
            process.kill()
            process.wait()
            raise WorkloadFailed(f"{workload}: {why}")
        time.sleep(POLL_S)


def run_child(
    workload: str,
    params: dict[str, Any],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_limit_mib: int = DEFAULT_MEMORY_LIMIT_MIB,
) -> dict[str, Any]:
    """Run ``workload`` (a name in :data:`bench.child.WORKLOADS`) in a child interpreter.

    Args:
        workload: which workload.
        params: JSON-serialisable parameters passed to it.
        timeout_s: kill the child after this long.
        memory_limit_mib: kill the child past this resident size.

    Returns:
        The workload's result dict.

    Raises:
        WorkloadFailed: the workload raised, the child died, or it hit a limit.
    """
    repo = Path(__file__).resolve().parent.parent
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo), env.get("PYTHONPATH")]))
    with tempfile.TemporaryDirectory(prefix="bench-child-") as tmp:
        result_path = Path(tmp) / "result.json"
        log_path = Path(tmp) / "output.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "bench.child", str(result_path)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=repo,
                env=env,
            )
            assert process.stdin is not None
            process.stdin.write(json.dumps({"workload": workload, "params": params}).encode())
            process.stdin.close()
            try:
                _watch(process, workload, timeout_s, memory_limit_mib)
            finally:
                # the parent was interrupted: do not leave the child running
                if process.poll() is None:
                    process.kill()
                    process.wait()
        if not result_path.exists():
            tail = log_path.read_text(errors="replace")[-2000:]
            raise WorkloadFailed(f"{workload}: child exited {process.returncode}: {tail}")
        result: dict[str, Any] = json.loads(result_path.read_text())
    if not result.pop("ok"):
        raise WorkloadFailed(f"{workload}: {result['error']}\n{result.get('traceback', '')}")
    return result

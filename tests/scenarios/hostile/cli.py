"""``norce-wh`` in a subprocess, with what a user sees and what the process cost.

Unlike :class:`tests.scenarios.conftest.CliRun` this keeps the output as bytes decoded
without newline translation (a stray CR or escape code must stay visible to the test), and
reads the child's *own* peak memory: the high-water mark ``VmHWM`` of its
``/proc/<pid>/status``, polled while it runs (monotonic, so a peak is kept once seen).
Neither ``RUSAGE_CHILDREN`` (an earlier child may have peaked higher) nor the child's own
``ru_maxrss`` from :func:`os.wait4` will do: Linux starts a child's ``maxrss`` at the
parent's high-water mark when it execs, and a pytest process that built a warehouse in
process is bigger than any run it starts.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from tests.scenarios.conftest import NORCE_WH, REPO

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters a terminal acts on (tab and newline aside)."""


@dataclass(frozen=True)
class Outcome:
    """How one ``norce-wh`` run ended.

    Attributes:
        code: Exit code, or ``None`` when it had not ended by the deadline (it was killed).
        output: stdout and stderr, interleaved as written.
        seconds: Wall time until it ended or was killed.
        max_rss_mb: The process's peak resident memory (MiB).
    """

    args: tuple[str, ...]
    code: int | None
    output: str
    seconds: float
    max_rss_mb: float

    @property
    def lines(self) -> list[str]:
        return self.output.split("\n")

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.lines if line.startswith("error:")]

    def describe(self) -> str:
        ended = f"exit {self.code}" if self.code is not None else "HUNG (killed)"
        tail = self.output[-3000:]
        return (
            f"norce-wh {' '.join(self.args)}: {ended} after {self.seconds:.0f} s, "
            f"peak {self.max_rss_mb:.0f} MiB\n{tail}"
        )


def norce_wh(
    args: list[str], env: dict[str, str], *, timeout: float = 240, umask: int = -1
) -> Outcome:
    """Run ``norce-wh args`` to its end, or kill it (and its process group) at ``timeout``."""
    command = (
        [str(NORCE_WH), *args]
        if NORCE_WH.exists()
        else ["python", "-c", "from flows.cli import main; main()", *args]
    )
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        umask=umask,
    )
    chunks: list[bytes] = []

    def read() -> None:
        assert proc.stdout is not None
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):  # type: ignore[union-attr]
            chunks.append(chunk)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    code, hwm_kb = _reap(proc, started + timeout)
    seconds = time.monotonic() - started
    reader.join(timeout=30)
    assert proc.stdout is not None
    proc.stdout.close()
    output = b"".join(chunks).decode("utf-8", "replace")
    return Outcome(tuple(args), code, output, seconds, hwm_kb / 1024)


def _reap(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int | None, int]:
    """Wait for ``proc``, polling its peak memory (kB); kill its group at ``deadline``."""
    hung = False
    hwm_kb = 0
    while True:
        hwm_kb = max(hwm_kb, _high_water_kb(proc.pid))
        pid, status = os.waitpid(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            hung = True
            os.killpg(proc.pid, signal.SIGKILL)
            pid, status = os.waitpid(proc.pid, 0)
            break
        time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    _kill_group(proc.pid)
    return (None if hung else proc.returncode), hwm_kb


def _high_water_kb(pid: int) -> int:
    """``VmHWM`` of a running process (0 once it has exited)."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _kill_group(pgid: int) -> None:
    """Take down anything the run left behind in its process group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def file_mode(path: Path) -> int:
    return path.stat().st_mode & 0o777

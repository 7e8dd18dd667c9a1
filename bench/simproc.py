"""Run the simulator in its own process, so its CPU and memory never count against a client.

``python -m simulator.cli --admin`` on a free loopback port; the admin routes (``/_sim/``)
let the incremental benchmark change orders and move the clock from outside.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from types import TracebackType
from typing import Any

import httpx
import psutil

from simulator.server import bind_socket

STARTUP_TIMEOUT_S = 300.0
"""Scale 20 builds in ~11 s on a quiet machine; allow for a busy one."""
CREDENTIALS = {"client_id": "demo", "client_secret": "demo-secret"}
TOKEN_PATH = "/identity/1.0/connect/token"
QUERY_PREFIX = "/commerce/query/2.0/"


class SimulatorProcess:
    """The simulator serving ``scale`` on 127.0.0.1 in a child process.

    Args:
        scale: data volume (1.0 is about 60k orders).
        seed: data seed.
    """

    def __init__(self, scale: float, seed: int = 42) -> None:
        self.scale = scale
        self.seed = seed
        self.port = 0
        self.startup_s = 0.0
        self._process: subprocess.Popen[bytes] | None = None
        # lives as long as the server process writes to it; closed in stop()
        self._log = tempfile.TemporaryFile()  # noqa: SIM115

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> SimulatorProcess:
        """Start the process and wait until it answers HTTP.

        Raises:
            RuntimeError: if it exits or does not answer within :data:`STARTUP_TIMEOUT_S`.
        """
        # Pick a free port, then let the child bind it: the window between is harmless on
        # a loopback port nothing else on this machine asks for by number.
        sock = bind_socket("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        sock.close()
        command = [sys.executable, "-m", "simulator.cli", "--port", str(self.port)]
        command += ["--seed", str(self.seed), "--scale", str(self.scale), "--admin"]
        started = time.perf_counter()
        self._process = subprocess.Popen(command, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"the simulator exited: {self._output()}")
            try:
                httpx.get(f"{self.base_url}/", timeout=2)
                break
            except httpx.TransportError as exc:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("the simulator did not start in time") from exc
                time.sleep(0.2)
        self.startup_s = time.perf_counter() - started
        return self

    def _output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-2000:]

    def rss_mib(self) -> float:
        """The simulator's current resident memory."""
        if self._process is None:
            return 0.0
        return float(psutil.Process(self._process.pid).memory_info().rss) / 2**20

    def cpu_s(self) -> float:
        """CPU seconds the simulator process has used so far (user + system)."""
        if self._process is None:
            return 0.0
        times = psutil.Process(self._process.pid).cpu_times()
        return float(times.user + times.system)

    def served(self) -> int:
        """Query API and token requests answered so far (admin calls not counted)."""
        by_path = self.admin("stats")["requests"]["by_path"]
        return sum(
            n
            for path, statuses in by_path.items()
            if not path.startswith("admin")
            for n in statuses.values()
        )

    def token(self) -> str:
        """A bearer token for the demo client."""
        form = {"grant_type": "client_credentials", **CREDENTIALS}
        response = httpx.post(f"{self.base_url}{TOKEN_PATH}", data=form, timeout=30)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def admin(self, route: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """``POST /_sim/<route>`` with a JSON body (``GET`` when ``body`` is None)."""
        url = f"{self.base_url}/_sim/{route}"
        if body is None:
            response = httpx.get(url, timeout=120)
        else:
            response = httpx.post(url, json=body, timeout=120)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def rows(self, *types: str) -> int:
        """Rows the simulator holds of the given ``"Namespace.Type"`` names, added up."""
        counts = self.admin("stats")["rows"]
        return sum(int(counts.get(t, 0)) for t in types)

    def stop(self) -> None:
        """Terminate the process and wait for it."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=30)
        self._process = None
        self._log.close()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

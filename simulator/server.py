"""Serve the simulator over HTTP with uvicorn, in a background thread.

``SimulatorServer`` is what integration tests, the demo and benchmarks use::

    with SimulatorServer(sim) as server:        # 127.0.0.1, a free port
        httpx.get(server.base_url + "/commerce/query/2.0/Core/$metadata", ...)

It binds the socket itself (so ``port=0`` yields a known port before uvicorn starts), waits
until uvicorn accepts connections, and stops it cleanly on exit. Only loopback hosts are
allowed unless ``allow_remote=True``: the simulator has demo credentials and no TLS.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

from simulator.app import SimulatorApp, create_app
from simulator.control import Simulator

STARTUP_TIMEOUT_S = 15.0


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio only turns Nagle off (TCP_NODELAY) on accepted sockets
    # whose proto is IPPROTO_TCP, and with Nagle on every response whose headers and body
    # go out in two writes waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def uvicorn_config(app: SimulatorApp, log_level: str = "warning") -> uvicorn.Config:
    """The uvicorn settings the simulator runs with.

    uvicorn's own ``Date`` and ``Server`` headers are off: the app sets ``Date`` from the
    simulated clock, which clients use as the server's "now".
    """
    return uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="on",
        date_header=False,
        server_header=False,
        timeout_keep_alive=30,
        http="h11",
        loop="asyncio",
    )


class SimulatorServer:
    """Run the simulator app under uvicorn in a background thread.

    Args:
        sim: the simulator to serve.
        host: interface to bind; loopback only unless ``allow_remote``.
        port: TCP port; 0 picks a free one.
        allow_remote: permit a non-loopback ``host``.
        log_level: uvicorn's log level.
        **app_kwargs: passed to :func:`simulator.app.create_app` (``faults``, ``admin``,
            ``credentials``, ``token_ttl``, ``require_app_header``, ``profile``, ...).

    Raises:
        ValueError: for a non-loopback host without ``allow_remote``.
    """

    def __init__(
        self,
        sim: Simulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        allow_remote: bool = False,
        log_level: str = "warning",
        **app_kwargs: Any,
    ) -> None:
        if not is_loopback(host) and not allow_remote:
            raise ValueError(
                f"refusing to serve the simulator on non-loopback host {host!r}; "
                "pass allow_remote=True if you really mean it"
            )
        self.sim = sim
        self.host = host
        self.port = port
        self.app = create_app(sim, **app_kwargs)
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the running server."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SimulatorServer:
        """Bind, start uvicorn in a thread and wait until it serves.

        Raises:
            RuntimeError: if uvicorn does not come up within the startup timeout.
        """
        if self._thread is not None:
            raise RuntimeError("the simulator server is already running")
        self._socket = bind_socket(self.host, self.port)
        self.port = self._socket.getsockname()[1]
        server = uvicorn.Server(uvicorn_config(self.app, self._log_level))
        self._server = server
        sockets = [self._socket]

        def run() -> None:
            try:
                server.run(sockets=sockets)
            except BaseException as exc:  # surfaced by start() / stop()
                self._error = exc

        self._thread = threading.Thread(target=run, name="simulator-server", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the simulator server did not start: {self._error!r}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread, close the socket."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=STARTUP_TIMEOUT_S)
        if self._socket is not None:
            self._socket.close()
        self._server = None
        self._thread = None
        self._socket = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

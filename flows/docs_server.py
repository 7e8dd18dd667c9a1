"""``norce-wh docs``: serve the pages published beside the warehouse, read-only, on loopback.

``/`` is the dbt docs page (models, columns, tests, lineage) and ``/report`` the last run's
report with its charts. Only ``GET`` and ``HEAD`` of those two paths are answered; files are
read on every request, so a run that publishes new pages is seen on reload.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

from extract.errors import WarehouseError
from flows.pages import docs_path, report_path

__all__ = ["DocsServer", "pages_for"]

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
"""Loopback only: the pages describe the warehouse; sharing them is the operator's choice."""


def pages_for(warehouse: Path) -> dict[str, Path]:
    """URL path -> published file, for the warehouse at ``warehouse``.

    Raises:
        WarehouseError: No page has been published beside ``warehouse`` yet.
    """
    pages = {"/": docs_path(warehouse), "/report": report_path(warehouse)}
    if not any(p.exists() for p in pages.values()):
        raise WarehouseError(
            f"no docs or report page beside {warehouse} yet",
            hint="run `norce-wh run` or `norce-wh demo`: each run publishes them",
        )
    return pages


class _Handler(BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, Path]] = {}
    server_version = "norce-wh-docs"

    def do_GET(self) -> None:
        self._answer(body=True)

    def do_HEAD(self) -> None:
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        path = self.path.split("?", 1)[0].split("#", 1)[0]
        if path in ("/index.html", "/docs"):
            path = "/"
        if path == "/report.html":
            path = "/report"
        page = self.pages.get(path)
        try:
            data = page.read_bytes() if page is not None else None
        except OSError:
            data = None
        if data is None:
            self.send_error(HTTPStatus.NOT_FOUND, "not published (see norce-wh docs --help)")
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("docs server: " + format, *args)


class DocsServer(ThreadingHTTPServer):
    """The pages of one warehouse on ``127.0.0.1:port`` (port 0: a free one)."""

    daemon_threads = True

    def __init__(self, warehouse: Path, port: int = 0) -> None:
        handler = type("Handler", (_Handler,), {"pages": pages_for(warehouse)})
        super().__init__((HOST, port), handler)

    @property
    def url(self) -> str:
        """Where the docs page is."""
        return f"http://{HOST}:{self.server_address[1]}/"

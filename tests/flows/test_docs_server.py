"""`norce-wh docs`: what it serves, and its one-line errors."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from flows.cli import main
from flows.docs_server import DocsServer
from tests.flows.helpers import use_env


def test_serves_the_two_pages_read_only(tmp_path: Path) -> None:
    target = tmp_path / "norce.duckdb"
    (tmp_path / "norce.docs.html").write_text("<html>docs v1</html>")
    (tmp_path / "norce.report.html").write_text("<html>report</html>")
    server = DocsServer(target, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert httpx.get(server.url).text == "<html>docs v1</html>"
        assert httpx.get(server.url + "report").text == "<html>report</html>"
        (tmp_path / "norce.docs.html").write_text("<html>docs v2</html>")  # a run republished
        assert httpx.get(server.url).text == "<html>docs v2</html>"
        assert httpx.get(server.url + "norce.duckdb").status_code == 404
        assert httpx.get(server.url + "../norce.duckdb").status_code == 404
        assert httpx.put(server.url, content=b"x").status_code == 501
    finally:
        server.shutdown()
        server.server_close()


def test_without_pages_it_says_how_to_make_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_env(monkeypatch, {"NORCE_WAREHOUSE": str(tmp_path / "norce.duckdb")})
    result = CliRunner().invoke(main, ["docs", "--port", "0"])
    assert result.exit_code == 8
    assert result.stderr.startswith("error: no docs or report page beside")
    assert "norce-wh run" in result.stderr


def test_a_taken_port_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "norce.report.html").write_text("<html>report</html>")
    use_env(monkeypatch, {"NORCE_WAREHOUSE": str(tmp_path / "norce.duckdb")})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["docs", "--port", str(port)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and "--port" in lines[0]

"""Every command block of the README that needs no tenant runs as written.

Each ```bash block carries a ``<!-- readme-test: KIND -->`` line saying how it is checked:

* ``run``: run with bash in a directory holding a published warehouse at the default path
  (a copy of the session's run) and a ``.venv``, with no ``NORCE_*`` setting;
* ``run-background-first-line``: the first line starts a server in the background, the
  other lines run against it;
* ``serve URL``: the block's one command serves ``URL`` until stopped;
* ``covered-by PATH ...``: run by that test (the Prefect server steps, ``make demo``);
* ``tenant``: needs a real Norce tenant, not run here.

The example queries of the marts table run too, through ``norce-wh sql``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from flows.cli import docs
from flows.metrics import semantic_manifest_path
from flows.pages import docs_path, report_path
from tests.flows.helpers import PublishedRun

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"(?:<!-- readme-test: (?P<kind>[^>]*?) -->\n)?```bash\n(?P<body>.*?)```", re.S)
KINDS = ("run", "run-background-first-line", "serve", "covered-by", "tenant")


def _blocks() -> list[tuple[str, str]]:
    return [(m.group("kind") or "", m.group("body")) for m in BLOCK.finditer(README)]


def test_every_command_block_says_how_it_is_checked() -> None:
    blocks = _blocks()
    assert len(blocks) >= 6
    for kind, body in blocks:
        assert kind.split(" ")[0] in KINDS, f"block without a readme-test line:\n{body}"
        if kind.startswith("covered-by"):
            for path in re.findall(r"tests/\S+\.py", kind):
                assert (ROOT / path).is_file(), path
        if kind == "tenant":
            assert "NORCE_BASE_URL=https://" in body


@pytest.fixture(scope="module")
def home(published_run: PublishedRun, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory as `make demo` leaves it: .venv and warehouse/ with the pages."""
    home = tmp_path_factory.mktemp("readme")
    (home / ".venv").symlink_to(Path(sys.prefix))
    (home / "warehouse").mkdir()
    target = published_run.target
    for source in (target, docs_path(target), report_path(target), semantic_manifest_path(target)):
        shutil.copyfile(source, home / "warehouse" / source.name)
    return home


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NORCE_", "VIRTUAL_ENV"))}
    env["HOME"] = str(home)  # the SQL prompt's history file
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix)
    )
    return env


def _bash(home: Path, script: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=home,
        env=_env(home),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _selected(kind: str) -> list[str]:
    return [body for k, body in _blocks() if k.split(" ")[0] == kind]


@pytest.mark.slow
@pytest.mark.parametrize("body", _selected("run"))
def test_run_blocks(home: Path, body: str) -> None:
    done = _bash(home, body)
    assert done.returncode == 0, f"{body}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert "error:" not in done.stderr
    if "norce-wh status" in body:
        assert "Last runs" in done.stdout
    if "--format csv > customers.csv" in body:
        assert (home / "customers.csv").read_text().count("\n") == 101


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _on_port(text: str, documented: int, port: int) -> str:
    """The README's text with its documented port replaced by ``port`` (a free one), so a
    port taken on a busy machine cannot fail the check of the command itself."""
    return re.sub(rf"(?<=:){documented}\b|(?<=--port ){documented}\b", str(port), text)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _start(home: Path, command: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["bash", "-c", f"source .venv/bin/activate && exec {command}"],
        cwd=home,
        env=_env(home),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("body", _selected("run-background-first-line"))
def test_blocks_with_a_server_in_the_background(home: Path, body: str) -> None:
    documented = int(re.search(r"--port (\d+)", body).group(1))  # type: ignore[union-attr]
    port = _free_port()
    first, rest = _on_port(body, documented, port).split("\n", 1)
    proc = _start(home, first.split("#", 1)[0].strip())
    try:
        deadline = time.monotonic() + 90
        while not _port_open(port):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        done = _bash(home, rest)
        assert done.returncode == 0, done.stderr
        assert '"value"' in done.stdout and '"@odata.count"' in done.stdout
    finally:
        _stop(proc)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kind,body", [(k, b) for k, b in _blocks() if k.startswith("serve ")], ids=lambda v: v[:30]
)
def test_serve_blocks(home: Path, kind: str, body: str) -> None:
    documented = httpx.URL(kind.split(" ", 1)[1])
    port = _free_port()
    url = str(documented.copy_with(port=port))
    (command,) = [line.split("#", 1)[0].strip() for line in body.strip().splitlines()]
    if "--port" not in command:
        # the README relies on the default port; the check passes the same one explicitly
        [default] = [p.default for p in docs.params if p.name == "port"]
        assert documented.port == default, "the README's port is not the CLI's default"
        command += f" --port {default}"
    proc = _start(home, _on_port(command, int(documented.port or 80), port))
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            try:
                answer = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, f"nothing answers on {url}"
                time.sleep(0.3)
        assert answer.status_code == 200 and "<svg" in answer.text
        assert httpx.post(url, timeout=2).status_code == 501  # read-only: GET and HEAD only
    finally:
        _stop(proc)


def _mart_examples() -> list[str]:
    section = README.split("## The marts", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"\| `(select [^`]+)` \|", section)


@pytest.mark.slow
def test_the_marts_examples_run(home: Path) -> None:
    examples = _mart_examples()
    assert len(examples) >= 10
    script = "source .venv/bin/activate\n" + "\n".join(
        f"norce-wh sql --max-rows 3 -c {_quote(sql)}" for sql in examples
    )
    done = _bash(home, script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count(" row") >= len(examples)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"

"""Scenario: what a run leaves on the machine and on the terminal -- a symlinked
``NORCE_WAREHOUSE``, file permissions, a config file others can read, two runs sharing a
published file, and API error text written to attack a terminal."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scenarios.hostile.cli import CONTROL, Outcome, file_mode, norce_wh
from tests.scenarios.hostile.conftest import Hostile
from tests.scenarios.hostile.harness import QUERY
from tests.scenarios.hostile.reads import scalar
from tests.scenarios.hostile.rules import answer

pytestmark = [pytest.mark.slow, pytest.mark.scenario]

CURRENCIES = ["extract", "--entities", "Core/Currencies"]
FORGED = "error: forged -- nothing to worry about"
HOSTILE_TEXT = f"bad query\x1b[2J\x1b[1;31m\x1b]0;pwned\x07\r\n{FORGED}\r\n\x1b[0m"


def _error_body(text: str) -> bytes:
    import orjson

    return orjson.dumps({"error": {"code": "BadRequest", "message": text}})


def test_api_error_text_cannot_act_on_the_terminal(hostile: Hostile, tmp_path: Path) -> None:
    """Found: API error text with escape codes and CR/LF was printed raw, and a forged
    ``error: ...`` line appeared on the terminal."""
    body = _error_body(HOSTILE_TEXT)
    path = f"^{QUERY}Customers/Customers$"
    hostile.app.use(answer(path, 500, body, times=1), answer(path, 400, body))
    out = norce_wh(
        ["extract", "--entities", "Customers/Customers,Core/Currencies"],
        hostile.env(tmp_path / "wh" / "norce.duckdb"),
    )
    assert out.code in (4, 10), out.describe()
    assert not CONTROL.search(out.output), repr(out.output[-2000:])
    assert not [line for line in out.lines if line.startswith("error: forged")], out.describe()
    last = [line for line in out.lines if line.strip()][-1]
    assert last.startswith("error: ") and "Customers/Customers" in last, out.describe()
    assert "pwned" in last, "the text is still shown, only inert"


@dataclass
class Linked:
    """One run (umask 022) whose ``NORCE_WAREHOUSE`` is a link into another directory."""

    out: Outcome
    link: Path
    real: Path


@pytest.fixture(scope="module")
def linked(hostile_server: Hostile, tmp_path_factory: pytest.TempPathFactory) -> Linked:
    root = tmp_path_factory.mktemp("linked")
    real = root / "volume" / "norce.duckdb"
    real.parent.mkdir()
    link = root / "bi" / "norce.duckdb"
    link.parent.mkdir()
    link.symlink_to(real)
    return Linked(norce_wh(CURRENCIES, hostile_server.env(link), umask=0o022), link, real)


def test_a_symlinked_warehouse_stays_a_link_to_fresh_data(linked: Linked) -> None:
    """Found: publish replaced the link with a file; the link's target went stale."""
    assert linked.out.code == 0, linked.out.describe()
    assert linked.link.is_symlink() and os.readlink(linked.link) == str(linked.real)
    assert scalar(linked.real, "select count(*) from raw.currencies") == 5


def test_warehouse_files_are_owner_and_group_only_and_a_chosen_mode_is_kept(
    linked: Linked, hostile: Hostile
) -> None:
    """Found: the published file was always 0644 (publish set it, even under umask 077,
    and undid a ``chmod 600``); it holds hashed personal data. (Umask 077 and other modes:
    ``tests/flows/test_publish_files.py``.)"""
    assert linked.out.code == 0, linked.out.describe()
    assert file_mode(linked.real) == 0o640
    work = linked.link.with_suffix(".work.duckdb")
    assert file_mode(work) == 0o640
    for wal in work.parent.glob("*.wal"):
        assert file_mode(wal) & 0o007 == 0, wal

    linked.real.chmod(0o600)
    out = norce_wh(CURRENCIES, hostile.env(linked.link), umask=0o022)
    assert out.code == 0, out.describe()
    assert file_mode(linked.real) == 0o600, "the owner's choice is kept"


def test_doctor_warns_about_a_world_readable_config_with_secrets(
    hostile: Hostile, tmp_path: Path
) -> None:
    """Found: a world-readable TOML config holding the secret and the salt passed
    ``doctor`` with "All checks passed"."""
    env = hostile.env(tmp_path / "wh" / "norce.duckdb")
    config = tmp_path / "norce.toml"
    config.write_text(
        f'[api]\nbase_url = "{env["NORCE_BASE_URL"]}"\nclient_id = "demo"\n'
        f'client_secret = "demo-secret"\n\n[extract]\npii_salt = "{env["NORCE_PII_SALT"]}"\n'
    )
    config.chmod(0o644)
    for name in ("NORCE_BASE_URL", "NORCE_CLIENT_ID", "NORCE_CLIENT_SECRET", "NORCE_PII_SALT"):
        env.pop(name)
    out = norce_wh(["doctor", "--config", str(config)], env)
    assert out.code == 0, out.describe()
    warned = [line for line in out.lines if line.startswith("WARN") and "config file" in line]
    assert warned and "chmod 600" in warned[0], out.describe()
    assert "All checks passed" not in out.output

    config.chmod(0o600)
    out = norce_wh(["doctor", "--config", str(config)], env)
    assert out.code == 0 and "All checks passed" in out.output, out.describe()


def test_two_runs_sharing_a_published_file_cannot_overlap(hostile: Hostile, tmp_path: Path) -> None:
    """Found: two runs with the same published path and different work files both exited
    0, and the published file flipped between their data."""
    target = tmp_path / "wh" / "norce.duckdb"
    first_env = hostile.env(target, NORCE_MAX_RPS="0.5")
    entities = ["extract", "--entities", "Customers/Customers,Orders/Orders"]
    first: list[Outcome] = []
    runner = threading.Thread(target=lambda: first.append(norce_wh(entities, first_env)))
    runner.start()
    work_lock = target.with_suffix(".work.duckdb.lock")
    deadline = time.monotonic() + 120
    while not (work_lock.exists() and work_lock.read_text().startswith("pid")):
        assert runner.is_alive() and time.monotonic() < deadline, "the first run never started"
        time.sleep(0.2)

    second = norce_wh(
        CURRENCIES, hostile.env(target, NORCE_WORK_DATABASE=str(tmp_path / "other.duckdb"))
    )
    runner.join(timeout=400)
    assert first and first[0].code == 0, first[0].describe() if first else "first run hung"
    assert second.code == 7, second.describe()
    assert len(second.error_lines) == 1 and "another run" in second.error_lines[0]
    assert not (tmp_path / "other.duckdb").exists(), "the refused run wrote nothing"

"""The published file's path and permissions, and the lock on it: a symlinked
``NORCE_WAREHOUSE`` stays a link, new files are owner/group-only, existing modes are kept,
and two runs sharing a published file cannot both hold it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from extract.errors import ConfigError, StateError
from extract.settings import load_settings
from flows.files import creation_umask, current_umask
from flows.publish import publish
from flows.publish_lock import hold_published

MINIMAL = {
    "NORCE_BASE_URL": "https://acme.api-se.norce.tech",
    "NORCE_CLIENT_ID": "integration",
    "NORCE_CLIENT_SECRET": "s3cret",
}


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _work_db(path: Path, rows: int) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("create or replace table numbers as select range as n from range(?)", [rows])
    finally:
        con.close()
    return path


def _rows(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select count(*) from numbers").fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


# --- a symlinked published path --------------------------------------------------------------


def test_publish_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "volume" / "norce.duckdb"
    real.parent.mkdir()
    link = tmp_path / "bi" / "norce.duckdb"
    link.parent.mkdir()
    link.symlink_to(real)
    work = _work_db(tmp_path / "norce.work.duckdb", 10)

    publish(work, link, run_id="first")
    _work_db(work, 20)
    result = publish(work, link, run_id="second")

    assert link.is_symlink() and os.readlink(link) == str(real)
    assert _rows(real) == 20 and _rows(link) == 20
    assert result.target == link
    # No temp copy left in either directory; nothing but the link beside the link.
    assert sorted(p.name for p in link.parent.iterdir()) == ["norce.duckdb"]
    # beside the real file: the file the second publish replaced, kept as the standby
    beside_real = sorted(p.name for p in real.parent.iterdir())
    assert beside_real == [".norce.duckdb.standby", "norce.duckdb"]


def test_publish_through_a_relative_symlink_chain(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "a.duckdb").symlink_to("b.duckdb")
    (tmp_path / "b.duckdb").symlink_to("data/norce.duckdb")  # not there yet
    work = _work_db(tmp_path / "work.duckdb", 5)

    publish(work, tmp_path / "a.duckdb")

    assert (tmp_path / "a.duckdb").is_symlink() and (tmp_path / "b.duckdb").is_symlink()
    assert _rows(tmp_path / "data" / "norce.duckdb") == 5


def test_the_work_file_behind_a_link_to_the_published_file_is_refused(tmp_path: Path) -> None:
    from extract.errors import WarehouseError

    work = _work_db(tmp_path / "work.duckdb", 5)
    link = tmp_path / "norce.duckdb"
    link.symlink_to(work)
    with pytest.raises(WarehouseError, match="same file"):
        publish(work, link)


# --- permissions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mask", "mode", "expected"),
    [(0o022, 0o640, 0o640), (0o077, 0o640, 0o600), (0o002, 0o660, 0o660), (0o022, 0o644, 0o644)],
)
def test_a_new_published_file_gets_the_mode_less_the_umask(
    tmp_path: Path, mask: int, mode: int, expected: int
) -> None:
    work = _work_db(tmp_path / "work.duckdb", 3)
    target = tmp_path / "out" / "norce.duckdb"
    with umask(mask):
        publish(work, target, mode=mode)
    assert _mode(target) == expected


@pytest.mark.parametrize("existing", [0o600, 0o644, 0o660])
def test_a_published_file_keeps_the_mode_it_had(tmp_path: Path, existing: int) -> None:
    work = _work_db(tmp_path / "work.duckdb", 3)
    target = tmp_path / "norce.duckdb"
    with umask(0o022):
        publish(work, target)
        target.chmod(existing)
        publish(work, target)
    assert _mode(target) == existing


def test_files_created_during_a_run_are_owner_and_group_only(tmp_path: Path) -> None:
    with umask(0o022):
        with creation_umask(0o640):
            con = duckdb.connect(str(tmp_path / "work.duckdb"))
            con.execute("create table t as select 1 as x")
            con.close()
            (tmp_path / "dir").mkdir()
        assert current_umask() == 0o022  # restored
    assert _mode(tmp_path / "work.duckdb") == 0o640
    assert _mode(tmp_path / "dir") == 0o750  # the group can still reach what it may read


def test_creation_umask_never_widens_the_umask(tmp_path: Path) -> None:
    with umask(0o077), creation_umask(0o660):
        (tmp_path / "f").write_text("x")
    assert _mode(tmp_path / "f") == 0o600


@pytest.mark.parametrize(("text", "mode"), [("0640", 0o640), ("600", 0o600), ("0o660", 0o660)])
def test_norce_file_mode_is_octal(text: str, mode: int) -> None:
    settings = load_settings({**MINIMAL, "NORCE_FILE_MODE": text})
    assert settings.warehouse.file_mode == mode


def test_the_default_file_mode_is_owner_and_group_only() -> None:
    assert load_settings(MINIMAL).warehouse.file_mode == 0o640


@pytest.mark.parametrize("text", ["0999", "rw-r-----", "0400", "01640"])
def test_a_bad_norce_file_mode_is_a_config_error(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({**MINIMAL, "NORCE_FILE_MODE": text})
    assert any("NORCE_FILE_MODE" in p and "octal" in p for p in info.value.problems)


# --- the published file's lock -----------------------------------------------------------------


def test_a_second_holder_of_the_published_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "norce.duckdb"
    with hold_published(target), pytest.raises(StateError) as info, hold_published(target):
        pass
    assert info.value.exit_code == 7
    assert f"pid {os.getpid()}" in str(info.value) and "\n" not in str(info.value)
    with hold_published(target):  # released when the first run ended
        pass


def test_two_links_to_one_published_file_share_its_lock(tmp_path: Path) -> None:
    real = tmp_path / "data" / "norce.duckdb"
    real.parent.mkdir()
    one, two = tmp_path / "one.duckdb", tmp_path / "two.duckdb"
    one.symlink_to(real)
    two.symlink_to(real)
    with hold_published(one), pytest.raises(StateError), hold_published(two):
        pass

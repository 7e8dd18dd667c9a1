"""Publishing through the standby: only changed blocks are written, and never under a reader."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from flows.publish import publish

STANDBY = ".norce.duckdb.standby"


def _write_generation(path: Path, generation: int, rows: int = 200_000) -> None:
    """A working file with a large table that stays and a small one that changes."""
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            "create table if not exists marts.big as "
            "select range as n, md5(range::varchar) as h from range(?)",
            [rows],
        )
        con.execute(
            "create or replace table marts.gen as select ? as generation, range as n "
            "from range(1000)",
            [generation],
        )
    finally:
        con.close()


def _generation(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select max(generation), count(*) from marts.gen").fetchone()
        assert row is not None and row[1] == 1000
        return int(row[0])
    finally:
        con.close()


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "norce.work.duckdb", tmp_path / "norce.duckdb"


def _publish_generation(
    work: Path, target: Path, generation: int, *, keep_standby: bool = True, query: bool = True
) -> str:
    """Publish generation ``generation``; the published file must equal the working file.

    ``query=False`` where this process has the target open: DuckDB would hand a new
    connection to the path that cached, older instance.
    """
    _write_generation(work, generation)
    result = publish(work, target, run_id=f"run-{generation}", keep_standby=keep_standby)
    assert result.method != "reflink", "these tests need a filesystem without reflinks"
    assert target.read_bytes() == work.read_bytes()
    if query:
        assert _generation(target) == generation
    return result.method


def test_the_third_publish_writes_only_the_changed_blocks(files: tuple[Path, Path]) -> None:
    work, target = files
    os.chmod(work.parent, 0o755)
    _publish_generation(work, target, 1)
    assert not (target.parent / STANDBY).exists()  # nothing replaced yet
    assert _publish_generation(work, target, 2) == "kernel"
    standby = target.parent / STANDBY
    assert _generation(standby) == 1  # the file the second publish replaced
    os.chmod(target, 0o604)  # a mode the owner chose for the published file

    _write_generation(work, 3)
    result = publish(work, target, run_id="run-3")

    assert result.method == "changed blocks"
    assert 0 < result.written < result.bytes / 2
    assert target.read_bytes() == work.read_bytes()
    assert _generation(target) == 3
    assert _generation(standby) == 2
    assert os.stat(target).st_mode & 0o777 == 0o604
    assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(".")) == [STANDBY]


def test_a_reader_of_the_standby_keeps_its_snapshot_and_forces_a_copy(
    files: tuple[Path, Path],
) -> None:
    """A reader in this process: DuckDB's lock would not stop this process; /proc does."""
    work, target = files
    _publish_generation(work, target, 1)
    reader = duckdb.connect(str(target), read_only=True)
    try:
        _publish_generation(work, target, 2, query=False)  # the reader's file is the standby
        assert _publish_generation(work, target, 3, query=False) == "kernel"
        # the next standby is free (generation 2); the reader's file only lost its name
        assert _publish_generation(work, target, 4, query=False) == "changed blocks"
        assert reader.execute("select max(generation) from marts.gen").fetchone() == (1,)
        checked = reader.execute("select count(*), sum(n) from marts.big").fetchone()
        assert checked == (200_000, 200_000 * 199_999 // 2)
    finally:
        reader.close()


@contextmanager
def _reader_process(path: Path) -> Iterator[None]:
    """A DuckDB read-only reader of ``path`` in another process, until the block ends."""
    script = textwrap.dedent(
        f"""
        import duckdb, sys
        con = duckdb.connect({str(path)!r}, read_only=True)
        print(con.execute("select max(generation) from marts.gen").fetchone()[0], flush=True)
        sys.stdin.readline()
        print(con.execute("select max(generation) from marts.gen").fetchone()[0], flush=True)
        print(con.execute("select count(*) from marts.big").fetchone()[0], flush=True)
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            first = proc.stdout.readline().strip()
            yield
            proc.stdin.write("\n")
            proc.stdin.flush()
            rest = proc.stdout.read().split()
            assert proc.wait(timeout=30) == 0
            assert [first, *rest] == [first, first, "200000"]
        finally:
            proc.kill()


def test_a_reader_process_holding_the_standby_is_not_written_under(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    work, target = files
    _publish_generation(work, target, 1)
    with _reader_process(target):
        _publish_generation(work, target, 2)
        assert _publish_generation(work, target, 3) == "kernel"


def test_duckdbs_lock_alone_keeps_the_standby_from_a_reader_process(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where /proc does not show the reader (another user's process), its lock does."""
    work, target = files
    monkeypatch.setattr("flows.standby._open_anywhere", lambda dev, ino: False)
    _publish_generation(work, target, 1)
    with _reader_process(target):
        _publish_generation(work, target, 2)
        assert _publish_generation(work, target, 3) == "kernel"
    assert _publish_generation(work, target, 4) == "changed blocks"


def test_any_open_handle_of_the_standby_forces_a_copy(files: tuple[Path, Path]) -> None:
    """Not only DuckDB: a backup reading the file holds no lock but shows in /proc."""
    work, target = files
    _publish_generation(work, target, 1)
    with target.open("rb") as backup:
        _publish_generation(work, target, 2)
        assert _publish_generation(work, target, 3) == "kernel"
        assert b"DUCK" in backup.read(64)


def test_an_interrupted_sync_is_repaired_by_the_next_publish(files: tuple[Path, Path]) -> None:
    work, target = files
    for generation in (1, 2):
        _publish_generation(work, target, generation)
    standby = target.parent / STANDBY
    with standby.open("r+b") as half:  # what a publish killed mid-sync leaves
        half.seek(300_000)
        half.write(os.urandom(700_000))
        half.truncate(2_000_000)
    assert _publish_generation(work, target, 3) == "changed blocks"


def test_without_keep_standby_no_earlier_copy_stays(files: tuple[Path, Path]) -> None:
    work, target = files
    for generation in (1, 2, 3):
        _publish_generation(work, target, generation)
    assert (target.parent / STANDBY).exists()

    _publish_generation(work, target, 4, keep_standby=False)

    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []
    assert _publish_generation(work, target, 5) == "kernel"


def test_a_symlinked_warehouse_keeps_its_standby_beside_the_real_file(tmp_path: Path) -> None:
    work = tmp_path / "norce.work.duckdb"
    real = tmp_path / "data" / "norce-2026.duckdb"
    link = tmp_path / "norce.duckdb"
    real.parent.mkdir()
    for generation in (1, 2):
        _publish_generation(work, real, generation)
    link.symlink_to(real)

    _write_generation(work, 3)
    assert publish(work, link).method == "changed blocks"

    assert link.is_symlink() and _generation(link) == 3
    assert _generation(real.parent / ".norce-2026.duckdb.standby") == 2
    assert not (tmp_path / STANDBY).exists()


def test_where_nobody_can_tell_a_file_is_free_no_standby_is_kept(
    files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not Linux (no OFD locks or /proc): whole copies, and no file's worth of disk spent."""
    work, target = files
    monkeypatch.setattr("flows.standby.supported", lambda: False)
    for generation in (1, 2, 3):
        assert _publish_generation(work, target, generation) == "kernel"
    assert [p.name for p in target.parent.iterdir() if p.name.startswith(".")] == []

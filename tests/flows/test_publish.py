"""Publishing: an atomic, complete copy of the working database; never a half-written file."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from extract.errors import StateError, WarehouseError
from flows.publish import last_publish, publish


def _make_work_db(path: Path, rows: int) -> None:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.numbers as select range as n from range(?)", [rows]
        )
    finally:
        con.close()


def _count(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute("select count(*) from marts.numbers").fetchone()
        assert row is not None
        return int(row[0])
    finally:
        con.close()


def test_publish_copies_records_and_leaves_no_temp_or_wal(tmp_path: Path) -> None:
    work = tmp_path / "norce.work.duckdb"
    target = tmp_path / "out" / "norce.duckdb"
    _make_work_db(work, 1000)

    result = publish(work, target, run_id="run-1")

    assert target.exists()
    assert result.target == target
    assert result.bytes == target.stat().st_size > 0
    assert result.run_id == "run-1"
    assert _count(target) == 1000
    assert sorted(p.name for p in target.parent.iterdir()) == ["norce.duckdb"]
    recorded = last_publish(target)
    assert recorded is not None
    assert recorded[0] == "run-1"
    assert abs((recorded[1] - result.published_at).total_seconds()) < 1e-3


def test_publish_replaces_and_open_reader_keeps_its_snapshot(tmp_path: Path) -> None:
    work = tmp_path / "norce.work.duckdb"
    target = tmp_path / "norce.duckdb"
    _make_work_db(work, 10)
    publish(work, target, run_id="a")
    reader = duckdb.connect(str(target), read_only=True)
    try:
        _make_work_db(work, 20)
        publish(work, target, run_id="b")
        # The old inode stays alive for the reader that had it open.
        assert reader.execute("select count(*) from marts.numbers").fetchone() == (10,)
    finally:
        reader.close()
    assert _count(target) == 20
    recorded = last_publish(target)
    assert recorded is not None and recorded[0] == "b"


def test_publish_without_work_database_is_a_warehouse_error(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="nothing to publish") as info:
        publish(tmp_path / "missing.duckdb", tmp_path / "norce.duckdb")
    assert info.value.exit_code == 8


def test_publish_same_file_refused(tmp_path: Path) -> None:
    work = tmp_path / "norce.duckdb"
    _make_work_db(work, 1)
    with pytest.raises(WarehouseError, match="same file"):
        publish(work, work)


def test_publish_refuses_while_another_process_writes(tmp_path: Path) -> None:
    work = tmp_path / "norce.work.duckdb"
    target = tmp_path / "norce.duckdb"
    _make_work_db(work, 5)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import duckdb, sys, time
                con = duckdb.connect({str(work)!r})
                print("ready", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(StateError, match="still open in another process") as info:
            publish(work, target)
        assert info.value.exit_code == 7
        assert not target.exists()
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(timeout=30)
        holder.stdout.close()


def test_failed_copy_keeps_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "norce.work.duckdb"
    target = tmp_path / "norce.duckdb"
    _make_work_db(work, 3)
    publish(work, target, run_id="good")
    _make_work_db(work, 4)

    def broken_copy(src: int, dst: int) -> str:
        os.write(dst, b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("flows.publish.copy_whole", broken_copy)
    with pytest.raises(WarehouseError, match="No space left"):
        publish(work, target, run_id="bad")
    assert _count(target) == 3
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_publish_removes_a_temp_copy_left_by_a_killed_publish(tmp_path: Path) -> None:
    work = tmp_path / "norce.work.duckdb"
    target = tmp_path / "norce.duckdb"
    _make_work_db(work, 3)
    publish(work, target, run_id="first")
    # What a publish SIGKILLed mid-copy leaves: a partial temp copy nobody holds.
    stale = tmp_path / ".norce.duckdb.k1ll3d.publishing"
    stale.write_bytes(target.read_bytes()[:4096])
    unrelated = tmp_path / ".other.duckdb.x.publishing"
    unrelated.write_bytes(b"not ours")

    _make_work_db(work, 4)
    publish(work, target, run_id="second")

    assert not stale.exists()
    assert unrelated.exists()
    assert _count(target) == 4
    # only the file the second publish replaced, kept for the next one (test_publish_standby)
    names = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".norce"))
    assert names == [".norce.duckdb.standby"]


def test_publish_leaves_a_temp_copy_another_publish_is_writing(tmp_path: Path) -> None:
    work = tmp_path / "norce.work.duckdb"
    target = tmp_path / "norce.duckdb"
    _make_work_db(work, 2)
    busy = tmp_path / ".norce.duckdb.busy01.publishing"
    busy.write_bytes(b"half a copy")
    script = textwrap.dedent(
        f"""
        import fcntl, sys
        fh = open({str(busy)!r}, "rb")
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        print("ready", flush=True)
        sys.stdin.readline()
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "ready"
            publish(work, target, run_id="meanwhile")
        finally:
            holder.stdin.write("\n")
            holder.stdin.flush()
    # The holder (alive and locking it while publish ran) kept its temp copy.
    assert busy.exists()
    assert _count(target) == 2

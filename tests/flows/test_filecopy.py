"""The publish copy: the same bytes whatever the method, and a real failure is never hidden."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from flows import filecopy
from flows.filecopy import clone_or_copy, kernel_copy, python_copy

SIZE = 3 * 8 * 1024 * 1024 + 12345
"""More than two chunks and not a multiple of one: every loop runs more than once."""


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("copy") / "source.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def _copy_with(method: object, source: Path, target: Path) -> object:
    with source.open("rb") as src, target.open("wb") as dst:
        return method(src.fileno(), dst.fileno())  # type: ignore[operator]


@pytest.mark.parametrize("method", [kernel_copy, python_copy, clone_or_copy])
def test_every_method_copies_the_exact_bytes(method: object, source: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.bin"
    _copy_with(method, source, target)
    assert target.read_bytes() == source.read_bytes()


def test_refused_reflink_and_kernel_copy_fall_back_to_a_clean_plain_copy(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_reflink(src: int, dst: int) -> None:
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    def half_then_refuse(src: int, dst: int) -> None:
        os.write(dst, b"x" * 1000)  # a kernel copy that stopped part-way
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(filecopy, "reflink", no_reflink)
    monkeypatch.setattr(filecopy, "kernel_copy", half_then_refuse)
    target = tmp_path / "copy.bin"
    assert _copy_with(clone_or_copy, source, target) == "python"
    assert target.read_bytes() == source.read_bytes()


def test_a_full_disk_is_raised_not_retried_another_way(
    source: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: int, dst: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(filecopy, "reflink", disk_full)
    with pytest.raises(OSError, match="No space left"):
        _copy_with(clone_or_copy, source, tmp_path / "copy.bin")


BLOCK = 256 * 1024


def _sync(source: Path, target: Path) -> int:
    with source.open("rb") as src, target.open("r+b") as dst:
        return filecopy.sync_changed(src.fileno(), dst.fileno())


def test_sync_changed_writes_only_the_blocks_that_differ(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "older.bin"
    older = bytearray(source.read_bytes())
    changed = [0, 37, SIZE // BLOCK]  # first, one in the middle of a chunk, the short last
    for block in changed:
        older[block * BLOCK + 5] ^= 0xFF
    target.write_bytes(older)

    written = _sync(source, target)

    assert target.read_bytes() == source.read_bytes()
    last = SIZE - (SIZE // BLOCK) * BLOCK
    assert written == 2 * BLOCK + last


def test_sync_changed_of_equal_files_writes_nothing(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "same.bin"
    target.write_bytes(source.read_bytes())
    assert _sync(source, target) == 0
    assert target.read_bytes() == source.read_bytes()


@pytest.mark.parametrize("older_size", [0, 5000, SIZE - BLOCK - 7, SIZE + 3 * BLOCK])
def test_sync_changed_grows_or_cuts_the_older_file_to_the_source(
    source: Path, tmp_path: Path, older_size: int
) -> None:
    target = tmp_path / "older.bin"
    data = source.read_bytes()
    # the same bytes where the two overlap, so only the size differs
    target.write_bytes(data[:older_size] + os.urandom(max(0, older_size - SIZE)))

    written = _sync(source, target)

    assert target.read_bytes() == data
    first_missing_block = min(older_size, SIZE) // BLOCK * BLOCK
    assert written == (SIZE - first_missing_block if older_size < SIZE else 0)


def test_sync_changed_repairs_a_file_of_unrelated_bytes(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "garbage.bin"
    target.write_bytes(os.urandom(SIZE // 2))
    assert _sync(source, target) == SIZE
    assert target.read_bytes() == source.read_bytes()

"""What publishing costs, by method, on one real warehouse file.

Publishing must put a complete new file at ``NORCE_WAREHOUSE`` in one rename (readers see
the old file or the new one, never half of one, and a reader holding the old file keeps
it). What the rename needs is a new inode with the new content; the methods differ in how
that inode is made:

* ``python_copy``: read and write through user space in 8 MiB chunks (the publish before
  issue 15);
* ``kernel_copy``: ``copy_file_range`` in the kernel (no user-space buffer; on a
  filesystem that supports it, shares the extents, as XFS and Btrfs do);
* ``reflink``: ``FICLONE``, an O(1) copy-on-write clone where the filesystem has them
  (Btrfs, XFS with reflink, ZFS 2.2+); ``null`` when the filesystem refuses;
* ``fsync_s``: of each, the part spent making the copy durable before the rename;
* ``changed_blocks`` (:func:`measure_sync`): what a scheduled publish does without
  reflinks, writing into the previous generation only the blocks that differ.

Every method is run on the same closed, checkpointed working file, each copy removed before
the next, in the bench's own process (no reader holds the files).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from flows.filecopy import kernel_copy, python_copy, reflink, sync_changed


def measure(snapshot: Path, scratch: Path) -> dict[str, Any]:
    """Time each copy method of the working file in ``snapshot`` into ``scratch``.

    Returns:
        ``bytes`` of the file and per method ``{"copy_s", "fsync_s"}`` (``None`` where the
        filesystem cannot do the method).
    """
    source = next(p for p in snapshot.glob("*.work.duckdb"))
    scratch.mkdir(parents=True, exist_ok=True)
    out: dict[str, Any] = {"bytes": source.stat().st_size}
    methods = {"python_copy": python_copy, "kernel_copy": kernel_copy, "reflink": reflink}
    for name, method in methods.items():
        target = scratch / f"{name}.duckdb"
        out[name] = _time_one(method, source, target)
        target.unlink(missing_ok=True)
    shutil.rmtree(scratch, ignore_errors=True)
    return out


def _time_one(method: Any, source: Path, target: Path) -> dict[str, float] | None:
    t0 = time.perf_counter()
    with source.open("rb") as src, target.open("wb") as dst:
        try:
            method(src.fileno(), dst.fileno())
        except OSError:
            return None
        copied = time.perf_counter() - t0
        os.fsync(dst.fileno())
    total = time.perf_counter() - t0
    return {"copy_s": round(copied, 3), "fsync_s": round(total - copied, 3)}


def measure_sync(older: Path, newer: Path, scratch: Path) -> dict[str, float | int]:
    """Time bringing a copy of ``older`` up to ``newer`` by writing only changed blocks.

    This is what a scheduled publish does to the standby (:mod:`flows.standby`): ``older``
    is the file published two runs before ``newer`` was written. The copy of ``older`` is
    made and flushed to disk first, untimed, as a standby a run ago would be.

    Returns:
        ``written`` bytes, ``copy_s`` (compare and write) and ``fsync_s``.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    standby = scratch / "standby.duckdb"
    shutil.copyfile(older, standby)
    os.sync()
    t0 = time.perf_counter()
    with newer.open("rb") as src, standby.open("r+b") as dst:
        written = sync_changed(src.fileno(), dst.fileno())
        synced = time.perf_counter() - t0
        os.fsync(dst.fileno())
    total = time.perf_counter() - t0
    shutil.rmtree(scratch, ignore_errors=True)
    return {"written": written, "copy_s": round(synced, 3), "fsync_s": round(total - synced, 3)}

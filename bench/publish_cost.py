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
* ``fsync_s``: of each, the part spent making the copy durable before the rename.

Every method is run on the same closed, checkpointed working file, each copy removed before
the next, in the bench's own process (no reader holds the files).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from flows.filecopy import kernel_copy, python_copy, reflink


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

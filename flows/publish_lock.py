"""One run at a time per *published* file, whatever working file each run writes.

The run lock (:class:`extract.load.locking.RunLock`) sits beside the working database. Two runs
configured with the same ``NORCE_WAREHOUSE`` but different ``NORCE_WORK_DATABASE`` would
each hold their own and take turns replacing the published file with their own data. A
second lock beside the published file (the file a symbolic link points to, so two links
to one file share it) makes the second run refuse instead. It is taken before the run
lock and held until the run has published, so every command takes them in one order.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from extract.load.locking import RunLock

__all__ = ["hold_published"]


@contextmanager
def hold_published(target: Path, wait_s: float = 0) -> Iterator[RunLock]:
    """Hold the lock of the published file ``target`` for the body of the ``with``.

    Args:
        target: ``NORCE_WAREHOUSE``; a symbolic link is followed.
        wait_s: How long to wait for another run to release it (0: refuse at once).

    Raises:
        StateError: Another run holds it (exit 7), still after ``wait_s``.
        WarehouseError: The lock file cannot be created beside the published file.
    """
    lock = RunLock(Path(os.path.realpath(target)))
    lock.acquire(wait_s)  # the run lock's own wait: polls, logs, then refuses
    try:
        yield lock
    finally:
        lock.release()

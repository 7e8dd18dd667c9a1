"""One run at a time per warehouse: an advisory lock file beside the working database."""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from extract.errors import StateError, WarehouseError

__all__ = ["LOCK_POLL_S", "RunLock"]

log = logging.getLogger(__name__)

LOCK_POLL_S = 10.0
"""How often a run waiting for the lock tries again."""


class RunLock:
    """Exclusive, non-blocking lock on ``<work database>.lock``.

    The lock dies with the process (``flock``), so a killed run never leaves a stale lock.
    """

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fh: IO[str] | None = None

    def acquire(
        self,
        wait_s: float = 0.0,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Take the lock, waiting up to ``wait_s`` seconds for a run that holds it.

        Raises:
            StateError: Another run still holds the lock after ``wait_s``.
            WarehouseError: The lock file cannot be created.
        """
        deadline = clock() + max(wait_s, 0.0)
        while True:
            try:
                self._try_acquire()
                return
            except StateError as exc:
                if clock() >= deadline:
                    raise
                log.info("%s; waiting (up to %.0f s in all)", exc.message, wait_s)
                sleep(min(LOCK_POLL_S, max(deadline - clock(), 0.0)))

    def _try_acquire(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+")  # noqa: SIM115 - held for the life of the run
        except OSError as exc:
            raise WarehouseError(
                f"cannot create {self.path}: {exc.strerror}",
                hint="set NORCE_WAREHOUSE to a writable location",
            ) from exc
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise StateError(
                f"another run is using this warehouse ({holder})",
                hint="wait for it to finish (norce-wh status shows it) and try again",
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}, started {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

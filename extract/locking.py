"""One run at a time per warehouse: an advisory lock file beside the working database."""

from __future__ import annotations

import fcntl
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from extract.errors import StateError, WarehouseError


class RunLock:
    """Exclusive, non-blocking lock on ``<work database>.lock``.

    The lock dies with the process (``flock``), so a killed run never leaves a stale lock.
    """

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".lock")
        self._fh: IO[str] | None = None

    def acquire(self) -> None:
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
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

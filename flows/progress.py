"""Progress lines for long extracts: one per finished partition, a running total on a timer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from extract import ProgressEvent

__all__ = ["ProgressLog"]

log = logging.getLogger("flows.progress")


class ProgressLog:
    """A progress callback for the loader (:func:`extract.extract`) that writes log lines.

    While partitions run, a line with the rows and pages so far appears at most every
    ``interval_s`` seconds (driven by the events
    themselves, so no extra thread is needed). Safe to call from many threads.

    Args:
        interval_s: Seconds between running-total lines.
        clock: Monotonic clock, injectable for tests.
        logger: Where the lines go.
    """

    def __init__(
        self,
        interval_s: float = 10.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._log = logger
        self._lock = threading.Lock()
        self._started = clock()
        self._last_line = self._started
        self._rows: dict[str, int] = {}
        self._pages: dict[str, int] = {}
        self._done: set[str] = set()
        self.expected = 0

    def expect(self, partitions: int) -> None:
        """Say how many partitions the run has, for the ``k/n done`` figure."""
        with self._lock:
            self.expected = partitions

    @property
    def rows(self) -> int:
        """Rows reported so far across partitions."""
        with self._lock:
            return sum(self._rows.values())

    @property
    def pages(self) -> int:
        """Pages reported so far across partitions."""
        with self._lock:
            return sum(self._pages.values())

    def __call__(self, event: ProgressEvent) -> None:
        """Record one event; log if a partition finished or the interval elapsed."""
        now = self._clock()
        with self._lock:
            self._rows[event.partition] = event.rows
            self._pages[event.partition] = event.pages
            if event.done:
                self._done.add(event.partition)
            periodic = not event.done and now - self._last_line >= self.interval_s
            if periodic:
                self._last_line = now
            done = len(self._done)
            total_rows = sum(self._rows.values())
            total_pages = sum(self._pages.values())
        of = f"/{self.expected}" if self.expected else ""
        if event.done:
            # The extractor logs its own line per finished partition (with watermarks);
            # this one only adds the k/n count, for -v.
            self._log.debug(
                "[%d%s] %s %s: %d rows, %d pages",
                done,
                of,
                event.partition,
                event.status,
                event.rows,
                event.pages,
            )
        elif periodic:
            elapsed = now - self._started
            rate = total_rows / elapsed if elapsed > 0 else 0.0
            self._log.info(
                "... %d rows, %d pages so far (%d%s partitions done, %.0f s, %.0f rows/s)",
                total_rows,
                total_pages,
                done,
                of,
                elapsed,
                rate,
            )

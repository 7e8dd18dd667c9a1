"""The simulator's clock: real UTC time plus an offset that tests can move forward.

Everything the simulator stamps (``Created``/``Updated`` of new or changed rows, the
``Date`` response header, the ``Updated`` of derived Reporting rows) reads this clock, so a
test can jump an hour ahead with :meth:`Clock.advance` instead of sleeping, and the loader
sees a consistent "server now".
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Simulated "now" = real UTC now + offset; :meth:`advance` moves it forward.

    The clock never runs backwards: the offset only grows, and real time only grows.
    """

    def __init__(self, offset_seconds: float = 0.0) -> None:
        if offset_seconds < 0:
            raise ValueError("the clock offset cannot be negative")
        self._offset = timedelta(seconds=offset_seconds)
        self._lock = threading.Lock()

    @property
    def offset(self) -> timedelta:
        """How far the simulated clock is ahead of real UTC time."""
        return self._offset

    def now(self) -> datetime:
        """The simulated current time (tz-aware UTC, microsecond precision)."""
        return datetime.now(UTC) + self._offset

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward.

        Args:
            seconds: How far to move, >= 0.

        Returns:
            The new simulated now.

        Raises:
            ValueError: If ``seconds`` is negative (the server's clock never goes back).
        """
        if seconds < 0:
            raise ValueError(f"cannot move the clock backwards ({seconds} s)")
        with self._lock:
            self._offset += timedelta(seconds=seconds)
        return self.now()

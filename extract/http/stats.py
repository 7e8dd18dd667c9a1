"""Thread-safe request counters for one partition, entity or run."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields

__all__ = ["RequestStats"]


@dataclass(eq=False)
class RequestStats:
    """Counters of what the client did; every attempt counts, retries included.

    Increment with :meth:`add` (safe from many threads); combine with :meth:`merge`.
    ``elapsed_s`` is wall time spent inside requests (including retry waits), summed.
    """

    requests: int = 0
    """HTTP attempts sent to the Query API (each retry is one more)."""
    retries: int = 0
    """Attempts that repeated an earlier failed one."""
    rate_limited: int = 0
    """429 responses."""
    server_errors: int = 0
    """5xx responses."""
    network_errors: int = 0
    """Timeouts, connect failures, resets."""
    bad_payloads: int = 0
    """Responses whose body was truncated or not valid JSON."""
    bytes: int = 0
    """Response body bytes received."""
    rate_limit_waits: int = 0
    """Waits after a 429 before trying again."""
    rate_limit_wait_s: float = 0.0
    """Seconds those waits lasted."""
    token_requests: int = 0
    """Requests to the token endpoint."""
    elapsed_s: float = 0.0
    """Seconds spent in requests, waits included."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: float) -> None:
        """Add to counters by name, atomically: ``stats.add(requests=1, bytes=512)``.

        Raises:
            AttributeError: For a name that is not a counter.
        """
        with self._lock:
            for name, amount in counts.items():
                if name not in _COUNTERS:
                    raise AttributeError(f"RequestStats has no counter {name!r}")
                setattr(self, name, getattr(self, name) + amount)

    def merge(self, other: RequestStats) -> RequestStats:
        """Add ``other``'s counters into this one; returns ``self`` for chaining."""
        self.add(**other.as_dict())
        return self

    def as_dict(self) -> dict[str, float]:
        """A consistent snapshot of every counter (for run reports and artifacts)."""
        with self._lock:
            return {name: getattr(self, name) for name in _COUNTERS}

    def timed(self, clock: Callable[[], float] = time.monotonic) -> _Timer:
        """Context manager adding the time spent inside it to ``elapsed_s``."""
        return _Timer(self, clock)


_COUNTERS: tuple[str, ...] = tuple(f.name for f in fields(RequestStats) if f.name != "_lock")


class _Timer:
    def __init__(self, stats: RequestStats, clock: Callable[[], float]) -> None:
        self._stats = stats
        self._clock = clock
        self._start = 0.0

    def __enter__(self) -> None:
        self._start = self._clock()

    def __exit__(self, *exc: object) -> None:
        self._stats.add(elapsed_s=self._clock() - self._start)

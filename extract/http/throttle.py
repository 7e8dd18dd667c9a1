"""One adaptive limiter per API host, shared by every partition thread.

A :class:`Throttle` combines a rate limit (GCRA, the token bucket written as "theoretical
arrival time") with a cap on requests in flight. On a 429 every thread pauses until the
``Retry-After`` moment and the rate halves (down to ``min_rps``) -- at most once per
:data:`DECREASE_WINDOW_S`, so a burst of 429s, or a tenant that answers a steady share of
requests with 429 whatever the rate, does not grind the rate down to the floor; successes
raise it again by a tenth of ``max_rps`` per ``recover_every`` successes, never above
``max_rps`` (additive increase, multiplicative decrease). Clock and sleep are injectable so tests
run on simulated time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from extract.settings import ThrottleSettings

__all__ = ["Throttle", "ThrottleRegistry", "default_registry"]

DECREASE_FACTOR = 0.5
"""Rate multiplier applied on a 429."""
RECOVER_EVERY = 10
"""Successes needed for one recovery step."""
DECREASE_WINDOW_S = 5.0
"""Shortest time between two rate decreases: one congestion signal per window."""
RECOVER_STEP = 0.1
"""Fraction of ``max_rps`` added per recovery step."""
MAX_PAUSE_S = 600.0
"""Longest pause a 429 imposes on every thread. The client never passes a longer one (it
fails that request instead); the cap keeps a long-lived process (``serve``) from pausing
for ever whatever it is given."""
DEFAULT_MIN_RPS = ThrottleSettings().min_rps
"""The rate floor when none is given (the ``throttle.min_rps`` setting's default)."""


class Throttle:
    """Rate and concurrency limiter for one host; safe to share between threads.

    Args:
        max_rps: Highest request rate, and the ceiling recovery returns to.
        max_inflight: Most requests inside :meth:`slot` at once.
        min_rps: Floor for the rate after repeated 429s.
        burst: Requests allowed back to back after an idle spell (1 = evenly spaced).
        recover_every: Successes per recovery step.
        clock: Monotonic seconds (injectable for tests).
        sleep: Blocking wait in seconds (injectable for tests).
    """

    def __init__(
        self,
        max_rps: float,
        max_inflight: int,
        *,
        min_rps: float = DEFAULT_MIN_RPS,
        burst: int = 1,
        recover_every: int = RECOVER_EVERY,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_rps <= 0 or min_rps <= 0 or max_inflight < 1 or burst < 1 or recover_every < 1:
            raise ValueError("throttle limits must be positive")
        self.max_rps = max_rps
        self.min_rps = min(min_rps, max_rps)
        self.max_inflight = max_inflight
        self._burst = burst
        self._recover_every = recover_every
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._inflight = threading.BoundedSemaphore(max_inflight)
        self._rate = max_rps
        self._tat = float("-inf")  # theoretical arrival time of the next request
        self._paused_until = float("-inf")
        self._no_decrease_until = float("-inf")
        self._successes = 0
        # counters
        self.granted = 0
        self.penalties = 0
        self.waited_s = 0.0
        self.inflight = 0
        self.peak_inflight = 0

    @classmethod
    def from_settings(
        cls,
        settings: ThrottleSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> Throttle:
        """A throttle with the limits of ``settings``."""
        return cls(
            settings.max_rps,
            settings.max_inflight,
            min_rps=settings.min_rps,
            clock=clock,
            sleep=sleep,
        )

    @property
    def current_rps(self) -> float:
        """The rate in force now (between ``min_rps`` and ``max_rps``)."""
        with self._lock:
            return self._rate

    @property
    def paused_until(self) -> float:
        """Clock time before which no request starts (``-inf`` when not paused)."""
        with self._lock:
            return self._paused_until

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Block until both the in-flight cap and the rate allow one request, then hold it.

        The in-flight place is taken first, so a thread never spends a rate slot while it
        could not send. A pause announced by :meth:`penalize` while a thread waits is
        honoured before it starts.
        """
        self._inflight.acquire()
        try:
            self._wait_for_rate()
            with self._lock:
                self.inflight += 1
                self.peak_inflight = max(self.peak_inflight, self.inflight)
            try:
                yield
            finally:
                with self._lock:
                    self.inflight -= 1
        finally:
            self._inflight.release()

    def _wait_for_rate(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                interval = 1.0 / self._rate
                tolerance = (self._burst - 1) * interval
                start = max(now, self._paused_until, self._tat - tolerance)
                if start <= now:
                    self._tat = max(self._tat, now) + interval
                    self.granted += 1
                    return
                wait = start - now
                self.waited_s += wait
            # Sleep outside the lock and re-check: the rate or a pause may change meanwhile.
            self._sleep(wait)

    def penalize(self, retry_after: float | None) -> None:
        """React to a 429: pause every thread and halve the rate (not below ``min_rps``).

        Several threads usually see the same overload at once; the rate drops only once per
        pause window so four in-flight 429s do not divide it by sixteen.

        Args:
            retry_after: Seconds the server asked to wait; ``None`` (or a value that is not
                a finite, non-negative number) pauses one interval; at most
                :data:`MAX_PAUSE_S`.
        """
        with self._lock:
            now = self._clock()
            self.penalties += 1
            pause = 1.0 / self._rate
            if retry_after is not None and math.isfinite(retry_after) and retry_after >= 0:
                pause = min(retry_after, MAX_PAUSE_S)
            self._paused_until = max(self._paused_until, now + pause)
            if now >= self._no_decrease_until:
                self._successes = 0
                self._rate = max(self.min_rps, self._rate * DECREASE_FACTOR)
                self._no_decrease_until = max(
                    self._paused_until, now + max(DECREASE_WINDOW_S, 1.0 / self._rate)
                )

    def reward(self) -> None:
        """Count a success; every ``recover_every`` successes the rate grows back a step."""
        with self._lock:
            if self._rate >= self.max_rps:
                return
            self._successes += 1
            if self._successes >= self._recover_every:
                self._successes = 0
                self._rate = min(self.max_rps, self._rate + RECOVER_STEP * self.max_rps)

    def counters(self) -> dict[str, float]:
        """Snapshot of the limiter's counters for reports."""
        with self._lock:
            return {
                "granted": self.granted,
                "penalties": self.penalties,
                "waited_s": self.waited_s,
                "current_rps": self._rate,
                "peak_inflight": self.peak_inflight,
            }


class ThrottleRegistry:
    """Host -> :class:`Throttle`, so every client in a process shares one limiter per host.

    The first request for a host fixes its limits; later callers get the same object.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._throttles: dict[str, Throttle] = {}

    @staticmethod
    def host_key(url: str) -> str:
        """``scheme://host:port`` of ``url``, lower-cased (ports made explicit)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower() or "https"
        port = parts.port or (443 if scheme == "https" else 80)
        return f"{scheme}://{(parts.hostname or '').lower()}:{port}"

    def for_url(
        self, url: str, settings: ThrottleSettings, *, factory: Callable[[], Throttle] | None = None
    ) -> Throttle:
        """The throttle of ``url``'s host, created from ``settings`` on first use."""
        key = self.host_key(url)
        with self._lock:
            throttle = self._throttles.get(key)
            if throttle is None:
                throttle = factory() if factory is not None else Throttle.from_settings(settings)
                self._throttles[key] = throttle
            return throttle

    def clear(self) -> None:
        """Forget every limiter (tests, or a long-lived process changing settings)."""
        with self._lock:
            self._throttles.clear()


_DEFAULT = ThrottleRegistry()


def default_registry() -> ThrottleRegistry:
    """The process-wide registry clients use when not given a throttle."""
    return _DEFAULT

"""A gateway's request budget: at most N requests per fixed window, then 429.

What an API gateway in front of a tenant does with a per-minute quota (the ``minute_budget``
switch of a :class:`~simulator.profiles.Profile`): it counts every Query request, metadata
included, in fixed windows (``budget_window_s``, 60 s by default) and answers 429 **without**
``Retry-After`` once the window's budget is spent, until the next window starts. Rejected
requests do not count. The token endpoint has its own limit (:mod:`simulator.auth`).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import orjson

GATEWAY_BODY = orjson.dumps({"statusCode": 429, "message": "Rate limit is exceeded."})
"""The 429 body: the gateway's own JSON, not an OData error, and no hint when to retry."""


class WindowBudget:
    """Admit at most ``limit`` requests per fixed window of ``window_s`` seconds.

    Thread-safe.

    Args:
        limit: requests allowed per window (at least 1).
        window_s: window length in seconds.
        clock: monotonic seconds (injectable for tests); windows are
            ``[k * window_s, (k + 1) * window_s)`` on this clock.
    """

    def __init__(
        self, limit: int, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if limit < 1 or not (math.isfinite(window_s) and window_s > 0):
            raise ValueError("a budget needs limit >= 1 and a positive window")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._used = 0
        self.rejected = 0
        """Requests answered 429 so far."""

    def admit(self) -> bool:
        """Count one request; False if the current window's budget is already spent."""
        with self._lock:
            window = math.floor(self._clock() / self.window_s)
            if window != self._window:
                self._window, self._used = window, 0
            if self._used >= self.limit:
                self.rejected += 1
                return False
            self._used += 1
            return True

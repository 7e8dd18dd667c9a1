"""When a failed request is tried again, and after how long: one value, no loop.

A :class:`RetryPolicy` answers one question -- "this was failure number *n* of its kind;
wait how long, or give up?" -- so the client's request loop only counts failures and
sleeps. Failures come in two kinds, counted separately so that a stray connection reset in
a run of 5xx answers does not decide which error the caller finally sees (the pager must see
a ``ServerError`` to shrink a page):

* ``page``: 5xx answers and unreadable bodies -- failures a smaller page may cure; the pager
  lowers their retries (:meth:`RetryPolicy.for_shrinking`) while it shrinks a failing page;
* ``transport``: network errors and 429s that say when to come back (``Retry-After``) -- a
  smaller page does not help them, so they keep the full count;
* ``quota``: 429s *without* ``Retry-After``. A gateway with a per-minute quota answers them
  until its window turns, up to a minute later, and a count of quick retries gives up long
  before that. They are bounded by time instead: backoff waits of at most
  :data:`QUOTA_PROBE_S` each, until the request has waited
  :attr:`RetryPolicy.rate_limit_patience_s` in all (``NORCE_RATE_LIMIT_PATIENCE_S``,
  three minutes by default -- longer than any one window).

Waits are jittered exponential backoff ("equal jitter": at least half the step, so waits stay
bounded below and threads that failed together do not retry together); a 429's
``Retry-After`` is waited out as given, unless it is longer than
:attr:`RetryPolicy.max_retry_after_s`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from extract.errors import BadPayload, RateLimited, RetryableError, ServerError
from extract.settings import ThrottleSettings

__all__ = ["FailureKind", "RetryPolicy", "failure_kind"]

FailureKind = Literal["page", "transport", "quota"]
"""``page``: 5xx and unreadable bodies; ``transport``: network errors and 429s with a
``Retry-After``; ``quota``: 429s without one."""

QUOTA_PROBE_S = 15.0
"""Longest single wait after a 429 without ``Retry-After``: the request tries again at
least this often, so it resumes soon after a quota window turns."""

MAX_RETRY_AFTER_S = 600.0
"""A ``Retry-After`` longer than this is not waited out: the request fails with the 429."""

SHRINK_RETRIES = 1
"""Retries of 5xx/unreadable bodies per request while a failing page is shrunk: the first
failure already used the full count, and a smaller page, not patience, is the remedy now."""


def failure_kind(err: RetryableError) -> FailureKind:
    """The kind a retryable failure is counted under."""
    if isinstance(err, ServerError | BadPayload):
        return "page"
    if isinstance(err, RateLimited) and err.retry_after is None:
        return "quota"
    return "transport"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is retried.

    Attributes:
        page_retries: Retries after 5xx answers and unreadable bodies.
        transport_retries: Retries after 429s and network errors.
        backoff_base_s: Wait after the first failure of a kind (before jitter); doubles
            with each further failure of that kind.
        backoff_max_s: Longest backoff wait.
        max_retry_after_s: Longest ``Retry-After`` waited out; a longer one gives up.
        rate_limit_patience_s: Seconds one request may spend waiting out 429s without
            ``Retry-After`` before it gives up.
    """

    page_retries: int = 6
    transport_retries: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 60.0
    max_retry_after_s: float = MAX_RETRY_AFTER_S
    rate_limit_patience_s: float = 180.0

    @classmethod
    def from_settings(cls, throttle: ThrottleSettings) -> RetryPolicy:
        """The policy of ``NORCE_MAX_RETRIES`` and the backoff settings."""
        return cls(
            page_retries=throttle.max_retries,
            transport_retries=throttle.max_retries,
            backoff_base_s=throttle.backoff_base_s,
            backoff_max_s=throttle.backoff_max_s,
            rate_limit_patience_s=throttle.rate_limit_patience_s,
        )

    def for_shrinking(self) -> RetryPolicy:
        """The policy while a failing page is shrunk: :data:`SHRINK_RETRIES` page retries."""
        return replace(self, page_retries=min(self.page_retries, SHRINK_RETRIES))

    def limit(self, kind: FailureKind) -> int | None:
        """Retries allowed for failures of ``kind`` (``None``: bounded by time, not count)."""
        if kind == "quota":
            return None
        return self.page_retries if kind == "page" else self.transport_retries

    def wait(
        self,
        err: RetryableError,
        failures: int,
        draw: Callable[[], float],
        *,
        waited_s: float = 0.0,
    ) -> float | None:
        """Seconds to wait before trying again, or ``None`` to give up.

        Args:
            err: The failure just seen.
            failures: How many failures of ``err``'s kind this request has had, this one
                included (1 for the first).
            draw: Returns a random number in ``[0, 1)`` for the jitter (called only when
                a backoff is computed).
            waited_s: Seconds this request already waited out 429s without ``Retry-After``
                (the ``quota`` kind's bound).

        Returns:
            The ``Retry-After`` of a 429 when it gave one, else a backoff between half and
            all of ``min(backoff_max_s, backoff_base_s * 2 ** (failures - 1))`` (for a 429
            without ``Retry-After``: at most :data:`QUOTA_PROBE_S`, and no more than the
            patience left); ``None`` once the kind's retries (or patience) are used up or
            the server asks to wait too long.
        """
        kind = failure_kind(err)
        if kind == "quota":
            left = self.rate_limit_patience_s - waited_s
            if left <= 0:
                return None
            return min(left, self._backoff(failures, min(QUOTA_PROBE_S, self.backoff_max_s), draw))
        limit = self.limit(kind)
        if limit is not None and failures > limit:
            return None
        if err.retry_after is not None and err.retry_after > self.max_retry_after_s:
            return None
        if isinstance(err, RateLimited) and err.retry_after is not None:
            return err.retry_after
        return self._backoff(failures, self.backoff_max_s, draw)

    def _backoff(self, failures: int, longest: float, draw: Callable[[], float]) -> float:
        """Equal-jitter exponential backoff: half to all of the step, capped at ``longest``."""
        step = self.backoff_base_s * 2.0 ** min(failures - 1, 32)
        ceiling = min(longest, step)
        return ceiling / 2 + draw() * (ceiling / 2)

"""A run's cap on API requests (``NORCE_REQUEST_BUDGET``), shared by every thread."""

from __future__ import annotations

import threading

from extract.errors import BudgetExhausted

__all__ = ["RequestBudget"]


class RequestBudget:
    """A run's cap on API requests; thread-safe.

    Args:
        limit: Most requests (attempts) allowed; ``None`` is unlimited.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._used = 0
        self._lock = threading.Lock()

    @property
    def used(self) -> int:
        """Requests taken so far."""
        with self._lock:
            return self._used

    @property
    def remaining(self) -> int | None:
        """Requests left, or ``None`` when unlimited."""
        with self._lock:
            return None if self.limit is None else max(self.limit - self._used, 0)

    def take(self, entity: str | None = None) -> None:
        """Take one request from the budget.

        Args:
            entity: ``Namespace/EntitySet`` about to be requested, for the message.

        Raises:
            BudgetExhausted: The budget is spent; nothing may be sent.
        """
        with self._lock:
            if self.limit is not None and self._used >= self.limit:
                raise BudgetExhausted(
                    f"request budget of {self.limit} requests spent", entity=entity
                )
            self._used += 1

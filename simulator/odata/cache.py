"""A small thread-safe LRU map bounded by total weight, for per-version query caches."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class WeightedLRU:
    """Least-recently-used map whose entries have weights (e.g. array lengths).

    Args:
        max_weight: total weight kept; the oldest entries go first, but the newest entry is
            always kept, even alone over the budget.
    """

    def __init__(self, max_weight: int) -> None:
        self.max_weight = max_weight
        self._data: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        """The value for ``key`` (now most recently used), or None."""
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            self._data.move_to_end(key)
            return entry[0]

    def put(self, key: Hashable, value: Any, weight: int = 1) -> None:
        """Store ``value`` under ``key`` and evict what no longer fits."""
        with self._lock:
            old = self._data.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._data[key] = (value, weight)
            self._weight += weight
            while self._weight > self.max_weight and len(self._data) > 1:
                _, (_, dropped) = self._data.popitem(last=False)
                self._weight -= dropped

    @property
    def weight(self) -> int:
        """Total weight held."""
        return self._weight

    def __len__(self) -> int:
        return len(self._data)

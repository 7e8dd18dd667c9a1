"""Fault injection for the simulator's Query paths: the ways a real tenant misbehaves.

A run's faults are one spec string, e.g.
``"rate_limit=20,error_rate=0.05,truncate_rate=0.01,poison=Orders/Orders:1234"``, parsed
into a frozen :class:`FaultConfig`; a :class:`FaultInjector` holds the mutable part (the
seeded RNG and the rate-limit window) and answers the app's questions per request.

Keys (all optional):

=====================  ================================================================
``rate_limit=<rps>``   429 with ``Retry-After`` once more than ``rps`` requests arrived in
                       the last second (sliding window; rejected requests do not count)
``error_rate=<p>``     a random 500, 502, 503 or 504 (gateway ones with an HTML body)
``throttle_rate=<p>``  a random 429 with ``Retry-After: 1`` (a busy tenant), at any rate
``deep_skip=<N>``      500 for ``$skip`` > N on the sets in ``deep_skip_sets``
``deep_skip_sets=``    ``Ns/Set`` list, default ``Products/Products``
``latency=<ms>``       added to every Query response, plus ``latency_jitter=<ms>`` at most
``spike_rate=<p>``     occasionally ``spike_ms=<ms>`` more (default 3000)
``truncate_rate=<p>``  200 whose body is cut in the middle (Content-Length matches the cut)
``invalid_json_rate``  200 whose body has garbage spliced into the middle
``reset_rate=<p>``     the connection is dropped without a response
``poison=Ns/Set:key``  any page holding that record (single-column key) answers 500; repeat
                       the key or list several after one ``poison=``
``reporting_500``      Reporting/* and Core/KpiOrders answer 500 (as on the observed tenant)
``seed=<int>``         seed of the fault RNG (default 0), so a run's faults are repeatable
=====================  ================================================================

A value without ``=`` continues the list of the key before it, which is how
``deep_skip_sets=Products/Products,Orders/Orders`` and several poison records fit into one
comma-separated spec. Faults never touch the token endpoint, the admin routes or
``$metadata``.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Literal

import polars as pl

GATEWAY_STATUSES = (500, 502, 503, 504)
REPORTING_SETS = frozenset({"Core/KpiOrders"})
"""Sets that answer 500 under ``reporting_500`` besides the whole Reporting namespace."""

_RATES = (
    "error_rate",
    "throttle_rate",
    "spike_rate",
    "truncate_rate",
    "invalid_json_rate",
    "reset_rate",
)
_ALIASES = {"latency": "latency_ms", "latency_jitter": "latency_jitter_ms"}
_LIST_KEYS = ("deep_skip_sets", "poison")


@dataclass(frozen=True, slots=True)
class PoisonRecord:
    """One record whose pages always fail: ``<namespace>/<set>:<key>``."""

    set_path: str
    key: str

    def __str__(self) -> str:
        return f"{self.set_path}:{self.key}"


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Which faults to inject and how often. The default injects nothing."""

    rate_limit: float | None = None
    """Requests per second over a sliding 1 s window; beyond it 429 + ``Retry-After``."""
    throttle_rate: float = 0.0
    """Probability of a 429 + ``Retry-After: 1`` whatever the request rate (a busy tenant)."""
    error_rate: float = 0.0
    """Probability of a random 500/502/503/504."""
    deep_skip: int | None = None
    """``$skip`` above this answers 500 on ``deep_skip_sets``."""
    deep_skip_sets: tuple[str, ...] = ("Products/Products",)
    """``Namespace/Set`` paths the ``deep_skip`` fault applies to."""
    latency_ms: float = 0.0
    """Fixed latency added to every Query response."""
    latency_jitter_ms: float = 0.0
    """Uniform random extra latency, 0..this."""
    spike_rate: float = 0.0
    """Probability of a latency spike."""
    spike_ms: float = 3000.0
    """Length of a latency spike."""
    truncate_rate: float = 0.0
    """Probability of a 200 whose body is cut in the middle."""
    invalid_json_rate: float = 0.0
    """Probability of a 200 whose body is not valid JSON."""
    reset_rate: float = 0.0
    """Probability of dropping the connection without a response."""
    poison: tuple[PoisonRecord, ...] = ()
    """Records whose pages (and key lookups) always answer 500."""
    reporting_500: bool = False
    """Reporting/* and Core/KpiOrders answer 500."""
    seed: int = 0
    """Seed of the fault RNG."""

    @classmethod
    def parse(cls, spec: str | None) -> FaultConfig:
        """Parse a spec string such as ``"rate_limit=20,error_rate=0.05"``.

        Raises:
            ValueError: listing every unknown key and bad value at once.
        """
        values: dict[str, list[str]] = {}
        problems: list[str] = []
        last: str | None = None
        for raw in (spec or "").split(","):
            item = raw.strip()
            if not item:
                continue
            if "=" not in item:
                if last in _LIST_KEYS:
                    values[last].append(item)
                elif item == "reporting_500":
                    values.setdefault("reporting_500", []).append("true")
                else:
                    problems.append(f"'{item}' is not key=value")
                continue
            key, _, value = (part.strip() for part in item.partition("="))
            key = _ALIASES.get(key, key)
            if key not in _FIELD_NAMES:
                problems.append(f"unknown fault '{key}'")
                last = None
                continue
            if key in values and key not in _LIST_KEYS:
                problems.append(f"'{key}' given twice")
            values.setdefault(key, []).append(value)
            last = key
        kwargs: dict[str, object] = {}
        for key, items in values.items():
            try:
                kwargs[key] = _convert(key, items)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
        if problems:
            raise ValueError("invalid fault spec: " + "; ".join(problems))
        return cls(**kwargs)  # type: ignore[arg-type]

    def to_spec(self) -> str:
        """The spec string that parses back to this config (defaults left out)."""
        parts = []
        default = FaultConfig()
        for f in fields(self):
            value = getattr(self, f.name)
            if value == getattr(default, f.name):
                continue
            name = {v: k for k, v in _ALIASES.items()}.get(f.name, f.name)
            if isinstance(value, tuple):
                parts.append(f"{name}=" + ",".join(str(v) for v in value))
            elif isinstance(value, bool):
                parts.append(f"{name}={'true' if value else 'false'}")
            elif isinstance(value, float) and value.is_integer():
                parts.append(f"{name}={int(value)}")
            else:
                parts.append(f"{name}={value}")
        return ",".join(parts)

    @property
    def active(self) -> bool:
        """True if any fault is switched on."""
        return replace(self, seed=0) != FaultConfig()


_FIELD_NAMES = frozenset(f.name for f in fields(FaultConfig))


def _convert(key: str, items: list[str]) -> object:
    if key == "poison":
        records = []
        for item in items:
            path, sep, record_key = item.rpartition(":")
            if not sep or path.count("/") != 1 or not record_key:
                raise ValueError(f"'{item}' is not <Namespace>/<Set>:<key>")
            records.append(PoisonRecord(path, record_key))
        return tuple(records)
    if key == "deep_skip_sets":
        for item in items:
            if item.count("/") != 1:
                raise ValueError(f"'{item}' is not <Namespace>/<Set>")
        return tuple(items)
    value = items[0]
    if key == "reporting_500":
        if value.lower() not in ("true", "false", "1", "0"):
            raise ValueError(f"'{value}' is not true/false")
        return value.lower() in ("true", "1")
    if key in ("deep_skip", "seed"):
        return int(value)
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"'{value}' must be a non-negative number")
    if key in _RATES and number > 1:
        raise ValueError(f"'{value}' is a probability and must be within 0..1")
    if key == "rate_limit" and number <= 0:
        raise ValueError("must be positive")
    return number


class SimulatedReset(ConnectionResetError):
    """Raised by the app for a ``reset_rate`` fault where it cannot close the socket itself
    (in-process transports), so a test sees the dropped connection as an exception."""


NetworkFault = Literal["reset"] | int | None
"""What happens before a request reaches the service: a reset, a 5xx status, or nothing."""


@dataclass(slots=True)
class FaultCounts:
    """How many faults of each kind were injected (for ``/_sim/stats``)."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str) -> None:
        """Count one injected fault of ``kind``."""
        self.counts[kind] = self.counts.get(kind, 0) + 1


class FaultInjector:
    """The per-run state of a :class:`FaultConfig`: seeded RNG and rate-limit window.

    Thread-safe; one instance serves all requests of an app.

    Args:
        config: the faults to inject.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self, config: FaultConfig | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config or FaultConfig()
        self._clock = clock
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._window: deque[float] = deque()
        self.injected = FaultCounts()
        self._poison: dict[str, set[str]] = {}
        for record in self.config.poison:
            self._poison.setdefault(record.set_path, set()).add(record.key)

    def _chance(self, rate: float) -> bool:
        # No draw for a zero rate, so switching one fault on does not reshuffle the others
        return rate > 0 and self._rng.random() < rate

    def delay_seconds(self) -> float:
        """Latency to add before answering (fixed + jitter + an occasional spike)."""
        c = self.config
        with self._lock:
            ms = c.latency_ms
            if c.latency_jitter_ms > 0:
                ms += self._rng.uniform(0, c.latency_jitter_ms)
            if self._chance(c.spike_rate):
                ms += c.spike_ms
                self.injected.add("spike")
        return ms / 1000.0

    def retry_after(self) -> int | None:
        """Seconds to wait if this request is over the rate limit, else None (and count it)."""
        if self.config.throttle_rate > 0:
            with self._lock:
                if self._chance(self.config.throttle_rate):
                    self.injected.add("throttle")
                    return 1
        limit = self.config.rate_limit
        if limit is None:
            return None
        budget = max(1, int(limit))
        with self._lock:
            now = self._clock()
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= budget:
                self.injected.add("rate_limit")
                return max(1, math.ceil(self._window[0] + 1.0 - now))
            self._window.append(now)
            return None

    def network_fault(self) -> NetworkFault:
        """A dropped connection, a random 5xx status, or None."""
        c = self.config
        with self._lock:
            if self._chance(c.reset_rate):
                self.injected.add("reset")
                return "reset"
            if self._chance(c.error_rate):
                status = self._rng.choice(GATEWAY_STATUSES)
                self.injected.add(f"error_{status}")
                return status
        return None

    def set_failure(self, set_path: str, skip: int | None) -> str | None:
        """Why a request for ``set_path`` must answer 500 before it runs, or None."""
        c = self.config
        if c.reporting_500 and (set_path.startswith("Reporting/") or set_path in REPORTING_SETS):
            with self._lock:
                self.injected.add("reporting_500")
            return f"An error occurred while executing the query for {set_path}."
        if (
            c.deep_skip is not None
            and skip is not None
            and skip > c.deep_skip
            and set_path in c.deep_skip_sets
        ):
            with self._lock:
                self.injected.add("deep_skip")
            return f"Execution Timeout Expired while reading {set_path} at $skip={skip}."
        return None

    def poisoned(self, set_path: str, keys: pl.Series) -> bool:
        """True if ``keys`` (a page's first key column) holds a poisoned record."""
        wanted = self._poison.get(set_path)
        if not wanted or keys.len() == 0:
            return False
        hit = bool(keys.cast(pl.String).is_in(list(wanted)).any())
        if hit:
            with self._lock:
                self.injected.add("poison")
        return hit

    def mangle(self, body: bytes) -> bytes:
        """Maybe cut or corrupt a 200 body (``truncate_rate``, ``invalid_json_rate``)."""
        c = self.config
        with self._lock:
            if self._chance(c.truncate_rate):
                self.injected.add("truncate")
                return body[: len(body) // 2]
            if self._chance(c.invalid_json_rate):
                self.injected.add("invalid_json")
                middle = len(body) // 2
                return body[:middle] + b'",,<upstream error>' + body[middle:]
        return body

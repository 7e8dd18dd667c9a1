"""Measure a section of a workload: wall seconds, CPU seconds, load, peak resident memory."""

from __future__ import annotations

import os
import resource
import time
from types import TracebackType
from typing import Any

import psutil


def cpu_seconds() -> float:
    """User + system CPU of this process (all threads) and its waited-for children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (Linux reports ``ru_maxrss`` in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def children_peak_rss_mib() -> float:
    """Largest peak of any waited-for child process (a tool's subprocess, say), or 0."""
    return round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)


class Meter:
    """``with Meter() as m: ...`` then ``m.figures()``: what the section cost.

    Peak RSS is the process peak at the end of the section, imports and setup included:
    the child process runs one workload, so that is the workload's footprint.
    """

    def __init__(self) -> None:
        self.wall_s = 0.0
        self.cpu_s = 0.0
        self.load_start = 0.0
        self.load_end = 0.0
        self.rss_start_mib = 0.0
        self._t0 = 0.0
        self._c0 = 0.0

    def __enter__(self) -> Meter:
        self.load_start = os.getloadavg()[0]
        self.rss_start_mib = psutil.Process().memory_info().rss / 2**20
        self._c0 = cpu_seconds()
        self._t0 = time.perf_counter()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.wall_s = time.perf_counter() - self._t0
        self.cpu_s = cpu_seconds() - self._c0
        self.load_end = os.getloadavg()[0]

    def figures(self) -> dict[str, Any]:
        """``wall_s``, ``cpu_s``, ``peak_rss_mib`` (this process), ``children_peak_rss_mib``,
        ``rss_start_mib`` (resident when the section began: interpreter, imports, setup) and
        the 1-minute load at start and end."""
        return {
            "wall_s": round(self.wall_s, 3),
            "cpu_s": round(self.cpu_s, 3),
            "peak_rss_mib": peak_rss_mib(),
            "children_peak_rss_mib": children_peak_rss_mib(),
            "rss_start_mib": round(self.rss_start_mib, 1),
            "load_start": round(self.load_start, 2),
            "load_end": round(self.load_end, 2),
        }

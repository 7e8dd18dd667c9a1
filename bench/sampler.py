"""A small sampling profiler over every thread (cProfile sees only the thread it runs in).

Every ``interval_s`` it walks ``sys._current_frames()`` and counts, per function, the samples
in which it is the innermost Python frame ("self") and those in which it is anywhere on the
stack ("total"). These are wall-clock samples: a thread waiting on a socket or a lock counts
where it waits, which is what says whether a load is bound by the server or by itself.
Threads parked in :mod:`threading` waits or on an empty pool queue (an idle worker, the
main thread waiting for futures) are counted as ``idle`` and left out of the ranking.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

DEFAULT_INTERVAL_S = 0.005
_REPO = str(Path(__file__).resolve().parent.parent) + "/"


def short_path(path: str) -> str:
    """``path`` relative to the repository, site-packages or the standard library."""
    stdlib = f"/lib/python{sys.version_info.major}.{sys.version_info.minor}/"
    for marker in (_REPO, "site-packages/", stdlib):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _label(frame: FrameType) -> str:
    code = frame.f_code
    return f"{short_path(code.co_filename)}:{code.co_firstlineno}({code.co_name})"


_IDLE = {
    ("threading.py", "wait"),
    ("threading.py", "_wait_for_tstate_lock"),
    # a pool worker blocked on its empty work queue (a C call, so this is the leaf frame)
    ("concurrent/futures/thread.py", "_worker"),
}


def _idle(frame: FrameType) -> bool:
    code = frame.f_code
    return any(code.co_filename.endswith(f) and code.co_name == n for f, n in _IDLE)


class Sampler:
    """``with Sampler() as s: ...`` then ``s.top(10)``."""

    def __init__(self, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self.self_counts: Counter[str] = Counter()
        self.total_counts: Counter[str] = Counter()
        self.samples = 0
        self.idle = 0
        self.ticks = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval_s):
            self.ticks += 1
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                if _idle(frame):
                    self.idle += 1
                    continue
                self.samples += 1
                self.self_counts[_label(frame)] += 1
                seen: set[str] = set()
                cursor: FrameType | None = frame
                while cursor is not None:
                    seen.add(_label(cursor))
                    cursor = cursor.f_back
                self.total_counts.update(seen)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()

    def by_file(self, n: int = 25) -> dict[str, float]:
        """Self samples per source file (the ``n`` largest), as % of the busy samples."""
        files: Counter[str] = Counter()
        for name, count in self.self_counts.items():
            files[name.rsplit(":", 1)[0]] += count
        total = max(1, self.samples)
        return {f: round(100 * c / total, 1) for f, c in files.most_common(n)}

    def top(self, n: int = 10) -> list[dict[str, Any]]:
        """The ``n`` functions with the most self samples, as shares of the busy samples."""
        total = max(1, self.samples)
        return [
            {
                "function": name,
                "self_pct": round(100 * count / total, 1),
                "total_pct": round(100 * self.total_counts[name] / total, 1),
            }
            for name, count in self.self_counts.most_common(n)
        ]

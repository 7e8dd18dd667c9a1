"""Child-process entry: run one named workload, write its JSON result to a file.

``python -m bench.child RESULT_PATH`` reads ``{"workload": name, "params": {...}}`` on
stdin. Only the workload's own module is imported, so one contender's libraries (dlt, say)
never sit in another's memory figure.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

WORKLOADS: dict[str, str] = {
    "ceiling": "bench.ceiling:run",
    "ours": "bench.ours:run",
    "dlt": "bench.peer_dlt:run",
    "record": "bench.replay:record",
    "loader": "bench.replay:run",
    "loader_profile": "bench.replay:profile",
    "loader_floors": "bench.replay:floors",
    "cycle": "bench.cycle:run",
}
"""Workload name -> ``module:function`` taking the params dict and returning a dict."""


def resolve(name: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """Import the function behind a workload name.

    Raises:
        KeyError: for an unknown name.
    """
    module, _, func = WORKLOADS[name].partition(":")
    target: Callable[[dict[str, Any]], dict[str, Any]] = getattr(
        importlib.import_module(module), func
    )
    return target


def main(result_path: str) -> int:
    request = json.load(sys.stdin)
    try:
        outcome: dict[str, Any] = {"ok": True, **resolve(request["workload"])(request["params"])}
    except Exception as exc:  # reported to the parent, which decides what it means
        outcome = {
            "ok": False,
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=8),
        }
    with open(result_path, "w") as fh:
        json.dump(outcome, fh)
    return 0 if outcome["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

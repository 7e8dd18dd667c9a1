"""Memory what-ifs: settings that move peak RSS, measured at a scale where memory has grown.

At ``scale`` (one simulator process): ours with its defaults, with a smaller ``batch_rows``,
with a larger one (fewer, larger commits: each commit checkpoints and rewrites every
table's last, partly filled row group of 122,880 rows), and with a tighter DuckDB buffer
cap (``NORCE_DUCKDB_MEMORY_MB``); then the pages recorded once and replayed through the
loader path with ours' default cap (128 MiB) and the tighter one (``memory_limit``).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from bench.observe import observe
from bench.pages import ORDER_TYPES, plan_orders
from bench.procs import run_child
from bench.simproc import SimulatorProcess

BATCH_ROWS = 10_000
"""A fifth of the default ``batch_rows``."""
LARGE_BATCH_ROWS = 150_000
"""Three times the default: a third of the commits."""
DUCKDB_LIMIT_MB = 64
"""Half the default cap of ``NORCE_DUCKDB_MEMORY_MB``."""
DUCKDB_LIMIT = f"{DUCKDB_LIMIT_MB}MiB"


def _rate(rows: int, wall_s: float) -> int:
    return round(rows / wall_s) if wall_s else 0


def measure(scale: float, concurrency: int, workdir: Path, seed: int = 42) -> dict[str, Any]:
    """Run the four variants at ``scale``.

    Returns:
        ``scale``, ``rows`` and per variant (``ours``, ``ours_small_batches``,
        ``ours_large_batches``, ``ours_capped``, ``loader``, ``loader_capped``) its figures
        with ``rows_per_s``; ``batch_rows``, ``large_batch_rows`` and ``memory_limit`` name
        the settings tried.
    """
    out: dict[str, Any] = {
        "scale": scale,
        "batch_rows": BATCH_ROWS,
        "large_batch_rows": LARGE_BATCH_ROWS,
        "memory_limit": DUCKDB_LIMIT,
    }
    base = workdir / f"levers-{scale:g}"
    try:
        with SimulatorProcess(scale, seed) as sim:
            rows = sim.rows(*ORDER_TYPES)
            out["rows"] = rows
            for name, overrides in (
                ("ours", None),
                ("ours_small_batches", {"extract.batch_rows": BATCH_ROWS}),
                ("ours_large_batches", {"extract.batch_rows": LARGE_BATCH_ROWS}),
                ("ours_capped", {"warehouse.memory_limit_mb": DUCKDB_LIMIT_MB}),
            ):
                params: dict[str, Any] = {
                    "base_url": sim.base_url,
                    "warehouse": str(base / name / "norce.duckdb"),
                    "concurrency": concurrency,
                }
                if overrides:
                    params["overrides"] = overrides
                result = observe(sim, "ours", params)
                result["rows_per_s"] = _rate(rows, result["wall_s"])
                out[name] = result
                shutil.rmtree(base / name, ignore_errors=True)
            token = sim.token()
            query = plan_orders(sim.base_url, token)
            recording = str(base / "recording")
            observe(
                sim, "record", {"query": query.to_json(), "token": token, "directory": recording}
            )
        for name, limit in (("loader", None), ("loader_capped", DUCKDB_LIMIT)):
            params = {"directory": recording, "warehouse": str(base / name / "norce.duckdb")}
            if limit:
                params["duckdb_memory_limit"] = limit
            result = run_child("loader", params)
            result["rows_per_s"] = _rate(result["rows"], result["wall_s"])
            out[name] = result
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return out

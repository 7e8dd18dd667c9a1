"""Memory what-ifs: settings that move peak RSS, measured at a scale where memory has grown.

At ``scale`` (one simulator process): ours with its defaults, with a smaller ``batch_rows``,
with a larger one (fewer, larger commits), with DuckDB's own checkpoint threshold (16 MiB:
nearly every commit checkpoints and rewrites every table's last, partly filled row group
of 122,880 rows), and with another DuckDB buffer cap (``NORCE_DUCKDB_MEMORY_MB``, the
checkpoint threshold with it); then the pages recorded once and replayed through the
loader path with ours' default cap (64 MiB) and the other one (``memory_limit``).
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
"""Half the default ``batch_rows``."""
LARGE_BATCH_ROWS = 150_000
"""The default before 2026-12-05 was 50,000: three times fewer commits than that."""
DUCKDB_CHECKPOINT_MB = 16
"""DuckDB's own ``checkpoint_threshold``, the loader's before ``NORCE_DUCKDB_CHECKPOINT_MB``."""
DUCKDB_LIMIT_MB = 128
"""Twice the default cap of ``NORCE_DUCKDB_MEMORY_MB`` (the default before 2026-12-05)."""
DUCKDB_LIMIT = f"{DUCKDB_LIMIT_MB}MiB"


def _rate(rows: int, wall_s: float) -> int:
    return round(rows / wall_s) if wall_s else 0


def measure(scale: float, concurrency: int, workdir: Path, seed: int = 42) -> dict[str, Any]:
    """Run the five variants at ``scale`` and the loader path twice.

    Returns:
        ``scale``, ``rows`` and per variant (``ours``, ``ours_small_batches``,
        ``ours_large_batches``, ``ours_checkpoints``, ``ours_capped``, ``loader``,
        ``loader_capped``) its figures with ``rows_per_s``; ``batch_rows``,
        ``large_batch_rows``, ``checkpoint_mb`` and ``memory_limit`` name the settings tried.
    """
    out: dict[str, Any] = {
        "scale": scale,
        "batch_rows": BATCH_ROWS,
        "large_batch_rows": LARGE_BATCH_ROWS,
        "checkpoint_mb": DUCKDB_CHECKPOINT_MB,
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
                ("ours_checkpoints", {"warehouse.checkpoint_mb": DUCKDB_CHECKPOINT_MB}),
                (
                    "ours_capped",
                    {
                        "warehouse.memory_limit_mb": DUCKDB_LIMIT_MB,
                        "warehouse.checkpoint_mb": DUCKDB_LIMIT_MB,
                    },
                ),
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
        for name, limit in (("loader", None), ("loader_capped", DUCKDB_LIMIT_MB)):
            params = {"directory": recording, "warehouse": str(base / name / "norce.duckdb")}
            if limit:
                params["duckdb_memory_limit_mb"] = limit
            result = run_child("loader", params)
            result["rows_per_s"] = _rate(result["rows"], result["wall_s"])
            out[name] = result
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return out

"""Scaling: ours' full load at several data sizes, one simulator process per size.

Time should grow linearly with rows (flat seconds per million rows) and peak memory should
stay flat: the loader holds at most one batch of decoded pages per partition.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.observe import observe
from bench.pages import ORDER_TYPES
from bench.simproc import SimulatorProcess


def point(sim: SimulatorProcess, ours: dict[str, Any], source_rows: int) -> dict[str, Any]:
    """One scaling row from an ours result at the simulator's scale."""
    wall = float(ours["wall_s"])
    return {
        "scale": sim.scale,
        "orders": int(ours["orders"]),
        "rows": source_rows,
        "wall_s": wall,
        "cpu_s": ours["cpu_s"],
        "rows_per_s": round(source_rows / wall) if wall else 0,
        "s_per_million_rows": round(wall / source_rows * 1e6, 2) if source_rows else 0.0,
        "peak_rss_mib": ours["peak_rss_mib"],
        "server_cpu_s": ours["server_cpu_s"],
        "server_rss_mib": round(sim.rss_mib()),
        "requests": ours["server_requests"],
        "load_start": ours["load_start"],
        "load_end": ours["load_end"],
    }


def measure(scale: float, concurrency: int, workdir: Path) -> dict[str, Any]:
    """Start a simulator at ``scale``, run ours' full load against it, return the point."""
    with SimulatorProcess(scale) as sim:
        source_rows = sim.rows(*ORDER_TYPES)
        warehouse = tempfile.mkdtemp(prefix=f"ours-scale{scale:g}-", dir=workdir)
        params = {
            "base_url": sim.base_url,
            "warehouse": str(Path(warehouse) / "norce.duckdb"),
            "concurrency": concurrency,
        }
        try:
            ours = observe(sim, "ours", params)
        finally:
            shutil.rmtree(warehouse, ignore_errors=True)
        return point(sim, ours, source_rows)

"""The whole benchmark, in order, on one machine in one run.

1. At the main scale (one simulator process): a warm-up pass, the ceiling, ours, dlt, a
   sampled profile of ours if it misses the ceiling target, the page recording, then the
   incremental runs on ours' warehouse.
2. With no simulator running: the loader-path replay on one core (and its cProfile if it
   misses its target).
3. At the small scale: ours next to dlt with its default loader format and with parquet.
4. Ours at the other scales, one simulator process each, largest last.
5. The memory what-ifs at the lever scale (:mod:`bench.levers`).
6. The 15-minute cycle at every scale of the series (:mod:`bench.cycle`): a full
   ``norce-wh run``, then one run after k orders changed, timed in its parts, and the
   publish methods on that warehouse file (:mod:`bench.publish_cost`).

Every contender runs in its own child process with the same concurrency.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench import cycle, incremental, levers, scaling
from bench.machine import describe, load_average
from bench.observe import observe
from bench.pages import ORDER_TYPES, plan_orders
from bench.procs import WorkloadFailed, run_child
from bench.simproc import SimulatorProcess

log = logging.getLogger(__name__)

TARGET_CEILING_RATIO = 0.8
TARGET_LOADER_ROWS_S = 150_000


@dataclass(frozen=True)
class BenchConfig:
    """What to measure.

    Attributes:
        main_scale: simulator scale of the comparison, loader and incremental runs.
        scales: scales of the scaling series (the main scale's figures are reused).
        lever_scale: scale of the memory what-ifs (:mod:`bench.levers`).
        concurrency: requests in flight for every contender.
        ks: orders changed before each incremental run (0 measures the constant).
        seed: simulator data seed.
        cycle_k: orders changed before each timed cycle.
        cycle_repeats: timed cycles per scale (the median one is reported).
        cycle_scales: scales of the cycle (``None``: those of the series).
        cycle_keep: directory keeping each scale's full run for later benches of the
            same code (``--keep-full``).
        quick: the smoke-test size (reported as such).
    """

    main_scale: float = 1.0
    scales: tuple[float, ...] = (1.0, 5.0, 20.0)
    lever_scale: float = 5.0
    concurrency: int = 4
    ks: tuple[int, ...] = (0, 10, 1000)
    seed: int = 42
    cycle_k: int = 1000
    cycle_repeats: int = cycle.CYCLE_REPEATS
    cycle_scales: tuple[float, ...] | None = None
    cycle_keep: str | None = None
    quick: bool = False


QUICK = BenchConfig(main_scale=0.05, scales=(0.05,), lever_scale=0.05, cycle_scales=(), quick=True)
SMALL_SCALE = 0.05
"""Scale of the side-by-side with dlt's default loader format (which cannot do scale 1)."""


def _rate(rows: int, wall_s: float) -> int:
    return round(rows / wall_s) if wall_s else 0


def _comparison(cfg: BenchConfig, workdir: Path) -> dict[str, Any]:
    """Everything measured against the main-scale simulator."""
    out: dict[str, Any] = {}
    with SimulatorProcess(cfg.main_scale, cfg.seed) as sim:
        token = sim.token()
        query = plan_orders(sim.base_url, token)
        source: dict[str, Any] = {
            "orders": sim.rows("Orders.Order"),
            "rows": sim.rows(*ORDER_TYPES),
            "partitions": len(query.parts),
            "applications": len({p.application_id for p in query.parts}),
            "simulator_startup_s": round(sim.startup_s, 1),
            "simulator_rss_mib": round(sim.rss_mib()),
        }
        out["source"] = source
        rows = source["rows"]
        fetch = {"query": query.to_json(), "token": token, "concurrency": cfg.concurrency}

        # The first pass over the data fills the simulator's caches; nobody gets that bill.
        out["warmup"] = observe(sim, "ceiling", fetch)
        ceiling = observe(sim, "ceiling", fetch)
        ceiling["rows_per_s"] = _rate(rows, ceiling["wall_s"])
        ceiling["pages_per_s"] = round(ceiling["pages"] / ceiling["wall_s"], 1)
        out["ceiling"] = ceiling

        warehouse = str(workdir / "ours" / "norce.duckdb")
        ours_params = {
            "base_url": sim.base_url,
            "warehouse": warehouse,
            "concurrency": cfg.concurrency,
        }
        ours = observe(sim, "ours", ours_params)
        ours["rows_per_s"] = _rate(rows, ours["wall_s"])
        ours["ratio_to_ceiling"] = round(ceiling["wall_s"] / ours["wall_s"], 3)
        out["ours"] = ours

        try:
            peer = observe(
                sim,
                "dlt",
                {**fetch, "workdir": str(workdir / "dlt")},
            )
            peer["rows_per_s"] = _rate(rows, peer["wall_s"])
            peer["ours_ratio"] = round(peer["wall_s"] / ours["wall_s"], 2)
            out["dlt"] = peer
        except WorkloadFailed as exc:
            log.error("dlt failed: %s", exc)
            out["dlt"] = {"error": str(exc)}

        if ours["ratio_to_ceiling"] < TARGET_CEILING_RATIO:
            profiled = {**ours_params, "warehouse": str(workdir / "prof" / "n.duckdb")}
            sampled = observe(sim, "ours", {**profiled, "profile": True})
            out["ours_profile"] = {
                **sampled["profile"],
                "wall_s": sampled["wall_s"],
                "load_start": sampled["load_start"],
            }

        out["recording"] = observe(
            sim, "record", {**fetch, "directory": str(workdir / "recording")}
        )
        out["incremental"] = incremental.measure(sim, warehouse, cfg.concurrency, cfg.ks)
        out["scaling_main"] = scaling.point(sim, ours, rows)
    return out


def _loader(workdir: Path) -> dict[str, Any]:
    params = {
        "directory": str(workdir / "recording"),
        "warehouse": str(workdir / "replay" / "norce.duckdb"),
    }
    loader = run_child("loader", params)
    loader["rows_per_s"] = _rate(loader["rows"], loader["wall_s"])
    if loader["rows_per_s"] < TARGET_LOADER_ROWS_S:
        params["warehouse"] = str(workdir / "replay-prof" / "norce.duckdb")
        loader["profile"] = run_child("loader_profile", params)
        loader["floors"] = run_child(
            "loader_floors", {**params, "warehouse": str(workdir / "floors" / "n.duckdb")}
        )
    return loader


def _dlt_default(cfg: BenchConfig, workdir: Path) -> dict[str, Any]:
    """dlt with its default ``insert_values`` files next to ours, at the small scale."""
    out: dict[str, Any] = {"scale": SMALL_SCALE}
    with SimulatorProcess(SMALL_SCALE, cfg.seed) as sim:
        token = sim.token()
        query = plan_orders(sim.base_url, token)
        rows = sim.rows(*ORDER_TYPES)
        out["rows"] = rows
        params = {
            "base_url": sim.base_url,
            "warehouse": str(workdir / "small-ours" / "norce.duckdb"),
            "concurrency": cfg.concurrency,
        }
        ours = observe(sim, "ours", params)
        ours["rows_per_s"] = _rate(rows, ours["wall_s"])
        out["ours"] = ours
        fetch = {"query": query.to_json(), "token": token, "concurrency": cfg.concurrency}
        for fmt in ("insert_values", "parquet"):
            workload = {**fetch, "workdir": str(workdir / f"small-dlt-{fmt}"), "file_format": fmt}
            try:
                peer = observe(sim, "dlt", workload)
                peer["rows_per_s"] = _rate(rows, peer["wall_s"])
                out[f"dlt_{fmt}"] = peer
            except WorkloadFailed as exc:
                log.error("dlt (%s) failed: %s", fmt, exc)
                out[f"dlt_{fmt}"] = {"error": str(exc)}
    return out


def _cycles(cfg: BenchConfig, workdir: Path) -> list[dict[str, Any]]:
    scales = cfg.scales if cfg.cycle_scales is None else cfg.cycle_scales
    keep = None if cfg.cycle_keep is None else Path(cfg.cycle_keep)
    return [
        cycle.measure(
            scale, cfg.concurrency, workdir, cfg.cycle_k, cfg.seed, keep, cfg.cycle_repeats
        )
        for scale in scales
    ]


def run_cycles(cfg: BenchConfig) -> dict[str, Any]:
    """Only the 15-minute cycle at every scale of ``cfg`` (``python -m bench --cycle-only``).

    Returns:
        ``machine``, ``config``, ``cycles`` and ``total_s``.
    """
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": describe(), "config": asdict(cfg)}
    workdir = Path(tempfile.mkdtemp(prefix="norce-bench-"))
    try:
        results["cycles"] = _cycles(cfg, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["machine"]["load_avg_1m_at_end"] = load_average()
    results["total_s"] = round(time.perf_counter() - started, 1)
    return results


def run_suite(cfg: BenchConfig) -> dict[str, Any]:
    """Measure everything ``cfg`` asks for.

    Returns:
        The results: ``machine``, ``config``, ``source``, ``ceiling``, ``ours``, ``dlt``,
        ``loader``, ``scaling``, ``incremental`` (and profiles where a target was missed).

    Raises:
        bench.procs.WorkloadFailed: if the ceiling, ours or the loader fails (dlt failing
            is recorded in the results instead).
    """
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": describe(), "config": asdict(cfg)}
    workdir = Path(tempfile.mkdtemp(prefix="norce-bench-"))
    try:
        comparison = _comparison(cfg, workdir)
        scaling_main = comparison.pop("scaling_main")
        results.update(comparison)
        results["loader"] = _loader(workdir)
        results["small"] = _dlt_default(cfg, workdir)
        shutil.rmtree(workdir / "recording", ignore_errors=True)
        points = []
        for scale in cfg.scales:
            if scale == cfg.main_scale:
                points.append(scaling_main)
            else:
                points.append(scaling.measure(scale, cfg.concurrency, workdir))
        results["scaling"] = points
        results["levers"] = levers.measure(cfg.lever_scale, cfg.concurrency, workdir, cfg.seed)
        results["cycles"] = _cycles(cfg, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results["machine"]["load_avg_1m_at_end"] = load_average()
    results["total_s"] = round(time.perf_counter() - started, 1)
    return results

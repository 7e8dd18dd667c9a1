"""The 15-minute cycle: what one ``norce-wh run`` costs after a full load, at several scales.

Per scale, one simulator process: a full ``norce-wh run`` equivalent (extract of the whole
catalog, ``dbt build``, publish, report and pages) builds the warehouse once; its directory
is kept as a snapshot (and, with ``--keep-full DIR``, for later benches of the same code).
Then, again and again, the simulator's clock moves on and k orders change
(``/_sim/clock/advance``, ``/_sim/orders/update``) and a cycle runs on a copy of the
snapshot: a warm-up, then ``repeats`` timed cycles, of which the one with the median wall
time is reported in its parts (one cycle's wall time varies by 10% or more on the shared
2-core machine, and the growth target is a ratio of two of them). The warm-up is what a
schedule pays once:
the full run replaced no published file, so that run's publish has no standby to update
(:mod:`flows.standby`) and copies the whole file, as no later run does. The snapshot also
serves the publish comparison (:mod:`bench.publish_cost`), so the full load is paid once
per scale.

The workload runs the flow's steps in order without Prefect (whose temporary API would add
seconds no scheduled deployment pays): :func:`extract.extract` with the default thread
runner, :func:`flows.build.build_marts`, :func:`flows.publish.publish`,
:func:`flows.report.build_report` and :func:`flows.pages.publish_pages`.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.meter import Meter, cpu_seconds
from bench.observe import observe
from bench.ours import settings_env
from bench.pages import ORDER_TYPES
from bench.simproc import SimulatorProcess

CLOCK_STEP_S = 900
"""The schedule's interval: the clock moves on 15 minutes before the cycle."""
FULL_RUN_TIMEOUT_S = 4 * 3600.0
"""The first run loads the whole catalog and builds every model: at scale 20 it took more
than half an hour (the default workload limit) on the busy 2-core machine (load 13 to 20)."""
FULL_RUN_DBT_MB = 8192
"""``NORCE_DBT_MEMORY_MB`` of the full run: its ``dbt build --full-refresh`` at scale 20
needs more than 2 GiB, and uncapped DuckDB would take 80% of a RAM the simulator shares."""
FULL_RUN_RSS_LIMIT_MIB = 12 * 1024
"""The full run's process is stopped past this (the cap above plus dbt, the loader and
the interpreter)."""
TOP_NODES = 12
"""dbt nodes kept per run in the result, slowest first."""


def run(params: dict[str, Any]) -> dict[str, Any]:
    """One ``norce-wh run`` equivalent, timed in its parts.

    Args:
        params: ``base_url``, ``warehouse`` (published file; the working file is the
            settings' default beside it), ``concurrency``, ``full_refresh`` (bool), optional
            ``dbt_memory_mb`` (``NORCE_DBT_MEMORY_MB``).

    Returns:
        ``status``, ``parts`` (seconds per step), ``rows`` (top-level rows read),
        ``requests``, ``dbt`` (models/tests, slowest nodes), ``published_mib`` and the
        :class:`~bench.meter.Meter` figures of the whole run.
    """
    from extract import RunRequest, extract
    from extract.settings import load_settings
    from flows.build import build_marts
    from flows.pages import publish_pages
    from flows.publish import publish
    from flows.report import build_report

    env = settings_env(params["base_url"], params["warehouse"], int(params["concurrency"]))
    if params.get("dbt_memory_mb"):
        env["NORCE_DBT_MEMORY_MB"] = str(params["dbt_memory_mb"])
    settings = load_settings(env)
    full = bool(params.get("full_refresh"))
    request = RunRequest(mode="full" if full else "incremental", command="run")
    parts: dict[str, float] = {}
    cpu: dict[str, float] = {}
    work_db = settings.warehouse.work_database
    with (
        Meter() as meter,
        _part("extract_s", parts, cpu),
        extract(settings, request) as extracted,
    ):
        summary = extracted.summary
        _close_part("extract_s", parts, cpu)
        with _part("dbt_s", parts, cpu):
            dbt = build_marts(
                work_db, full_refresh=full, memory_limit_mb=settings.warehouse.dbt_memory_limit_mb
            )
        dbt_span = _node_span_s(dbt.target_path / "run_results.json")
        if not dbt.success:
            raise RuntimeError(f"dbt build failed: {dbt.error or dbt.summary()}")
        with _part("publish_s", parts, cpu):
            published = publish(work_db, settings.warehouse.path, run_id=summary.run_id)
        with _part("report_s", parts, cpu):
            report = build_report(summary, database=work_db, dbt=dbt, publish=published)
        with _part("pages_s", parts, cpu):
            publish_pages(report, work_db, published.target)
    return {
        "status": summary.status,
        "parts": {k: round(v, 3) for k, v in parts.items()},
        "cpu_parts": {k: round(v, 3) for k, v in cpu.items()},
        "rows": summary.total("rows"),
        "requests": summary.total("requests"),
        "dbt": {
            **_dbt_figures(dbt.nodes),
            "tests": dbt.tests,
            "nodes_span_s": dbt_span,
            "outside_nodes_s": round(parts["dbt_s"] - dbt_span, 3),
        },
        "published_mib": round(published.bytes / 2**20, 1),
        "publish_method": published.method,
        "publish_written_mib": round(published.written / 2**20, 1),
        **meter.figures(),
    }


@contextmanager
def _part(name: str, wall: dict[str, float], cpu: dict[str, float]) -> Iterator[None]:
    """Time the block as part ``name``: wall and CPU seconds (unless already closed)."""
    wall[name], cpu[name] = -time.perf_counter(), -cpu_seconds()
    try:
        yield
    finally:
        _close_part(name, wall, cpu)


def _close_part(name: str, wall: dict[str, float], cpu: dict[str, float]) -> None:
    """End part ``name`` now; a second call changes nothing."""
    if wall[name] < 0:
        wall[name] += time.perf_counter()
        cpu[name] += cpu_seconds()


def _node_span_s(run_results: Path) -> float:
    """Seconds from the first node's start to the last node's end (dbt's run_results.json).

    The rest of the dbt part is dbt's fixed cost: import, parse, hooks, artifacts.
    """
    from datetime import datetime

    data = json.loads(run_results.read_text())
    stamps = [
        datetime.fromisoformat(t[key].replace("Z", "+00:00"))
        for r in data.get("results", [])
        for t in r.get("timing", [])
        for key in ("started_at", "completed_at")
        if t.get(key)
    ]
    return round((max(stamps) - min(stamps)).total_seconds(), 3) if stamps else 0.0


def _dbt_figures(nodes: Any) -> dict[str, Any]:
    """Seconds by resource type, every node's seconds and the slowest nodes."""
    by_type: dict[str, float] = {}
    for node in nodes:
        by_type[node.resource_type] = by_type.get(node.resource_type, 0.0) + node.execution_time
    slowest = sorted(nodes, key=lambda n: n.execution_time, reverse=True)
    return {
        "nodes": len(nodes),
        "by_type_s": {k: round(v, 2) for k, v in sorted(by_type.items())},
        "models_s": {
            n.name: round(n.execution_time, 3) for n in nodes if n.resource_type == "model"
        },
        "nodes_s": {n.unique_id: round(n.execution_time, 3) for n in nodes},
        "slowest": [
            {"node": n.unique_id, "type": n.resource_type, "s": round(n.execution_time, 3)}
            for n in slowest[:TOP_NODES]
        ],
    }


CYCLE_REPEATS = 3
"""Timed cycles per scale; the report takes the one with the median wall time."""


def measure(
    scale: float,
    concurrency: int,
    workdir: Path,
    k: int,
    seed: int = 42,
    keep: Path | None = None,
    repeats: int = CYCLE_REPEATS,
) -> dict[str, Any]:
    """The full run, then a warm-up and ``repeats`` cycles with ``k`` changed orders each,
    at ``scale``.

    Args:
        keep: Directory that keeps each scale's full run (warehouse and figures) for later
            benches of the same code (see :func:`code_digest`): the full run at scale 20
            takes most of an hour on the 2-core machine and is the same every time.

    Returns:
        ``scale``, ``orders``, ``rows``, ``full`` (the first run; ``reused`` when it came
        from ``keep``), ``warmup`` (the first scheduled run, whose publish has no standby
        yet), ``cycle`` (the timed cycle with the median wall time, with ``k``,
        ``changed`` and ``repeats_s``, every timed cycle's wall seconds in order) and
        ``publish_costs``.
    """
    from bench import publish_cost

    base = workdir / f"cycle-{scale:g}"
    live = base / "live"
    kept = None if keep is None else keep / f"scale-{scale:g}-seed-{seed}-{code_digest()}"
    with SimulatorProcess(scale, seed) as sim:
        orders = sim.rows("Orders.Order")
        rows = sim.rows(*ORDER_TYPES)
        params = {
            "base_url": sim.base_url,
            "warehouse": str(live / "norce.duckdb"),
            "concurrency": concurrency,
        }
        if kept is not None and (kept / "full.json").is_file():
            full = {**json.loads((kept / "full.json").read_text()), "reused": True}
            shutil.copytree(kept / "warehouse", live)
        else:
            full = observe(
                sim,
                "cycle",
                {**params, "full_refresh": True, "dbt_memory_mb": FULL_RUN_DBT_MB},
                timeout_s=FULL_RUN_TIMEOUT_S,
                memory_limit_mib=FULL_RUN_RSS_LIMIT_MIB,
            )
            kept = kept or base / "kept"
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(live, kept / "warehouse")
            (kept / "full.json").write_text(json.dumps(full))  # last: marks it complete
        # The first scheduled run after the full load: its publish is a whole copy (the full
        # run replaced no file, so there is no standby yet). Every later run is like the next.
        sim.admin("clock/advance", {"seconds": CLOCK_STEP_S})
        sim.admin("orders/update", {"count": k})
        warmup = observe(sim, "cycle", params)
        timed: list[dict[str, Any]] = []
        for _ in range(max(1, repeats)):
            sim.admin("clock/advance", {"seconds": CLOCK_STEP_S})
            changed = len(sim.admin("orders/update", {"count": k})["ids"]) if k else 0
            timed.append({**observe(sim, "cycle", params), "k": k, "changed": changed})
            if len(timed) == 1:
                # the standby the first timed cycle synced is the file published two runs
                # before it: the full run's
                synced = publish_cost.measure_sync(
                    kept / "warehouse" / "norce.duckdb",
                    live / "norce.work.duckdb",
                    base / "publish",
                )
    costs = publish_cost.measure(kept / "warehouse", base / "publish")
    costs["changed_blocks"] = synced
    shutil.rmtree(base, ignore_errors=True)
    cycle = sorted(timed, key=lambda run: float(run["wall_s"]))[len(timed) // 2]
    return {
        "scale": scale,
        "orders": orders,
        "rows": rows,
        "full": full,
        "warmup": {"wall_s": warmup["wall_s"], "parts": warmup["parts"]},
        "cycle": {**cycle, "repeats_s": [run["wall_s"] for run in timed]},
        "publish_costs": costs,
    }


CODE_DIRS = ("extract", "simulator", "flows", "dbt_project")
"""What a kept full run depends on: the loader, the simulator's data, the flow, the dbt project."""


def code_digest() -> str:
    """A short hash of the source files under :data:`CODE_DIRS` (not dbt's target/, logs/)."""
    repo = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for top in CODE_DIRS:
        for path in sorted((repo / top).rglob("*")):
            rel = path.relative_to(repo)
            skip = {"target", "logs", "__pycache__"} & set(rel.parts)
            if (
                path.is_file()
                and not skip
                and path.suffix in (".py", ".sql", ".yml", ".csv", ".json", ".md")
            ):
                digest.update(str(rel).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]

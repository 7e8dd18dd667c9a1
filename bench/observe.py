"""Run a workload in a child process while watching the simulator serve it.

Adds what the server side saw to the child's own figures: requests answered (counted by the
simulator itself, token included) and the simulator's CPU seconds, so a report can say
whether a contender was bound by the server or by itself.
"""

from __future__ import annotations

import logging
from typing import Any

from bench.procs import DEFAULT_MEMORY_LIMIT_MIB, DEFAULT_TIMEOUT_S, run_child
from bench.simproc import SimulatorProcess

log = logging.getLogger(__name__)


def observe(
    sim: SimulatorProcess,
    workload: str,
    params: dict[str, Any],
    *,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_limit_mib: int = DEFAULT_MEMORY_LIMIT_MIB,
) -> dict[str, Any]:
    """Run ``workload`` against ``sim``; its result plus ``server_requests``/``server_cpu_s``.

    ``timeout_s`` and ``memory_limit_mib`` bound the workload (see
    :func:`bench.procs.run_child`).

    Raises:
        bench.procs.WorkloadFailed: if the workload fails.
    """
    served, cpu = sim.served(), sim.cpu_s()
    log.info("running %s at scale %g", workload, sim.scale)
    result = run_child(workload, params, timeout_s=timeout_s, memory_limit_mib=memory_limit_mib)
    result["server_requests"] = sim.served() - served
    result["server_cpu_s"] = round(sim.cpu_s() - cpu, 3)
    log.info(
        "%s: %.1f s wall, %.1f s CPU, %.0f MiB peak, %d requests",
        workload,
        result.get("wall_s", 0.0),
        result.get("cpu_s", 0.0),
        result.get("peak_rss_mib", 0.0),
        result["server_requests"],
    )
    return result

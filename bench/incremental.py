"""Incremental cost: after the full load, change k orders and run ours again.

Between runs the simulator's clock moves on an hour (``/_sim/clock/advance``) and k orders
move on a status (``/_sim/orders/update``, which sets ``Updated`` to the simulated now), so
the next run's window holds those k orders and nothing else of the history. A run with k = 0
first measures the constant part: token, applications, ``$metadata``, one short page per
application and the forgotten-records sweep.
"""

from __future__ import annotations

from typing import Any

from bench.observe import observe
from bench.simproc import SimulatorProcess

CLOCK_STEP_S = 3600
PAGE_ROWS = 500


def measure(
    sim: SimulatorProcess, warehouse: str, concurrency: int, ks: tuple[int, ...]
) -> list[dict[str, Any]]:
    """One incremental run of ours per k, in order, on the fully loaded ``warehouse``.

    Returns:
        Per k: ``changed`` (orders the simulator changed), ``requests`` (answered by the
        server, token included; ours' own count is ``summary_requests``),
        ``requests_over_pages`` (requests minus ``changed / 500``), ``orders`` read,
        ``wall_s`` and the rest of ours' figures.
    """
    out: list[dict[str, Any]] = []
    for k in ks:
        sim.admin("clock/advance", {"seconds": CLOCK_STEP_S})
        changed = len(sim.admin("orders/update", {"count": k})["ids"]) if k else 0
        params = {"base_url": sim.base_url, "warehouse": warehouse, "concurrency": concurrency}
        result = observe(sim, "ours", params)
        result.pop("tables", None)
        # ours' own count (without the token request) stays, under another name
        result["summary_requests"] = result.pop("requests")
        requests = int(result["server_requests"])
        out.append(
            {
                **result,
                "k": k,
                "changed": changed,
                "requests": requests,
                "requests_over_pages": round(requests - changed / PAGE_ROWS, 2),
            }
        )
    return out

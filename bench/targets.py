"""The project's performance targets, checked against measured results (never asserted).

Each target becomes ``{"key", "name", "goal", "measured", "met"}``; ``met`` is ``None`` when
the run could not judge it (one scale only, say).
"""

from __future__ import annotations

from typing import Any

from bench.cycle_report import targets as cycle_targets

CEILING_RATIO = 0.6
"""Issue 15's goal on this 2-core box, where the simulator shares the client's cores."""
DLT_RATIO = 5.0
CPU_US_PER_ROW = 8.0
"""Client CPU per source row of the full load at the main scale."""
LOADER_ROWS_S = 150_000
RSS_MIB = 400
"""Peak RSS of the loader process at every scale of the series, default settings."""
RSS_FLAT = 1.25
"""Largest peak RSS over the series / smallest: at most this counts as flat."""
LINEAR = 1.25
"""Seconds per million rows, largest scale / smallest: at most this counts as linear."""
PAGE_ROWS = 500


def _target(key: str, name: str, goal: str, measured: str, met: bool | None) -> dict[str, Any]:
    return {"key": key, "name": name, "goal": goal, "measured": measured, "met": met}


def _throughput(results: dict[str, Any]) -> list[dict[str, Any]]:
    ours = results["ours"]
    out = [
        _target(
            "ceiling",
            "end to end vs raw-fetch ceiling",
            f">= {CEILING_RATIO}x ceiling rows/s",
            f"{ours['ratio_to_ceiling']:.2f}x ({ours['rows_per_s']:,} vs "
            f"{results['ceiling']['rows_per_s']:,} rows/s)",
            ours["ratio_to_ceiling"] >= CEILING_RATIO,
        ),
        _cpu_per_row(results),
    ]
    peer = results.get("dlt", {})
    if "error" in peer or not peer:
        out.append(
            _target("dlt", "ours vs dlt", f">= {DLT_RATIO:g}x dlt rows/s", "dlt failed", None)
        )
    else:
        out.append(
            _target(
                "dlt",
                "ours vs dlt",
                f">= {DLT_RATIO:g}x dlt rows/s",
                f"{peer['ours_ratio']:.2f}x ({ours['rows_per_s']:,} vs "
                f"{peer['rows_per_s']:,} rows/s)",
                peer["ours_ratio"] >= DLT_RATIO,
            )
        )
    loader = results["loader"]
    out.append(
        _target(
            "loader",
            "loader path on one core",
            f">= {LOADER_ROWS_S:,} rows/s",
            f"{loader['rows_per_s']:,} rows/s",
            loader["rows_per_s"] >= LOADER_ROWS_S,
        )
    )
    return out


def _cpu_per_row(results: dict[str, Any]) -> dict[str, Any]:
    ours, rows = results["ours"], results["source"]["rows"]
    us = ours["cpu_s"] / rows * 1e6
    return _target(
        "cpu_row",
        "client CPU per row",
        f"<= {CPU_US_PER_ROW:g} us",
        f"{us:.1f} us ({ours['cpu_s']:.2f} CPU-s for {rows:,} rows)",
        us <= CPU_US_PER_ROW,
    )


def _scaling(results: dict[str, Any]) -> list[dict[str, Any]]:
    points = sorted(results["scaling"], key=lambda p: p["scale"])
    largest, smallest = points[-1], points[0]
    several = len(points) > 1
    rss = [p["peak_rss_mib"] for p in points]
    spm = [p["s_per_million_rows"] for p in points]
    growth = largest["s_per_million_rows"] / smallest["s_per_million_rows"]
    return [
        _target(
            "rss",
            "peak RSS at every scale",
            f"< {RSS_MIB} MiB, default settings",
            "; ".join(
                f"{p['peak_rss_mib']:,.0f} MiB at scale {p['scale']:g} ({p['orders']:,} orders)"
                for p in points
            ),
            max(rss) < RSS_MIB,
        ),
        _target(
            "rss_flat",
            "memory flat across scales",
            f"max/min peak RSS <= {RSS_FLAT}",
            " / ".join(f"{r:,.0f}" for r in rss) + f" MiB (ratio {max(rss) / min(rss):.2f})"
            if several
            else "one scale measured",
            max(rss) / min(rss) <= RSS_FLAT if several else None,
        ),
        _target(
            "linear",
            "time linear in rows",
            f"s per 1M rows, largest/smallest scale <= {LINEAR}",
            " / ".join(f"{s:.2f}" for s in spm) + f" s per 1M rows (ratio {growth:.2f})"
            if several
            else "one scale measured",
            growth <= LINEAR if several else None,
        ),
    ]


def _incremental(results: dict[str, Any]) -> list[dict[str, Any]]:
    runs = results["incremental"]
    base = next((r for r in runs if r["k"] == 0), None)
    if base is None:
        return []
    apps = int(results["source"]["applications"])
    constant = base["requests"] + apps
    out = []
    for r in runs:
        if r["k"] == 0:
            continue
        bound = r["changed"] / PAGE_ROWS + constant
        out.append(
            _target(
                f"incremental_{r['k']}",
                f"incremental requests, k = {r['k']:,}",
                f"<= k/500 + {constant} (k = 0 run's {base['requests']} + one partial page "
                f"per application)",
                f"{r['requests']} requests (bound {bound:.1f})",
                r["requests"] <= bound,
            )
        )
    return out


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with its measured figure and whether it was met."""
    return [
        *_throughput(results),
        *_scaling(results),
        *_incremental(results),
        *cycle_targets(results),
    ]

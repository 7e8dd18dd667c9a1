"""The 15-minute cycle in the report: its table, the slowest dbt nodes, publish methods, targets."""

from __future__ import annotations

from typing import Any

from bench.cycle import TOP_NODES
from bench.sections import table

CYCLE_S = 60.0
"""Goal: one cycle at the largest scale under a minute."""
CYCLE_GROWTH = 2.0
"""Cycle wall time, largest scale / smallest, at most this counts as "not with the table"."""
BUSY_LOAD = 4.0
"""A 1-minute load above this on the 2-core machine is mostly other work than the bench."""
PARTS = ("extract_s", "dbt_s", "publish_s", "report_s", "pages_s")


def _f(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _part(run: dict[str, Any], part: str) -> str:
    """``wall s (CPU s)`` of one part of a run."""
    cpu = run.get("cpu_parts", {}).get(part)
    wall = _f(run["parts"][part], 2)
    return wall if cpu is None else f"{wall} ({_f(cpu, 1)})"


def section(results: dict[str, Any]) -> list[str]:
    """The cycle tables (nothing when the run measured no cycle)."""
    cycles = results.get("cycles") or []
    if not cycles:
        return []
    rows = []
    for c in cycles:
        cy, full = c["cycle"], c["full"]
        rows.append(
            [
                f"{c['scale']:g}",
                f"{c['orders']:,}",
                _f(full["wall_s"]) + (" (kept)" if full.get("reused") else ""),
                f"{cy['changed']:,}",
                _f(cy["wall_s"], 2),
                *(_part(cy, p) for p in PARTS),
                _f(cy["published_mib"], 0),
                _written(cy),
                _f(cy["peak_rss_mib"], 0),
                f"{cy['load_start']:.2f} -> {cy['load_end']:.2f}",
            ]
        )
    header = ["scale", "orders", "full run s", "k changed", "cycle s", "extract", "dbt"]
    header += ["publish", "report", "pages", "file MiB", "written MiB", "peak RSS MiB", "load 1m"]
    lines = [
        "## The 15-minute cycle (`norce-wh run` after a full run; clock +15 min, k orders changed)",
        "",
        *table(header, rows),
        "- One run of the flow's steps without Prefect: extract of the whole catalog (thread "
        "runner), `dbt build` (models and tests), publish, the run report and the docs and "
        "report pages. Parts in wall seconds, with the CPU seconds of the run's process "
        "(dbt included) in brackets where measured; peak RSS is the run's process. "
        "*written MiB*: what the publish wrote to make the new file.",
        *_repeats(cycles),
        *_warmups(cycles),
        "",
        *_dbt_parts(cycles),
        *_nodes(cycles),
        *_publish(cycles),
    ]
    return lines


def _written(cycle: dict[str, Any]) -> str:
    """MiB the publish wrote and how (results before the standby have no method)."""
    method = cycle.get("publish_method")
    if method is None:
        return ""
    how = "changed blocks" if method == "changed blocks" else f"whole copy, {method}"
    return f"{_f(cycle['publish_written_mib'], 0)} ({how})"


def _repeats(cycles: list[dict[str, Any]]) -> list[str]:
    """Every timed cycle's wall time, where a scale timed more than one."""
    done = [c for c in cycles if len(c["cycle"].get("repeats_s") or ()) > 1]
    if not done:
        return []
    each = "; ".join(
        f"scale {c['scale']:g} " + " / ".join(f"{w:.1f}" for w in c["cycle"]["repeats_s"]) + " s"
        for c in done
    )
    return [
        "- Each scale timed several cycles in a row (the clock and k orders moved before "
        f"each); the row is the one with the median wall time: {each}."
    ]


def _warmups(cycles: list[dict[str, Any]]) -> list[str]:
    """The untimed first cycle of each scale, whose publish had no standby yet."""
    done = [c for c in cycles if "warmup" in c]
    if not done:
        return []
    each = "; ".join(
        f"scale {c['scale']:g} {c['warmup']['wall_s']:.1f} s, its publish "
        f"{c['warmup']['parts']['publish_s']:.2f} s"
        for c in done
    )
    return [
        "- The timed cycles follow a first one after the full run, which a schedule pays "
        f"once: it has no standby to publish into and copies the whole file: {each}."
    ]


DBT_TYPES = ("model", "test", "snapshot", "seed", "unit_test")


def _dbt_parts(cycles: list[dict[str, Any]]) -> list[str]:
    """The cycle's dbt part split: dbt's fixed cost, then node seconds by resource type."""
    rows = []
    for c in cycles:
        dbt = c["cycle"]["dbt"]
        if "outside_nodes_s" not in dbt:
            continue
        by_type = dbt["by_type_s"]
        rows.append(
            [
                f"{c['scale']:g}",
                _f(c["cycle"]["parts"]["dbt_s"], 2),
                _f(dbt["outside_nodes_s"], 2),
                _f(dbt["nodes_span_s"], 2),
                *(_f(by_type.get(t, 0.0), 2) for t in DBT_TYPES),
                str(dbt.get("tests") or ""),
            ]
        )
    if not rows:
        return []
    header = ["scale", "dbt s", "outside nodes s", "nodes span s", *DBT_TYPES, "data tests"]
    return [
        "The cycle's `dbt build`: wall seconds outside the nodes (import, parse, hooks, "
        "artifacts) and from the first node's start to the last one's end; then node seconds "
        "by resource type, summed over dbt's threads (so they add up to more than the span):",
        "",
        *table(header, rows),
    ]


def _nodes(cycles: list[dict[str, Any]]) -> list[str]:
    """The dbt nodes of the cycle, slowest at the largest scale, with every scale's time and
    the largest/smallest ratio: what grows with the table."""
    largest, smallest = max(cycles, key=lambda c: c["scale"]), min(cycles, key=lambda c: c["scale"])
    by_scale = {c["scale"]: _node_seconds(c) for c in cycles}
    top = by_scale[largest["scale"]]
    names = sorted(top, key=lambda n: top[n], reverse=True)[:TOP_NODES]
    several = len(cycles) > 1
    rows = []
    for name in names:
        cells = [_f(by_scale[c["scale"]].get(name), 2) for c in cycles]
        low = by_scale[smallest["scale"]].get(name)
        ratio = f"{top[name] / low:.1f}" if several and low else ""
        rows.append([f"`{name.split('.', 2)[-1]}`", *cells, *([ratio] if several else [])])
    totals = [
        ", ".join(f"{k} {v:.1f} s" for k, v in c["cycle"]["dbt"]["by_type_s"].items())
        for c in cycles
    ]
    header = ["dbt node (cycle)", *(f"scale {c['scale']:g} s" for c in cycles)]
    if several:
        header.append(f"x (scale {largest['scale']:g} / {smallest['scale']:g})")
    return [
        f"Slowest dbt nodes of the cycle at scale {largest['scale']:g} (blank: not measured "
        "at that scale):",
        "",
        *table(header, rows),
        *(f"- scale {c['scale']:g}: {t}" for c, t in zip(cycles, totals, strict=True)),
        "",
    ]


def _node_seconds(cycle: dict[str, Any]) -> dict[str, float]:
    """Every node's seconds in a cycle (only the slowest in results before issue 15)."""
    dbt = cycle["cycle"]["dbt"]
    if "nodes_s" in dbt:
        return dict(dbt["nodes_s"])
    return {n["node"]: n["s"] for n in dbt["slowest"]}


def _publish(cycles: list[dict[str, Any]]) -> list[str]:
    rows = []
    for c in cycles:
        p = c["publish_costs"]
        cells = [f"{c['scale']:g}", f"{p['bytes'] / 2**20:,.0f}"]
        for method in ("python_copy", "kernel_copy", "reflink"):
            m = p.get(method)
            cells.append("unsupported" if m is None else f"{m['copy_s']:.2f} + {m['fsync_s']:.2f}")
        synced = p.get("changed_blocks")
        cells.append(
            ""
            if synced is None
            else f"{synced['copy_s']:.2f} + {synced['fsync_s']:.2f} "
            f"({synced['written'] / 2**20:,.0f} MiB)"
        )
        rows.append(cells)
    header = ["scale", "file MiB", "python copy s", "copy_file_range s", "reflink s"]
    header.append("changed blocks s")
    return [
        "Making the new inode a publish renames into place, by method (copy + fsync seconds, "
        "on the full run's working file, its pages clean; *changed blocks*: the full run's "
        "published file, flushed, brought up to the timed cycle's working file, two runs "
        "later, as a scheduled publish updates its standby):",
        "",
        *table(header, rows),
    ]


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The cycle's goals: under a minute at the largest scale, not growing with the table."""
    cycles = sorted(results.get("cycles") or [], key=lambda c: c["scale"])
    if not cycles:
        return []
    largest, smallest = cycles[-1], cycles[0]
    wall = float(largest["cycle"]["wall_s"])
    out = [
        {
            "key": "cycle",
            "name": "15-minute cycle at the largest scale",
            "goal": f"< {CYCLE_S:.0f} s (k = {largest['cycle']['k']:,})",
            "measured": f"{wall:.1f} s at scale {largest['scale']:g} "
            f"({largest['orders']:,} orders)",
            "met": wall < CYCLE_S,
        }
    ]
    several = len(cycles) > 1
    growth = wall / float(smallest["cycle"]["wall_s"]) if several else 0.0
    out.append(
        {
            "key": "cycle_growth",
            "name": "cycle grows with k, not with the table",
            "goal": f"cycle s, largest/smallest scale <= {CYCLE_GROWTH:g} "
            f"(table {largest['orders'] / smallest['orders']:.0f}x)",
            "measured": " / ".join(f"{c['cycle']['wall_s']:.1f}" for c in cycles)
            + f" s (ratio {growth:.2f}{_median_of(cycles)})"
            if several
            else "one scale measured",
            "met": growth <= CYCLE_GROWTH if several else None,
        }
    )
    return out


def _growth_caveat(smallest: dict[str, Any], largest: dict[str, Any]) -> list[str]:
    """CPU growth where both runs measured it, and a warning when the loads differ."""
    lines = []
    a, b = smallest["cycle"], largest["cycle"]
    if a.get("cpu_parts") and b.get("cpu_parts"):
        grew = [
            f"{p.removesuffix('_s')} x{b['cpu_parts'][p] / a['cpu_parts'][p]:.1f}"
            for p in PARTS
            if a["cpu_parts"][p] > 0.05
        ]
        lines.append(f"In CPU seconds the parts grew: {', '.join(grew)}.")
    load_a = max(a["load_start"], a["load_end"])
    load_b = max(b["load_start"], b["load_end"])
    if max(load_a, load_b) > BUSY_LOAD:
        lines.append(
            f"The machine was busy (1-minute load up to {load_a:.1f} and {load_b:.1f} during "
            "the two cycles; the bench alone keeps it near 2): wall times include other work, "
            "CPU seconds are the better guide."
        )
    return lines


def explain(results: dict[str, Any]) -> list[str]:
    """Where the cycle's time goes at the largest scale and what grows with the table."""
    cycles = sorted(results.get("cycles") or [], key=lambda c: c["scale"])
    largest, smallest = cycles[-1], cycles[0]
    parts = largest["cycle"]["parts"]
    wall = float(largest["cycle"]["wall_s"])
    shares = ", ".join(f"{p.removesuffix('_s')} {parts[p]:.1f} s" for p in PARTS)
    lines = [
        f"At scale {largest['scale']:g} the cycle took {wall:.1f} s: {shares} (the rest: "
        "interpreter, settings, lock).",
    ]
    if len(cycles) > 1:
        ratio = largest["orders"] / smallest["orders"]
        grew = [
            f"{p.removesuffix('_s')} x{parts[p] / smallest['cycle']['parts'][p]:.1f}"
            for p in PARTS
            if smallest["cycle"]["parts"][p] > 0.05
        ]
        lines.append(
            f"From scale {smallest['scale']:g} to {largest['scale']:g} (table x{ratio:.0f}) "
            f"the parts grew: {', '.join(grew)}."
        )
        lines += _growth_caveat(smallest, largest)
        before = {n["node"]: n["s"] for n in smallest["cycle"]["dbt"]["slowest"]}
        growing = [
            f"`{n['node'].split('.', 2)[-1]}` {before[n['node']]:.2f} -> {n['s']:.2f} s"
            for n in largest["cycle"]["dbt"]["slowest"]
            if n["type"] != "unit_test"  # fixtures only: the same work at any scale
            and n["node"] in before
            and n["s"] > 2 * max(before[n["node"]], 0.05)
        ]
        if growing:
            lines.append("dbt nodes that grow with the table: " + "; ".join(growing) + ".")
    return lines


def _median_of(cycles: list[dict[str, Any]]) -> str:
    """'; medians of 3 cycles' when every scale timed the same number of cycles (> 1)."""
    counts = {len(c["cycle"].get("repeats_s") or ()) for c in cycles}
    if len(counts) != 1:
        return ""
    (count,) = counts
    return f"; medians of {count} cycles" if count > 1 else ""

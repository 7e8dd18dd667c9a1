"""What bounds a missed target, worked out from the measured figures and profiles.

Profiles attribute time to source files; :data:`STAGES` groups those files into the stages
of the load, each with what it is and what would make it cheaper. The notes name mechanisms
of the code as it is (see the modules named); the figures next to them are measured.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench import cycle_report
from bench.targets import CEILING_RATIO, CPU_US_PER_ROW, LOADER_ROWS_S
from extract.settings.sections import ExtractSettings, WarehouseSettings

STAGES: tuple[tuple[str, tuple[str, ...], str], ...] = (
    (
        "HTTP: threads waiting for / reading responses",
        ("httpcore/", "httpx/", "h11/", "socket.py", "ssl.py", "selectors.py", "extract/http/"),
        "time the simulator takes per page; client work cannot shorten it, only keep more "
        "requests in flight while it decodes",
    ),
    (
        "page parse (pyarrow's JSON reader, extract/decode/arrow_pages.py)",
        ("extract/decode/arrow_pages.py", "pyarrow/json"),
        "fewer bytes per row or a faster parser: the reader parses about 250 MB/s per core "
        "here with the plan's explicit schema, and a page carries about 1 KB per row",
    ),
    (
        "typing, key rules and hashing (extract/decode/, extract/schema/privacy.py)",
        ("extract/decode/", "extract/schema/privacy.py", "msgspec", "pyarrow/", "hashlib"),
        "casts over whole columns already; what is left is per distinct personal value "
        "(hashlib) and the exact msgspec path for pages Arrow refuses",
    ),
    (
        "DuckDB writes and waits for the one writer (extract/load/)",
        ("extract/load/", "duckdb/"),
        "fewer, larger commits and checkpoints: each checkpoint (at "
        "`NORCE_DUCKDB_CHECKPOINT_MB` of log) rewrites every table's last, partly filled row "
        "group of 122,880 rows (see the what-ifs, which cost memory); a thread waiting for "
        "the writer lock shows here too (`transaction`, `states`)",
    ),
)


def _stage(file: str) -> str:
    for name, markers, _ in STAGES:
        if any(marker in file for marker in markers):
            return name
    if file.startswith("~"):
        return "C built-ins called from several stages (bytes.join, file reads)"
    return "other"


def _split(by_file: dict[str, float]) -> list[tuple[str, float]]:
    sums: dict[str, float] = {}
    for file, pct in by_file.items():
        stage = _stage(file)
        sums[stage] = sums.get(stage, 0.0) + pct
    return sorted(sums.items(), key=lambda kv: kv[1], reverse=True)


def _stage_lines(by_file: dict[str, float], unit: str, threads: float | None) -> list[str]:
    notes = {name: note for name, _, note in STAGES}
    lines = [f"Where the time goes ({unit}):", ""]
    for name, pct in _split(by_file):
        busy = f" (~{pct / 100 * threads:.1f} threads on average)" if threads else ""
        note = notes.get(name)
        lines.append(
            f"- {name}: {pct:.0f}%{busy}" + (f". Would move with: {note}." if note else "")
        )
    return [*lines, ""]


def _top_table(top: list[dict[str, Any]], columns: list[tuple[str, str]]) -> list[str]:
    lines = ["| " + " | ".join(h for h, _ in columns) + " |", "|" + "---|" * len(columns)]
    for row in top:
        cells = [f"`{row[k]}`" if k == "function" else str(row[k]) for _, k in columns]
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


def _ceiling(results: dict[str, Any]) -> list[str]:
    ours, ceiling, loader = results["ours"], results["ceiling"], results["loader"]
    cores = results["machine"]["cores"]
    rows = results["source"]["rows"]
    work = ours["cpu_s"] + ours["server_cpu_s"]
    floor = work / cores
    lines = [
        f"- Ceiling: {ceiling['wall_s']:.2f} s wall; its client used {ceiling['cpu_s']:.2f} "
        f"CPU-s, the simulator {ceiling['server_cpu_s']:.2f} CPU-s.",
        f"- Ours: {ours['wall_s']:.2f} s wall; the client used {ours['cpu_s']:.2f} CPU-s "
        f"({ours['cpu_s'] / rows * 1e6:.1f} us per row, {ours['cpu_s'] / ours['wall_s']:.2f} "
        f"cores on average), the simulator {ours['server_cpu_s']:.2f} CPU-s.",
        f"- CPU floor: client + simulator need {work:.2f} CPU-s; on {cores} cores no schedule "
        f"finishes in under {floor:.2f} s, so the best ratio this machine allows with today's "
        f"client CPU per row is {ceiling['wall_s'] / floor:.2f}"
        + (
            "; the client's own work is the larger part, and the simulator competes with it "
            "for the same cores."
            if ours["cpu_s"] > ours["server_cpu_s"]
            else "; the simulator's share is the larger part."
        ),
        f"- The client's work alone, without network, on one core (loader path): "
        f"{loader['wall_s']:.2f} s for the same rows, {loader['wall_s'] / ceiling['wall_s']:.1f}x "
        "the whole ceiling run.",
    ]
    lines += _client_budget(results)
    if ours["ratio_to_ceiling"] < ceiling["wall_s"] / floor - 0.05:
        lines.append(
            f"- The rest of the gap (measured {ours['ratio_to_ceiling']:.2f} vs the floor's "
            f"{ceiling['wall_s'] / floor:.2f}) is waiting: decoding holds the GIL, and while a "
            "thread decodes or queues for the warehouse connection it has no request in flight."
        )
    lines.append("")
    prof = results.get("ours_profile")
    if prof:
        ticks = prof.get("ticks") or 0
        threads = prof["samples"] / ticks if ticks else None
        lines.append(
            f"Sampled profile of a second full load ({prof['samples']:,} busy thread samples "
            f"every 5 ms over all threads, {prof['idle']:,} idle ones left out; "
            f"{prof['wall_s']:.1f} s wall, load {prof['load_start']:.2f}):"
        )
        lines.append("")
        lines += _top_table(
            prof["top"],
            [("function", "function"), ("self %", "self_pct"), ("on stack %", "total_pct")],
        )
        lines += _stage_lines(prof["by_file_pct"], "share of busy thread samples", threads)
    return lines


def _client_budget(results: dict[str, Any]) -> list[str]:
    """What the ceiling and CPU goals leave the client, against what the loop's own steps
    need at least (the loader floors; none when the loader path met its goal)."""
    floors = results["loader"].get("floors")
    if not floors:
        return []
    ours, ceiling = results["ours"], results["ceiling"]
    cores, rows = results["machine"]["cores"], results["source"]["rows"]
    # at CEILING_RATIO the load may take ceiling wall / ratio; CPU-bound on the cores, the
    # client gets what the simulator leaves of them
    allowed = cores * ceiling["wall_s"] / CEILING_RATIO - ours["server_cpu_s"]
    # fetching over sockets as the ceiling's client does, the loader's decode, storing once
    least = ceiling["cpu_s"] + floors["decode_s"] + floors["store_s"]
    return [
        f"- What the goals leave the client: at {CEILING_RATIO}x the load has "
        f"{ceiling['wall_s'] / CEILING_RATIO:.2f} s, so with the simulator's "
        f"{ours['server_cpu_s']:.2f} CPU-s on {cores} cores the client may spend at most "
        f"{allowed:.2f} CPU-s ({allowed / rows * 1e6:.1f} us per row; the CPU goal: "
        f"{CPU_US_PER_ROW:g}), and less if any core waits. The loop's own steps, each alone, "
        f"need at least {least:.2f} CPU-s ({least / rows * 1e6:.1f} us per row): the "
        f"ceiling client's fetch over sockets {ceiling['cpu_s']:.2f} s, the loader's decode "
        f"{floors['decode_s']:.2f} s and DuckDB storing every row once, uncapped, "
        f"{floors['store_s']:.2f} s (loader path floors, below). Ours spent "
        f"{ours['cpu_s']:.2f} CPU-s ({ours['cpu_s'] / rows * 1e6:.1f} us per row).",
    ]


def _dlt(results: dict[str, Any]) -> list[str]:
    peer, ours = results["dlt"], results["ours"]
    if "error" in peer:
        return [f"- dlt did not complete: `{peer['error'].splitlines()[0]}`"]
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in peer["step_s"].items())
    return [
        f"- dlt ({peer['file_format']} loader files): {peer['wall_s']:.1f} s wall, "
        f"{peer['cpu_s']:.1f} CPU-s; steps {steps}. Ours: {ours['wall_s']:.1f} s, "
        f"{ours['cpu_s']:.1f} CPU-s.",
        "- Both are bounded by client CPU per row; dlt's is spent in Python per row "
        "(normalising nested JSON into child tables, writing files).",
    ]


def _loader(results: dict[str, Any]) -> list[str]:
    r = results["loader"]
    lines = [
        f"- {r['rows']:,} rows in {r['wall_s']:.2f} s on one core: read + decode "
        f"{r['fetch_decode_s']:.2f} s ({r['rows'] / max(r['fetch_decode_s'], 1e-9):,.0f} "
        f"rows/s alone), DuckDB merge {r['load_s']:.2f} s "
        f"({r['rows'] / max(r['load_s'], 1e-9):,.0f} rows/s alone). Both halves would have "
        "to get faster: at 150,000 rows/s the whole loop has "
        f"{r['rows'] / 150_000:.2f} s.",
        "",
    ]
    floor = r.get("floors")
    if floor:
        lines[-1:] = [
            "- What the libraries need at least on this core, each step alone over the same "
            f"pages: reading the bodies {floor['read_s']:.2f} s, fetching them through the "
            f"loop's httpx client {floor['fetch_s']:.2f} s; Arrow's JSON reader parsing "
            f"them against the plan's schema {floor['parse_s']:.2f} s (msgspec's parse into "
            f"Python objects, for reference: {floor['msgspec_s']:.2f} s); DuckDB storing "
            f"every decoded row in one transaction with no buffer cap, checkpoint included, "
            f"{floor['store_s']:.2f} s. So the loop cannot beat "
            f"{floor['floor_rows_per_s']:,} rows/s with these libraries, whatever its typing. "
            f"With the loader's own decode ({floor['decode_s']:.2f} s: the parse, typing, key "
            "rules and hashing of personal fields, which exactness and privacy need) in place "
            f"of the parse, {floor['decode_floor_rows_per_s']:,} rows/s. Ours reaches "
            f"{r['rows_per_s'] / max(floor['decode_floor_rows_per_s'], 1):.0%} of that and "
            f"the goal is {LOADER_ROWS_S / max(floor['decode_floor_rows_per_s'], 1):.0%} of "
            "it: a loop whose steps cost no more together than alone. The "
            "rest is DuckDB writing 20,000-row batches through its log under the 64 MiB cap "
            "(the memory goal) rather than once, and per-page work.",
            "",
        ]
    prof = r.get("profile")
    if prof:
        lines.append(f"cProfile of the same replay (own time; {prof['total_s']:.2f} s total):")
        lines.append("")
        lines += _top_table(
            prof["top"],
            [("function", "function"), ("own s", "own_s"), ("cum s", "cum_s"), ("calls", "calls")],
        )
        lines += _stage_lines(prof["by_file_pct"], "share of own time", None)
    return lines


def _rss(results: dict[str, Any]) -> list[str]:
    points = sorted(results["scaling"], key=lambda p: p["scale"])
    ours = results["ours"]
    per = "; ".join(f"scale {p['scale']:g}: {p['peak_rss_mib']:,.0f} MiB" for p in points)
    lines = [
        f"- Peak RSS per scale: {per}.",
        f"- {ours['rss_start_mib']:,.0f} MiB is there before the run starts (interpreter "
        "with duckdb, pyarrow, httpx and msgspec imported).",
        f"- The rest: decoded batches held until a merge (`batch_rows` = "
        f"{ExtractSettings().batch_rows:,} rows across the tables, per partition in flight), "
        "allocator memory not returned after them, DuckDB's buffer pool, capped by "
        f"`NORCE_DUCKDB_MEMORY_MB` ({WarehouseSettings().memory_limit_mb} MiB by default), and "
        "DuckDB's working memory while it checkpoints.",
    ]
    lv = results.get("levers")
    if lv:
        default, small = lv["ours"], lv["ours_small_batches"]
        loader, capped = lv["loader"], lv["loader_capped"]
        lines.append(
            f"- Measured at scale {lv['scale']:g}: ours with `batch_rows` = "
            f"{lv['batch_rows']:,} peaked at {small['peak_rss_mib']:,.0f} MiB (defaults: "
            f"{default['peak_rss_mib']:,.0f}) in {small['wall_s']:.1f} s (defaults: "
            f"{default['wall_s']:.1f} s); the loader path with DuckDB `memory_limit` = "
            f"{lv['memory_limit']} peaked at {capped['peak_rss_mib']:,.0f} MiB (default cap: "
            f"{loader['peak_rss_mib']:,.0f}) at {capped['rows_per_s']:,} rows/s (default cap: "
            f"{loader['rows_per_s']:,})."
        )
        large = lv.get("ours_large_batches")
        if large:
            lines.append(
                f"- Fewer, larger commits: `batch_rows` = {lv['large_batch_rows']:,} loaded at "
                f"{large['rows_per_s']:,} rows/s (defaults: {default['rows_per_s']:,}) and "
                f"peaked at {large['peak_rss_mib']:,.0f} MiB (defaults: "
                f"{default['peak_rss_mib']:,.0f}): fewer commits cost less DuckDB work, but "
                "the partitions hold more rows until then."
            )
        checkpoints = lv.get("ours_checkpoints")
        if checkpoints:
            lines.append(
                f"- DuckDB's own checkpoint threshold, {lv['checkpoint_mb']} MiB (a checkpoint "
                f"at nearly every commit): {checkpoints['rows_per_s']:,} rows/s and "
                f"{checkpoints['peak_rss_mib']:,.0f} MiB (defaults: {default['rows_per_s']:,} "
                f"rows/s, {default['peak_rss_mib']:,.0f} MiB, checkpointing at "
                f"{WarehouseSettings().checkpoint_mb} MiB of log)."
            )
        capped_e2e = lv.get("ours_capped")
        if capped_e2e:
            lines.append(
                f"- End to end, ours with DuckDB's cap at {lv['memory_limit']} peaked at "
                f"{capped_e2e['peak_rss_mib']:,.0f} MiB at {capped_e2e['rows_per_s']:,} rows/s "
                f"(defaults: {default['peak_rss_mib']:,.0f} MiB at {default['rows_per_s']:,} "
                "rows/s)."
            )
    if lv:
        main, big = results["loader"], lv["loader"]
        lines.append(
            f"- With one thread and a fixed batch size the loader path still grows: "
            f"{main['peak_rss_mib']:,.0f} MiB at scale {results['config']['main_scale']:g}, "
            f"{big['peak_rss_mib']:,.0f} MiB at scale {lv['scale']:g}. What grows is "
            "DuckDB's buffer pool, up to its cap, as the tables grow, and what the allocators "
            "keep after each batch."
        )
    lines.append(
        "- The levers are settings: `[extract] batch_rows` (TOML), `NORCE_DUCKDB_MEMORY_MB` "
        "and `NORCE_DUCKDB_CHECKPOINT_MB` (at most the cap: a checkpoint of a log larger "
        "than the cap failed to pin its blocks at 1.2M orders). Lower values lower the peak "
        "at some throughput, higher `batch_rows` raise both."
    )
    return lines


def _scaling(results: dict[str, Any]) -> list[str]:
    points = sorted(results["scaling"], key=lambda p: p["scale"])
    return [
        "- Per scale: "
        + "; ".join(
            f"{p['scale']:g}: {p['s_per_million_rows']:.2f} s per 1M rows, "
            f"{p['peak_rss_mib']:,.0f} MiB, load {p['load_start']:.2f}"
            for p in points
        )
        + ".",
        "- Client CPU per row: "
        + ", ".join(
            f"{p['cpu_s'] / p['rows'] * 1e6:.1f} us at scale {p['scale']:g}" for p in points
        )
        + "; the simulator's: "
        + ", ".join(
            f"{p['server_cpu_s'] / p['rows'] * 1e6:.1f} us at scale {p['scale']:g}" for p in points
        )
        + ". A first load writes insert-only (every key range is empty when its pass "
        "begins): the one delete left, of order lines by their own key, skips the row groups "
        "outside the batch's keys. What else grows is not profiled per scale. The load "
        "average beside each figure shows how busy the machine was.",
    ]


def _incremental(results: dict[str, Any], key: str) -> list[str]:
    k = int(key.rsplit("_", 1)[1])
    run = next(r for r in results["incremental"] if r["k"] == k)
    return [
        f"- k = {k}: {run['requests']} requests, {run['pages']} data pages, "
        f"{run['orders']:,} orders read in {run['wall_s']:.2f} s.",
    ]


EXPLAINERS: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "ceiling": _ceiling,
    "cpu_row": _ceiling,
    "dlt": _dlt,
    "loader": _loader,
    "rss": _rss,
    "rss_flat": _rss,
    "linear": _scaling,
    "cycle": cycle_report.explain,
    "cycle_growth": cycle_report.explain,
}


def explain(key: str, results: dict[str, Any]) -> list[str]:
    """Markdown lines on what bounds target ``key`` in ``results``."""
    if key.startswith("incremental_"):
        return _incremental(results, key)
    return EXPLAINERS[key](results)

"""The Markdown sections of the benchmark report, one function per measurement."""

from __future__ import annotations

from typing import Any

from extract.settings.sections import ExtractSettings


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _f(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def _load(r: dict[str, Any]) -> str:
    return f"{r['load_start']:.2f} -> {r['load_end']:.2f}"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A Markdown table followed by a blank line."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def machine(results: dict[str, Any]) -> list[str]:
    """CPU, cores, memory, versions and the load average."""
    m = results["machine"]
    packages = ", ".join(f"{k} {v}" for k, v in m["packages"].items())
    return [
        "## Machine",
        "",
        f"- CPU: {m['cpu']}, {m['cores']} cores; RAM {m['ram_gib']} GiB; {m['os']}",
        f"- Python {m['python']}; {packages}",
        f"- 1-minute load average: {m['load_avg_1m_at_start']} at start, "
        f"{m.get('load_avg_1m_at_end', '?')} at end; each figure below has its own. The "
        "benchmark itself keeps about two processes busy (client and simulator), so a load "
        "near 2 is its own and more than that is other work on the machine.",
        "",
    ]


def setup(results: dict[str, Any]) -> list[str]:
    """Data size and how each contender is configured."""
    cfg, src = results["config"], results["source"]
    return [
        "## Setup",
        "",
        f"- Simulator (seed {cfg['seed']}, scale {cfg['main_scale']:g}) in its own process on "
        f"127.0.0.1: {_n(src['orders'])} orders, {_n(src['rows'])} rows "
        "(orders + items + infos); built and serving in "
        f"{src['simulator_startup_s']} s, RSS {src['simulator_rss_mib']} MiB.",
        f"- Every contender: {cfg['concurrency']} requests in flight, the same "
        f"{src['partitions']} partitions (application x key range), the same `$select` and "
        "`$expand` (Items, Infos, Buyer, Payer, ShipTo), each in its own child process.",
        "- rows/s = source rows / wall seconds of the load; CPU and peak RSS are the client "
        "process's own (`getrusage`), server CPU is the simulator's over the same interval; "
        "requests are counted by the simulator.",
        "- ceiling: threads sharing one pooled `httpx.Client`, the URLs ours sends (keyset "
        "`Id gt <last>`, `$top=500`); per page only the top-level `Id`s are decoded (msgspec) "
        "to find the next key. A discarded warm-up pass runs first.",
        "- ours: `extract.extract` configured by environment as a user would "
        "(`NORCE_MAX_INFLIGHT`, `NORCE_MAX_RPS=1000` so only the in-flight limit binds, "
        "`NORCE_VERIFY_COUNTS=false`); a first run on an empty warehouse is the full load.",
        "- dlt: `rest_api` source, one parallelized resource per partition, "
        "`JSONLinkPaginator` on `@odata.nextLink` (no `$top`: the server pages at 500), dlt's "
        "`OAuth2ClientCredentials`, `write_disposition=merge` on `Id` (Items and Infos as "
        "child tables), DuckDB destination with parquet loader files, `extract.workers` = the "
        "concurrency.",
        "- loader path: pages recorded once to disk, read back per request through "
        "`httpx.MockTransport`, decoded by `PageDecoder` and merged by `Warehouse.write_batch` "
        f"in {ExtractSettings().batch_rows:,}-row batches (the default `batch_rows`), the "
        "process pinned to one CPU.",
        "",
    ]


def throughput(results: dict[str, Any]) -> list[str]:
    """Ceiling, ours and dlt at the main scale, with the ratios."""
    rows: list[list[str]] = []
    for name in ("ceiling", "ours", "dlt"):
        r = results.get(name, {})
        if "error" in r or not r:
            rows.append([name, "failed", "", "", "", "", "", "", ""])
            continue
        pages = r.get("pages", r.get("server_requests", 0))
        rows.append(
            [
                name,
                _f(r["wall_s"], 2),
                _n(r["rows_per_s"]),
                _f(pages / r["wall_s"]) if name == "ceiling" else "",
                _f(r["cpu_s"], 2),
                _f(r["peak_rss_mib"], 0),
                _f(r["server_cpu_s"], 2),
                str(r["server_requests"]),
                _load(r),
            ]
        )
    header = [
        "contender",
        "wall s",
        "rows/s",
        "pages/s",
        "client CPU s",
        "peak RSS MiB",
        "server CPU s",
        "requests",
        "load 1m",
    ]
    lines = [f"## Throughput (scale {results['config']['main_scale']:g})", ""]
    lines += table(header, rows)
    ours, ceiling = results["ours"], results["ceiling"]
    lines.append(f"- ours / ceiling (rows/s): **{ours['ratio_to_ceiling']:.2f}**")
    peer = results.get("dlt", {})
    if "error" in peer:
        lines.append(f"- dlt failed: `{peer['error'].splitlines()[0]}`")
    elif peer:
        steps = ", ".join(f"{k} {v:.1f} s" for k, v in peer["step_s"].items())
        lines.append(f"- ours / dlt (rows/s): **{peer['ours_ratio']:.2f}** (dlt steps: {steps})")
        dlt_tables = ", ".join(f"{k} {_n(v)}" for k, v in peer["tables"].items())
        lines.append(f"- dlt rows loaded: {dlt_tables}")
    ours_tables = ", ".join(f"{k} {_n(v)}" for k, v in ours["tables"].items())
    lines.append(
        f"- ours rows loaded: {ours_tables} (orders flagged `IsForgotten` and their lines are "
        "purged by design)"
    )
    lines.append(
        f"- ceiling fetched {ceiling['pages']} pages, {_n(ceiling['orders'])} orders, "
        f"{_f(ceiling['bytes'] / 2**20)} MiB; warm-up pass before it: "
        f"{_f(results['warmup']['wall_s'], 2)} s"
    )
    return [*lines, ""]


def loader(results: dict[str, Any]) -> list[str]:
    """The loader path replay on one core."""
    r = results["loader"]
    return [
        "## Loader path (recorded pages, httpx.MockTransport, one core)",
        "",
        *table(
            [
                "pages",
                "rows",
                "MiB",
                "wall s",
                "rows/s",
                "read+decode s",
                "merge s",
                "peak RSS MiB",
                "load 1m",
            ],
            [
                [
                    str(r["pages"]),
                    _n(r["rows"]),
                    _f(r["bytes"] / 2**20),
                    _f(r["wall_s"], 2),
                    f"**{_n(r['rows_per_s'])}**",
                    _f(r["fetch_decode_s"], 2),
                    _f(r["load_s"], 2),
                    _f(r["peak_rss_mib"], 0),
                    _load(r),
                ]
            ],
        ),
    ]


def levers(results: dict[str, Any]) -> list[str]:
    """The memory what-ifs."""
    lv = results.get("levers")
    if not lv:
        return []
    variants = (
        ("ours", "ours, defaults"),
        ("ours_small_batches", f"ours, `batch_rows` = {lv['batch_rows']:,}"),
        (
            "ours_large_batches",
            f"ours, `batch_rows` = {lv.get('large_batch_rows', 0):,} (fewer, larger commits)",
        ),
        (
            "ours_checkpoints",
            f"ours, DuckDB's checkpoint threshold ({lv.get('checkpoint_mb', 16)} MiB, "
            "`NORCE_DUCKDB_CHECKPOINT_MB`)",
        ),
        (
            "ours_capped",
            f"ours, DuckDB cap = {lv['memory_limit']} (`NORCE_DUCKDB_MEMORY_MB`, checkpoint "
            "threshold with it)",
        ),
        ("loader", "loader path (one core), defaults"),
        ("loader_capped", f"loader path (one core), DuckDB `memory_limit` = {lv['memory_limit']}"),
    )
    rows = [
        [
            label,
            _f(lv[key]["wall_s"], 2),
            _n(lv[key]["rows_per_s"]),
            _f(lv[key]["peak_rss_mib"], 0),
            _load(lv[key]),
        ]
        for key, label in variants
        if key in lv
    ]
    return [
        f"## Memory what-ifs (scale {lv['scale']:g}, {_n(lv['rows'])} rows)",
        "",
        "Settings that move peak RSS, each run once in its own process against one simulator.",
        "",
        *table(["variant", "wall s", "rows/s", "peak RSS MiB", "load 1m"], rows),
    ]


def small(results: dict[str, Any]) -> list[str]:
    """Ours next to dlt's default and parquet loader formats at the small scale."""
    small = results.get("small")
    if not small:
        return []
    rows: list[list[str]] = []
    for name, label in (
        ("ours", "ours"),
        ("dlt_insert_values", "dlt, default `insert_values` files"),
        ("dlt_parquet", "dlt, `parquet` files"),
    ):
        r = small[name]
        if "error" in r:
            rows.append([label, "failed: " + r["error"].splitlines()[0], "", "", "", ""])
            continue
        rows.append(
            [
                label,
                _f(r["wall_s"], 2),
                _n(r["rows_per_s"]),
                _f(r["cpu_s"], 2),
                _f(r["peak_rss_mib"], 0),
                _load(r),
            ]
        )
    return [
        f"## dlt's default loader format (scale {small['scale']:g}, {_n(small['rows'])} rows)",
        "",
        "The peer above uses parquet files: dlt's DuckDB default, SQL `insert_values` files, "
        "needs gigabytes in its load step even at this size, which is why it is shown only "
        "here.",
        "",
        *table(["contender", "wall s", "rows/s", "client CPU s", "peak RSS MiB", "load 1m"], rows),
    ]


def scaling(results: dict[str, Any]) -> list[str]:
    """Ours' full load at each scale."""
    rows = [
        [
            f"{p['scale']:g}",
            _n(p["orders"]),
            _n(p["rows"]),
            _f(p["wall_s"], 1),
            _n(p["rows_per_s"]),
            _f(p["s_per_million_rows"], 2),
            _f(p["cpu_s"], 1),
            _f(p["peak_rss_mib"], 0),
            _f(p["server_cpu_s"], 1),
            str(p["server_rss_mib"]),
            _load(p),
        ]
        for p in results["scaling"]
    ]
    header = [
        "scale",
        "orders",
        "rows",
        "wall s",
        "rows/s",
        "s per 1M rows",
        "client CPU s",
        "peak RSS MiB",
        "server CPU s",
        "server RSS MiB",
        "load 1m",
    ]
    return ["## Scaling (ours, full load)", "", *table(header, rows)]


def incremental(results: dict[str, Any]) -> list[str]:
    """The incremental runs next to the full load."""
    ours = results["ours"]
    rows = [
        [
            "full load",
            _n(results["source"]["orders"]),
            str(ours["server_requests"]),
            "",
            "",
            _n(ours["orders"]),
            _f(ours["wall_s"], 2),
            _load(ours),
        ]
    ]
    for r in results["incremental"]:
        rows.append(
            [
                f"k = {r['k']}",
                _n(r["changed"]),
                str(r["requests"]),
                _f(r["changed"] / 500, 2),
                _f(r["requests_over_pages"], 2),
                _n(r["orders"]),
                _f(r["wall_s"], 2),
                _load(r),
            ]
        )
    header = [
        "run",
        "orders changed",
        "requests",
        "changed / 500",
        "requests - changed/500",
        "orders read",
        "wall s",
        "load 1m",
    ]
    return [
        "## Incremental (ours, after the full load; clock +1 h before each run)",
        "",
        *table(header, rows),
        "- requests are counted by the simulator (token request included). Orders read "
        "include those changed by the previous run, inside the 2 h look-back.",
        "",
    ]

"""The loader path: recorded Orders pages replayed through our decode + load, on one core.

:func:`record` fetches every page of :mod:`bench.pages` once (sequentially, the same URLs
ours sends) and keeps the bodies under ``bench/.recordings/``. :func:`run` pins itself to
one CPU, serves those bodies from an ``httpx.MockTransport`` (no network, no server) and
pushes each through the loader's :class:`~extract.decode.pages.PageDecoder` into its
:class:`~extract.load.batch.BatchWriter` (default ``extract.batch_rows``, insert-only: the
warehouse starts empty), as a partition does. :func:`profile` does the same under cProfile
and returns the top functions.
"""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pyarrow as pa

from bench.meter import Meter
from bench.pages import ENTITY, PAGE_TOP, OrdersQuery, page_keys
from bench.sampler import short_path
from extract.decode.arrow_pages import ArrowPageReader
from extract.decode.pages import PageDecoder
from extract.load.batch import BatchWriter
from extract.load.merge import merge_batch
from extract.load.state import PartitionState
from extract.load.tables import ensure_tables
from extract.load.warehouse import Warehouse
from extract.schema.catalog import by_path
from extract.schema.metadata import parse_edmx
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import EntityPlan, reconcile
from extract.settings import DEFAULT_PII_SALT, ExtractSettings, WarehouseSettings

INDEX = "index.json"
METADATA = "metadata.xml"


def record(params: dict[str, Any]) -> dict[str, Any]:
    """Fetch every page once and store it in ``params["directory"]``.

    Args:
        params: ``query`` (:meth:`OrdersQuery.to_json`), ``token``, ``directory``.

    Returns:
        ``pages`` and ``bytes`` recorded, and the :class:`~bench.meter.Meter` figures.
    """
    query = OrdersQuery.from_json(params["query"])
    directory = Path(params["directory"])
    directory.mkdir(parents=True, exist_ok=True)
    index: list[dict[str, str]] = []
    nbytes = 0
    headers = {"Authorization": f"Bearer {params['token']}"}
    with httpx.Client(headers=headers, timeout=120) as client, Meter() as meter:
        metadata = client.get(f"{query.base_url}/commerce/query/2.0/Orders/$metadata")
        metadata.raise_for_status()
        (directory / METADATA).write_bytes(metadata.content)
        for part in query.parts:
            after: int | None = None
            while True:
                request = client.build_request("GET", query.url, params=query.params(part, after))
                response = client.send(request)
                response.raise_for_status()
                name = f"{len(index):05d}.json"
                (directory / name).write_bytes(response.content)
                index.append({"url": str(request.url), "file": name})
                nbytes += len(response.content)
                keys = page_keys(response.content)
                if len(keys) < PAGE_TOP:
                    break
                after = keys[-1]
    (directory / INDEX).write_text(json.dumps(index))
    return {"pages": len(index), "bytes": nbytes, **meter.figures()}


def _plan(directory: Path) -> EntityPlan:
    service = parse_edmx((directory / METADATA).read_bytes())
    return reconcile(by_path()[ENTITY], service, PrivacyPolicy(DEFAULT_PII_SALT))


def _duckdb_memory_mib(warehouse: Warehouse) -> float:
    """Memory DuckDB's buffer manager holds right now (all tags)."""
    row = warehouse.con.execute("select sum(memory_usage_bytes) from duckdb_memory()").fetchone()
    return round(float(row[0] or 0) / 2**20, 1) if row else 0.0


def _pin_one_core() -> int:
    """Restrict this process (every thread, DuckDB's too) to one CPU; returns which."""
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return cpu


def _pages_transport(
    directory: Path, index: list[dict[str, Any]], served: list[int] | None = None
) -> httpx.MockTransport:
    """Serves the recorded pages by URL, adding each body's size to ``served[0]``.

    A body is read per request (from the page cache after recording) rather than held:
    the process's peak RSS then shows what decode + load need, as in a real run.
    """
    files = {entry["url"]: directory / entry["file"] for entry in index}

    def handler(request: httpx.Request) -> httpx.Response:
        body = files[str(request.url)].read_bytes()
        if served is not None:
            served[0] += len(body)
        return httpx.Response(200, content=body)

    return httpx.MockTransport(handler)


def _replay(
    directory: Path, warehouse_path: Path, memory_limit_mb: int | None = None
) -> dict[str, Any]:
    """Decode and load every recorded page; the loop the figures are about."""
    index = json.loads((directory / INDEX).read_text())
    served = [0]
    plan = _plan(directory)
    privacy = PrivacyPolicy(DEFAULT_PII_SALT)
    decoder = PageDecoder(plan, privacy)
    # the loader's default buffer cap, threads and checkpoint threshold, as in a run
    # configured by the environment (another cap takes the threshold with it)
    defaults = WarehouseSettings()
    warehouse = Warehouse(
        warehouse_path,
        run_id="bench-replay",
        memory_limit_mb=memory_limit_mb or defaults.memory_limit_mb,
        threads=defaults.duckdb_threads,
        checkpoint_mb=memory_limit_mb or defaults.checkpoint_mb,
    )
    ensure_tables(warehouse, plan)
    # a first load into an empty warehouse: the loader's insert-only batches
    # (extract.load.merge.range_is_empty holds), as a partition's first pass writes them
    writer = BatchWriter(
        warehouse,
        plan,
        mode="merge",
        batch_rows=ExtractSettings().batch_rows,
        insert_only=True,
    )
    state = PartitionState(ENTITY, 0, "", "bench-replay", datetime.now(UTC), pending_mode="first")
    decode_s = load_s = 0.0
    rows = pages = 0
    meter = Meter()
    with httpx.Client(transport=_pages_transport(directory, index, served)) as client, meter:
        for entry in index:
            started = time.perf_counter()
            body = client.get(entry["url"]).content
            page = decoder(body)
            decode_s += time.perf_counter() - started
            pages += 1
            rows += sum(t.num_rows for t in page.tables.values())
            state = state.advanced(page.last_key, page.row_count, at=datetime.now(UTC))
            started = time.perf_counter()
            writer.add(page.tables, state)  # commits a full batch with its state
            load_s += time.perf_counter() - started
        started = time.perf_counter()
        writer.commit(state.completed(at=datetime.now(UTC)))
        load_s += time.perf_counter() - started
        duckdb_mib = _duckdb_memory_mib(warehouse)
        warehouse.close()
    return {
        "pages": pages,
        "rows": rows,
        "bytes": served[0],
        "duckdb_memory_mib": duckdb_mib,
        "fetch_decode_s": round(decode_s, 3),
        "load_s": round(load_s, 3),
        **meter.figures(),
    }


def run(params: dict[str, Any]) -> dict[str, Any]:
    """Replay the recording in ``params["directory"]`` into ``params["warehouse"]``.

    ``params["duckdb_memory_limit_mb"]`` (MiB), when given, caps DuckDB's buffer manager on
    the warehouse connection, with the checkpoint threshold at the cap: a what-if for the
    memory figures.

    Returns:
        ``cpu`` pinned to, ``pages``, ``rows`` (orders + items + infos), ``bytes``,
        ``fetch_decode_s`` and ``load_s`` (the two halves of the loop), ``duckdb_memory_mib``
        (DuckDB's buffers at the end) and the :class:`~bench.meter.Meter` figures.
    """
    cpu = _pin_one_core()
    result = _replay(
        Path(params["directory"]), Path(params["warehouse"]), params.get("duckdb_memory_limit_mb")
    )
    return {"cpu": cpu, **result}


def floors(params: dict[str, Any]) -> dict[str, Any]:
    """What the loader path's libraries need at least for the recording, on one core.

    Each step alone, over every recorded page: reading the bodies; fetching them as the
    loop does (``httpx`` through the replay's ``MockTransport``, the read included);
    Arrow's JSON reader parsing them against the plan's schema, with its UTF-8 check (the
    parse the loader uses, :meth:`ArrowPageReader.parse`); ``msgspec`` parsing the same
    bytes into Python objects (the fastest whole JSON parse here, for reference); the
    loader's whole decode (:class:`PageDecoder`: the parse, typing, key rules, hashing of
    personal fields); DuckDB storing the decoded rows of every table in one transaction
    into an empty file with no buffer cap, its checkpoint included (the loader's insert,
    :func:`merge_batch`, insert-only). The loader path does all of fetch, decode and
    store, so it cannot be faster than their sum, nor than fetch + parse + store with any
    typing.

    Returns:
        ``rows``, ``bytes``, ``read_s``, ``fetch_s``, ``parse_s``, ``msgspec_s``,
        ``decode_s``, ``store_s``, ``floor_rows_per_s`` (rows / (fetch + parse + store))
        and ``decode_floor_rows_per_s`` (rows / (fetch + decode + store)).
    """
    _pin_one_core()
    directory = Path(params["directory"])
    index = json.loads((directory / INDEX).read_text())
    paths = [directory / entry["file"] for entry in index]
    plan = _plan(directory)
    reader = ArrowPageReader(plan)
    decoder = PageDecoder(plan, PrivacyPolicy(DEFAULT_PII_SALT))
    started = time.perf_counter()
    nbytes = sum(len(path.read_bytes()) for path in paths)
    read_s = time.perf_counter() - started
    fetch_s = _fetch_s(directory, index)

    def pass_s(step: Callable[[bytes], object]) -> float:
        """Seconds ``step`` takes over every page (bodies read outside the clock): the
        better of two passes, one step at a time, as the loop runs it."""
        best = float("inf")
        for _ in range(2):
            spent = 0.0
            for path in paths:
                body = path.read_bytes()
                started = time.perf_counter()
                step(body)
                spent += time.perf_counter() - started
            best = min(best, spent)
        return best

    parse_s = pass_s(reader.parse)
    msgspec_s = pass_s(msgspec.json.decode)
    decode_s = pass_s(decoder)
    decoded: dict[str, list[pa.Table]] = {}
    for path in paths:
        for name, table in decoder(path.read_bytes()).tables.items():
            decoded.setdefault(name, []).append(table)
    tables = {name: pa.concat_tables(parts) for name, parts in decoded.items()}
    rows = sum(t.num_rows for t in tables.values())
    warehouse = Warehouse(Path(params["warehouse"]), run_id="bench-floor", threads=1)
    ensure_tables(warehouse, plan)
    started = time.perf_counter()
    merge_batch(
        warehouse, plan, tables, extracted_at=datetime.now(UTC), state=None, insert_only=True
    )
    warehouse.checkpoint()
    store_s = time.perf_counter() - started
    warehouse.con.close()
    return {
        "rows": rows,
        "bytes": nbytes,
        "read_s": round(read_s, 3),
        "parse_s": round(parse_s, 3),
        "msgspec_s": round(msgspec_s, 3),
        "store_s": round(store_s, 3),
        "decode_s": round(decode_s, 3),
        "fetch_s": round(fetch_s, 3),
        "floor_rows_per_s": round(rows / max(fetch_s + parse_s + store_s, 1e-9)),
        "decode_floor_rows_per_s": round(rows / max(fetch_s + decode_s + store_s, 1e-9)),
    }


def _fetch_s(directory: Path, index: list[dict[str, Any]]) -> float:
    """Seconds the loop's fetch takes over every page: ``httpx.Client.get`` through the
    replay's transport, the body read from disk per request as in :func:`_replay` (the
    better of two passes)."""
    best = float("inf")
    with httpx.Client(transport=_pages_transport(directory, index)) as client:
        for _ in range(2):
            started = time.perf_counter()
            for entry in index:
                client.get(entry["url"]).content  # noqa: B018 -- the read is the point
            best = min(best, time.perf_counter() - started)
    return best


def profile(params: dict[str, Any]) -> dict[str, Any]:
    """:func:`run` under cProfile: the ten functions with the most own time.

    Returns:
        ``top`` (function, own seconds, cumulative seconds, calls), ``total_s`` and
        ``by_file_pct`` (own time per source file, % of the total).
    """
    _pin_one_core()
    profiler = cProfile.Profile()
    profiler.enable()
    _replay(Path(params["directory"]), Path(params["warehouse"]))
    profiler.disable()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    entries = msgspec.to_builtins(
        [
            {
                "function": f"{short_path(file)}:{line}({name})",
                "own_s": round(tt, 3),
                "cum_s": round(ct, 3),
                "calls": nc,
            }
            for (file, line, name), (_cc, nc, tt, ct, _callers) in stats.stats.items()  # type: ignore[attr-defined]
        ]
    )
    entries.sort(key=lambda e: e["own_s"], reverse=True)
    by_file: dict[str, float] = {}
    for e in entries:
        # built-ins have no file ("~"): keep their name, so msgspec's decode is told apart
        file = e["function"].rsplit(":", 1)[0]
        if file == "~":
            file = e["function"]
        by_file[file] = by_file.get(file, 0.0) + e["own_s"]
    total = float(stats.total_tt)  # type: ignore[attr-defined]
    files = sorted(by_file.items(), key=lambda kv: kv[1], reverse=True)[:25]
    return {
        "top": entries[:10],
        "total_s": round(total, 3),
        "by_file_pct": {f: round(100 * s / total, 1) for f, s in files if total},
    }

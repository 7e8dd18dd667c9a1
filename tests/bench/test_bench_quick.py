"""Smoke test of ``python -m bench --quick``: the whole harness end to end at scale 0.05.

Checks that every figure the report promises is present and consistent (rows add up, the
loads loaded what the source holds); never how fast anything was.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SECTIONS = (
    "## Machine",
    "## Setup",
    "## Throughput (scale 0.05)",
    "## Loader path",
    "## Memory what-ifs",
    "## dlt's default loader format",
    "## Scaling (ours, full load)",
    "## Incremental",
    "## Targets (measured, not asserted)",
)
FIGURES = ("wall_s", "cpu_s", "peak_rss_mib", "load_start", "load_end", "server_cpu_s")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((out / "quick.json").read_text())
    markdown = (out / "quick.md").read_text()
    return results, markdown


def _positive(result: dict[str, Any], *names: str) -> None:
    for name in names:
        assert result[name] > 0, (name, result)


def test_machine_is_described(quick: tuple[dict[str, Any], str]) -> None:
    results, markdown = quick
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["ram_gib"] > 0
    for package in ("duckdb", "polars", "httpx", "dlt"):
        assert package in machine["packages"]
        assert f"{package} {machine['packages'][package]}" in markdown
    assert "load_avg_1m_at_end" in machine


def test_every_section_is_written(quick: tuple[dict[str, Any], str]) -> None:
    _, markdown = quick
    for section in SECTIONS:
        assert section in markdown, section


def test_ceiling_and_ours_fetch_every_order(quick: tuple[dict[str, Any], str]) -> None:
    results, _ = quick
    source = results["source"]
    assert source["orders"] > 0 and source["rows"] > source["orders"]
    ceiling, ours = results["ceiling"], results["ours"]
    assert ceiling["orders"] == source["orders"]
    assert ceiling["server_requests"] == ceiling["pages"]
    assert ours["status"] == "ok" and ours["orders"] == source["orders"]
    # ours purges orders flagged IsForgotten: at most a handful fewer rows than the source
    loaded = sum(ours["tables"].values())
    assert 0.99 * source["rows"] <= loaded <= source["rows"]
    for result in (ceiling, ours):
        _positive(result, "rows_per_s", *FIGURES[:3])
        assert set(FIGURES) <= set(result)
    assert ours["ratio_to_ceiling"] == pytest.approx(ceiling["wall_s"] / ours["wall_s"], rel=0.01)


def test_dlt_is_measured_or_its_failure_reported(quick: tuple[dict[str, Any], str]) -> None:
    results, markdown = quick
    peer = results["dlt"]
    if importlib.util.find_spec("dlt") is None:
        assert "error" in peer and "dlt" in peer["error"]
        assert "dlt failed" in markdown
        return
    assert sum(peer["tables"].values()) == results["source"]["rows"]
    _positive(peer, "rows_per_s", "ours_ratio", *FIGURES[:3])
    assert set(peer["step_s"]) >= {"extract", "normalize", "load"}
    small = results["small"]
    for name in ("ours", "dlt_insert_values", "dlt_parquet"):
        _positive(small[name], "rows_per_s", "wall_s", "peak_rss_mib")


def test_loader_path_replays_every_page(quick: tuple[dict[str, Any], str]) -> None:
    results, report = quick
    loader = results["loader"]
    assert loader["pages"] == results["ceiling"]["pages"]
    assert loader["rows"] == results["source"]["rows"]
    _positive(loader, "rows_per_s", "fetch_decode_s", "load_s", "wall_s", "peak_rss_mib")
    if loader["rows_per_s"] < 150_000:  # a miss is explained by what the libraries need
        floors = loader["floors"]
        assert (floors["rows"], floors["bytes"]) == (loader["rows"], loader["bytes"])
        _positive(floors, "read_s", "fetch_s", "parse_s", "msgspec_s", "decode_s", "store_s")
        assert floors["floor_rows_per_s"] >= floors["decode_floor_rows_per_s"] > 0
        assert "cannot beat" in report


def test_memory_what_ifs(quick: tuple[dict[str, Any], str]) -> None:
    results, _ = quick
    levers = results["levers"]
    assert levers["scale"] == 0.05 and levers["rows"] == results["source"]["rows"]
    ours = ("ours", "ours_small_batches", "ours_large_batches", "ours_capped")
    for name in ours:
        assert levers[name]["status"] == "ok"
        assert levers[name]["orders"] == results["source"]["orders"]
    for name in ("loader", "loader_capped"):
        assert levers[name]["rows"] == levers["rows"]
    for name in (*ours, "loader", "loader_capped"):
        _positive(levers[name], "rows_per_s", "wall_s", "peak_rss_mib")


def test_scaling_and_incremental_figures(quick: tuple[dict[str, Any], str]) -> None:
    results, _ = quick
    [point] = results["scaling"]
    assert point["scale"] == 0.05 and point["rows"] == results["source"]["rows"]
    _positive(point, "rows_per_s", "s_per_million_rows", "peak_rss_mib", "server_rss_mib")
    runs = {r["k"]: r for r in results["incremental"]}
    assert set(runs) == {0, 10, 1000}
    assert runs[0]["orders"] == 0
    for k in (10, 1000):
        assert runs[k]["changed"] == k
        # the run reads the changed orders, plus any changed by the run before (look-back)
        assert k <= runs[k]["orders"] <= k + 10
        assert runs[k]["requests"] >= 1 and runs[k]["wall_s"] > 0
    # an incremental run costs far fewer requests than the full load
    assert runs[1000]["requests"] < results["ours"]["server_requests"]


def test_every_target_has_a_measured_figure(quick: tuple[dict[str, Any], str]) -> None:
    results, markdown = quick
    keys = {t["key"] for t in results["targets"]}
    assert keys >= {"ceiling", "dlt", "loader", "rss", "rss_flat", "linear"}
    assert {"incremental_10", "incremental_1000"} <= keys
    for target in results["targets"]:
        assert target["measured"] and target["measured"] in markdown
        if target["met"] is False:
            assert f"### Missed: {target['name']}" in markdown

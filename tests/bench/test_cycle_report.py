"""The cycle's part of the bench report: the goals judged from the figures, the growth named."""

from __future__ import annotations

from typing import Any

from bench.cycle_report import explain, section, targets
from bench.report import render_cycles

MODEL = "model.norce_warehouse."


def _cycle(scale: float, orders: int, wall: float, parts: dict[str, float]) -> dict[str, Any]:
    nodes = [
        {"node": MODEL + "mart_sales_daily", "type": "model", "s": parts["dbt_s"] / 4},
        {"node": MODEL + "dim_date", "type": "model", "s": 0.3},
    ]
    run = {
        "wall_s": wall,
        "parts": parts,
        "k": 1000,
        "changed": 1000,
        "published_mib": orders / 1000,
        "peak_rss_mib": 300.0,
        "load_start": 1.0,
        "load_end": 1.5,
        "dbt": {"nodes": 2, "by_type_s": {"model": parts["dbt_s"]}, "slowest": nodes},
    }
    copy = {"copy_s": orders / 1e6, "fsync_s": 0.1}
    return {
        "scale": scale,
        "orders": orders,
        "rows": orders * 4,
        "full": {**run, "wall_s": wall * 10},
        "cycle": run,
        "publish_costs": {
            "bytes": orders * 1000,
            "python_copy": copy,
            "kernel_copy": copy,
            "reflink": None,
        },
    }


def _parts(extract: float, dbt: float, publish: float) -> dict[str, float]:
    return {"extract_s": extract, "dbt_s": dbt, "publish_s": publish, "report_s": 0.5, "pages_s": 4}


def _results(*cycles: dict[str, Any]) -> dict[str, Any]:
    machine = {
        "cpu": "test",
        "cores": 2,
        "ram_gib": 8,
        "os": "linux",
        "python": "3.11",
        "packages": {},
        "load_avg_1m_at_start": 1.0,
        "load_avg_1m_at_end": 1.0,
    }
    return {"machine": machine, "cycles": list(cycles), "total_s": 1.0, "generated_at": "now"}


def test_a_cycle_that_grows_with_the_table_misses_both_goals_and_names_the_growth() -> None:
    results = _results(
        _cycle(1.0, 60_000, 20.0, _parts(1.0, 12.0, 0.2)),
        _cycle(20.0, 1_200_000, 90.0, _parts(2.0, 70.0, 4.0)),
    )
    verdict = {t["key"]: t["met"] for t in targets(results)}
    assert verdict == {"cycle": False, "cycle_growth": False}
    why = "\n".join(explain(results))
    assert "dbt 70.0 s" in why
    assert "`mart_sales_daily` 3.00 -> 17.50 s" in why
    assert "dim_date" not in why  # the same time at both scales is not growth
    markdown = render_cycles(results)
    assert "### Missed: 15-minute cycle at the largest scale" in markdown
    assert "unsupported" in markdown  # reflink refused on this filesystem


def test_a_flat_cycle_under_a_minute_meets_both_goals() -> None:
    results = _results(
        _cycle(1.0, 60_000, 20.0, _parts(1.0, 12.0, 0.2)),
        _cycle(20.0, 1_200_000, 30.0, _parts(1.5, 16.0, 2.0)),
    )
    assert all(t["met"] for t in targets(results))
    assert "Missed" not in render_cycles(results)


def test_one_scale_cannot_judge_growth_and_no_cycle_writes_nothing() -> None:
    results = _results(_cycle(0.05, 3_000, 40.0, _parts(2.0, 34.0, 0.3)))
    verdict = {t["key"]: t["met"] for t in targets(results)}
    assert verdict == {"cycle": True, "cycle_growth": None}
    assert section(_results()) == []
    assert targets(_results()) == []


def test_the_dbt_part_is_split_and_each_node_says_how_it_grew() -> None:
    small = _cycle(1, 60_000, 30.0, _parts(5, 20, 1))
    large = _cycle(5, 300_000, 60.0, _parts(6, 45, 2))
    for run, fact_s in ((small, 2.0), (large, 9.0)):
        run["cycle"]["dbt"].update(
            {
                "nodes_s": {MODEL + "fct_orders": fact_s, MODEL + "dim_date": 0.3},
                "by_type_s": {"model": 10.0, "test": 6.0, "snapshot": 1.0},
                "outside_nodes_s": 4.5,
                "nodes_span_s": 12.0,
                "tests": "rows loaded since 2026-12-03 21:40:00 UTC (every row again from ...)",
            }
        )
    text = "\n".join(section(_results(small, large)))
    assert (
        "| 5 | 45.00 | 4.50 | 12.00 | 10.00 | 6.00 | 1.00 | 0.00 | 0.00 | rows loaded since" in text
    )
    assert "| `fct_orders` | 2.00 | 9.00 | 4.5 |" in text
    assert "| `dim_date` | 0.30 | 0.30 | 1.0 |" in text


def test_the_publish_says_what_it_wrote_and_the_warmup_is_named() -> None:
    cycle = _cycle(5.0, 300_000, 20.0, _parts(1.0, 12.0, 0.4))
    cycle["cycle"] = {**cycle["cycle"], "publish_method": "changed blocks"}
    cycle["cycle"]["publish_written_mib"] = 61.4
    cycle["warmup"] = {"wall_s": 24.5, "parts": _parts(1.0, 13.0, 1.62)}
    cycle["publish_costs"]["changed_blocks"] = {
        "written": 92 * 2**20,
        "copy_s": 0.24,
        "fsync_s": 0.02,
    }
    markdown = "\n".join(section(_results(cycle)))
    assert "| 61 (changed blocks) |" in markdown
    assert "scale 5 24.5 s, its publish 1.62 s" in markdown
    assert "| 0.24 + 0.02 (92 MiB) |" in markdown


def test_repeated_cycles_are_listed_and_the_growth_says_it_compares_medians() -> None:
    small = _cycle(1.0, 60_000, 13.5, _parts(1.0, 11.0, 0.1))
    large = _cycle(20.0, 1_200_000, 26.4, _parts(1.1, 23.7, 0.7))
    small["cycle"]["repeats_s"] = [14.9, 12.8, 13.5]
    large["cycle"]["repeats_s"] = [26.4, 26.6, 26.2]
    text = "\n".join(section(_results(small, large)))
    assert "median wall time: scale 1 14.9 / 12.8 / 13.5 s; scale 20 26.4 / 26.6 / 26.2 s" in text
    growth = {t["key"]: t for t in targets(_results(small, large))}["cycle_growth"]
    assert growth["measured"] == "13.5 / 26.4 s (ratio 1.96; medians of 3 cycles)"
    assert growth["met"] is True
    # one timed cycle per scale (older results): no list, no claim of medians
    del small["cycle"]["repeats_s"], large["cycle"]["repeats_s"]
    assert "median" not in "\n".join(section(_results(small, large)))
    assert (
        "medians"
        not in {t["key"]: t for t in targets(_results(small, large))}["cycle_growth"]["measured"]
    )

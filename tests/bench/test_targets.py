"""The load goals of the bench report: each judged from the measured figures (issue 15's goals)."""

from __future__ import annotations

from typing import Any

from bench.targets import evaluate


def _point(scale: float, rss: float, s_per_m: float) -> dict[str, Any]:
    rows = int(270_000 * scale)
    return {
        "scale": scale,
        "orders": int(60_000 * scale),
        "rows": rows,
        "peak_rss_mib": rss,
        "s_per_million_rows": s_per_m,
        "cpu_s": rows * 10e-6,
        "load_start": 1.0,
    }


def _results(*, cpu_s: float, rss: tuple[float, float, float]) -> dict[str, Any]:
    return {
        "source": {"rows": 270_000, "applications": 3},
        "ours": {"rows_per_s": 60_000, "ratio_to_ceiling": 0.62, "cpu_s": cpu_s},
        "ceiling": {"rows_per_s": 96_774},
        "dlt": {"rows_per_s": 10_000, "ours_ratio": 6.0},
        "loader": {"rows_per_s": 151_000},
        "scaling": [_point(s, r, 25.0) for s, r in zip((1.0, 5.0, 20.0), rss, strict=True)],
        "incremental": [],
    }


def _met(results: dict[str, Any]) -> dict[str, bool | None]:
    return {t["key"]: t["met"] for t in evaluate(results)}


def test_every_goal_of_the_issue_is_judged() -> None:
    met = _met(_results(cpu_s=2.0, rss=(300, 320, 330)))
    assert met == {
        "ceiling": True,
        "cpu_row": True,
        "dlt": True,
        "loader": True,
        "rss": True,
        "rss_flat": True,
        "linear": True,
    }


def test_client_cpu_per_row_over_8_us_is_a_miss() -> None:
    target = next(
        t for t in evaluate(_results(cpu_s=2.7, rss=(300, 320, 330))) if t["key"] == "cpu_row"
    )
    assert target["met"] is False
    assert target["measured"].startswith("10.0 us")


def test_memory_over_the_goal_at_any_scale_is_a_miss() -> None:
    # the largest scale under the goal does not hide a smaller scale over it
    assert _met(_results(cpu_s=2.0, rss=(410, 390, 395)))["rss"] is False

"""The report's charts, drawn with matplotlib (no display, no JavaScript, no network).

:func:`revenue_chart` and :func:`runs_chart` return a :class:`Chart`: the picture as SVG
(inlined in the HTML report page) and as PNG (a data URI in the Prefect markdown artifact,
which the Prefect UI shows as an image). ``None`` when there is nothing to draw.
"""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from matplotlib.figure import Figure

from flows.trends import REVENUE_DAYS, RevenueDay, RunPoint

__all__ = ["Chart", "revenue_chart", "runs_chart"]

_SIZE = (9.0, 3.6)
"""Inches; 100 dpi PNGs are 900 x 360 pixels."""


@dataclass(frozen=True, slots=True)
class Chart:
    """One drawn chart."""

    title: str
    alt: str
    """What the chart shows, in words (the image's alt text)."""
    svg: str
    png: bytes

    @property
    def png_data_uri(self) -> str:
        """The PNG as a ``data:`` URI for markdown and HTML."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


def _render(fig: Figure, title: str, alt: str) -> Chart:
    fig.tight_layout()
    svg, png = io.StringIO(), io.BytesIO()
    fig.savefig(svg, format="svg", metadata={"Date": None})
    fig.savefig(png, format="png", dpi=100)
    text = svg.getvalue()
    return Chart(title, alt, text[text.index("<svg") :], png.getvalue())


def revenue_chart(points: list[RevenueDay], currency: str | None) -> Chart | None:
    """Net revenue per day, one line per application."""
    if not points:
        return None
    series: dict[str, dict[date, float]] = defaultdict(dict)
    for p in points:
        series[p.application][p.day] = series[p.application].get(p.day, 0.0) + p.net_revenue
    # Every calendar day of the window: a day without orders is a day without revenue.
    last = max(p.day for p in points)
    first = min(min(p.day for p in points), last - timedelta(days=REVENUE_DAYS - 1))
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    fig = Figure(figsize=_SIZE)
    ax = fig.add_subplot()
    for application, values in sorted(series.items()):
        ax.plot(cast(Any, days), [values.get(d, 0.0) for d in days], label=application, lw=1.4)
    unit = f" ({currency})" if currency else ""
    title = f"Net revenue per day{unit}, {days[0]:%Y-%m-%d} to {days[-1]:%Y-%m-%d}"
    ax.set_title(title, fontsize=11, loc="left")
    ax.set_ylabel(f"net revenue{unit}")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right", bbox_to_anchor=(1, 1), ncol=4, frameon=False)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    fig.autofmt_xdate()
    total = sum(p.net_revenue for p in points)
    alt = (
        f"Net revenue per day by application over {len(days)} days: "
        f"{len(series)} applications, {total:,.0f} {currency or ''} in all"
    )
    return _render(fig, title, alt)


def runs_chart(runs: list[RunPoint]) -> Chart | None:
    """Rows loaded (bars) and extract seconds (line) of the last runs."""
    if not runs:
        return None
    fig = Figure(figsize=_SIZE)
    ax = fig.add_subplot()
    x = list(range(len(runs)))
    ax.bar(x, [r.rows for r in runs], color="#4c78a8", label="rows loaded")
    ax.set_ylabel("rows loaded")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.set_xticks(x, [f"{r.started_at:%m-%d %H:%M}" for r in runs], rotation=45, ha="right")
    ax.set_xlim(-0.6, max(len(runs), 10) - 0.4)  # a lone run stays a bar, not a wall
    ax.tick_params(axis="x", labelsize=7)
    seconds = ax.twinx()
    seconds.plot(x, [r.seconds for r in runs], color="#e45756", marker="o", label="seconds")
    seconds.set_ylabel("extract seconds")
    seconds.set_ylim(bottom=0)
    title = f"Rows and seconds of the last {len(runs)} runs" if len(runs) > 1 else "The last run"
    ax.set_title(title, fontsize=11, loc="left")
    ax.grid(True, axis="y", alpha=0.3)
    handles = ax.get_legend_handles_labels()[0] + seconds.get_legend_handles_labels()[0]
    ax.legend(
        handles=handles, fontsize=8, loc="lower right", bbox_to_anchor=(1, 1), ncol=2, frameon=False
    )
    plural = "s" if len(runs) > 1 else ""
    alt = (
        f"{len(runs)} run{plural} from {runs[0].started_at:%Y-%m-%d %H:%M} to "
        f"{runs[-1].started_at:%Y-%m-%d %H:%M} UTC: {sum(r.rows for r in runs):,} rows in all, "
        f"extracts of {min(r.seconds for r in runs):.1f} to {max(r.seconds for r in runs):.1f} s"
    )
    return _render(fig, title, alt)

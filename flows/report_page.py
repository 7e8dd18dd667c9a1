"""The run report as one self-contained HTML page (charts inlined as SVG, no scripts).

Published beside the warehouse by :mod:`flows.pages`; it shows the same sections and
figures as the terminal summary and the Prefect artifact, with the charts on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from flows.charts import Chart
from flows.render import Section, fmt_time, report_sections
from flows.report import RunReport

__all__ = ["render_html"]

_STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 2em; }
table { border-collapse: collapse; margin: .5em 0; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid #ddd; padding: .25em .7em; text-align: left; }
th { background: #f4f4f4; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: .9em; }
.note { color: #555; margin: .2em 0; } nav a { margin-right: 1.2em; }
"""


def _section(section: Section) -> str:
    parts = [f"<h2>{escape(section.title)}</h2>"]
    if section.rows:
        two_col = section.headers == ("item", "value")
        head = (
            ""
            if two_col
            else "<tr>" + "".join(f"<th>{escape(h)}</th>" for h in section.headers) + "</tr>"
        )
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in section.rows
        )
        parts.append(f"<table>{head}{body}</table>")
    elif not section.notes:
        parts.append('<p class="note">(none)</p>')
    parts += [f'<p class="note">{escape(n)}</p>' for n in section.notes]
    return "\n".join(parts)


def _chart(chart: Chart) -> str:
    return (
        f'<figure class="chart" aria-label="{escape(chart.title)}">{chart.svg}'
        f"<figcaption>{escape(chart.alt)}</figcaption></figure>"
    )


def render_html(report: RunReport, charts: Sequence[Chart], *, docs_href: str | None) -> str:
    """The report page.

    Args:
        report: The run report.
        charts: Charts to show first (see :func:`flows.render.report_charts`).
        docs_href: Link to the dbt docs page published beside it, if there is one.
    """
    s = report.summary
    title = f"norce-elt run {s.run_id}: {s.status}"
    nav = (
        f'<nav><a href="{escape(docs_href)}">dbt docs: models, columns, lineage</a></nav>'
        if docs_href
        else ""
    )
    charts_html = (
        "\n".join(_chart(c) for c in charts)
        if charts
        else '<p class="note">No charts: the marts are not built yet.</p>'
    )
    sections = "\n".join(_section(sec) for sec in report_sections(report, detail=True))
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{_STYLE}</style>
</head>
<body>
<h1>{escape(title)}</h1>
<p class="note">Report generated {escape(fmt_time(report.generated_at))}.</p>
{nav}
<h2>Trends</h2>
{charts_html}
{sections}
</body>
</html>
"""

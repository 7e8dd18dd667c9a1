"""The run report as text: one set of sections, laid out for a terminal or as markdown.

:func:`report_sections` turns a :class:`~flows.report.RunReport` into titled tables of
formatted cells; the text and markdown renderers only lay those tables out, so the terminal
and the Prefect UI always show the same numbers. :func:`table_artifact_rows` gives the
per-entity figures with numbers kept numeric, for Prefect's table artifact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flows.charts import Chart, revenue_chart, runs_chart
from flows.publish import PublishResult
from flows.render_tenant import tenant_overview, tenant_sections
from flows.report import RunReport
from flows.terminal import terminal_safe

__all__ = [
    "OVERHEAD_ENTITY",
    "Section",
    "fmt_age",
    "fmt_count",
    "fmt_time",
    "render_markdown",
    "render_text",
    "report_charts",
    "report_sections",
    "sections_text",
    "table_artifact_rows",
]

OVERHEAD_ENTITY = "(run: $metadata, planning, sweeps)"
"""The artifact row for requests made outside the partitions."""


@dataclass(frozen=True, slots=True)
class Section:
    """A titled table of already formatted cells, plus free lines under it."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    notes: list[str] = field(default_factory=list)


# --- sections (the single source of every figure shown) -------------------------------------


def fmt_count(value: int | None) -> str:
    """A count with thousands separators, ``-`` when unknown."""
    return "-" if value is None else f"{value:,}"


def fmt_time(value: datetime | None) -> str:
    """A UTC timestamp to the second, ``-`` when unknown."""
    return "-" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def fmt_age(value: datetime | None, now: datetime) -> str:
    """How long before ``now`` ``value`` was, in the largest sensible unit."""
    if value is None:
        return "-"
    seconds = max((now - value).total_seconds(), 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _match(value: bool | None) -> str:
    return {True: "yes", False: "NO", None: "-"}[value]


def _overview(r: RunReport) -> Section:
    s = r.summary
    rows: list[tuple[str, ...]] = [
        ("run", s.run_id),
        ("mode", s.mode),
        ("extract status", s.status),
        ("started", fmt_time(s.started_at)),
        ("duration", f"{r.seconds:.1f} s"),
        ("rows extracted", fmt_count(s.total("rows"))),
        ("pages", fmt_count(s.total("pages"))),
        ("API requests", fmt_count(s.total("requests"))),
        ("  for $metadata, planning, sweeps", fmt_count(s.overhead.requests)),
        ("token requests", fmt_count(s.token_requests)),
        ("retries", fmt_count(s.total("retries"))),
        ("429 responses", fmt_count(s.total("rate_limited"))),
        *tenant_overview(s),
        ("5xx responses", fmt_count(s.total("server_errors"))),
        ("quarantined records", fmt_count(s.total("quarantined"))),
        ("forgotten records purged", fmt_count(sum(s.purged.values()))),
        ("schema changes", fmt_count(s.schema_changes)),
        ("count mismatches", fmt_count(len(s.count_mismatches))),
    ]
    if r.dbt is not None:
        rows.append(("dbt build", "ok" if r.dbt.success else "FAILED"))
    elif r.dbt_skipped_reason:
        rows.append(("dbt build", f"skipped ({r.dbt_skipped_reason})"))
    if r.publish is not None:
        rows.append(("published", f"{r.publish.target} ({r.publish.bytes / 1e6:.1f} MB)"))
    else:
        rows.append(("published", "no"))
    return Section("Run", ("item", "value"), rows, notes=[f"warning: {w}" for w in s.warnings])


def _entities(r: RunReport) -> Section:
    rows = [
        (
            e.entity,
            e.status,
            fmt_count(e.rows),
            fmt_count(e.pages),
            fmt_count(e.requests),
            fmt_count(e.retries),
            fmt_count(e.rate_limited),
            fmt_count(e.quarantined),
            fmt_count(e.source_count),
            fmt_count(e.loaded_count),
            _match(e.count_match),
            f"{e.seconds:.1f}",
            fmt_time(e.watermark),
        )
        for e in r.entities
    ]
    notes = [f"error: {err}" for e in r.entities for err in e.errors]
    return Section(
        "Extract by entity set",
        (
            "entity set",
            "status",
            "rows",
            "pages",
            "requests",
            "retries",
            "429s",
            "quarantined",
            "source count",
            "loaded",
            "match",
            "seconds",
            "watermark",
        ),
        rows,
        notes,
    )


def _tables(r: RunReport) -> Section:
    rows = [
        (
            f"{t.schema}.{t.table}",
            fmt_count(t.rows),
            fmt_time(t.freshness),
            fmt_age(t.freshness, r.generated_at),
        )
        for t in r.tables
    ]
    return Section("Warehouse tables", ("table", "rows", "freshest row", "age"), rows)


_QUIET_STATUSES = frozenset({"success", "pass", "no-op"})
"""Node outcomes that need no attention; the compact report only counts them."""


def _dbt(r: RunReport, detail: bool) -> Section | None:
    if r.dbt is None:
        return None
    counts: dict[str, int] = {}
    rows: list[tuple[str, ...]] = []
    for node in r.dbt.nodes:
        counts[node.status] = counts.get(node.status, 0) + 1
        # Passing tests and exposures are many and say little: only their count is shown.
        # Without detail, only nodes that need attention are listed.
        quiet = node.status in _QUIET_STATUSES
        if quiet and (node.resource_type in ("test", "exposure") or not detail):
            continue
        rows.append(
            (
                node.unique_id,
                node.resource_type,
                node.status,
                f"{node.execution_time:.2f}",
                fmt_count(node.failures) if node.resource_type == "test" else "-",
                (node.message or "").splitlines()[0][:120] if node.message else "",
            )
        )
    tally = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    notes = [f"nodes: {tally or 'none'}"]
    if r.dbt.tests:
        notes.append(f"data tests: {r.dbt.tests}")
    if r.dbt.error:
        notes.append(f"error: dbt could not run: {r.dbt.error}")
    notes.append(f"dbt log: {r.dbt.log_path / 'dbt.log'}")
    return Section(
        "dbt build",
        ("node", "type", "status", "seconds", "failures", "message"),
        rows,
        notes=notes,
    )


def _written(p: PublishResult) -> str:
    """What making the new file wrote: the changed blocks, a whole copy, or nothing."""
    if p.method == "reflink":
        return "nothing (reflink clone)"
    if p.method == "changed blocks":
        return f"{p.written / 1e6:.1f} MB (the blocks that changed)"
    return f"{p.written / 1e6:.1f} MB (a whole copy)"


def _publish(r: RunReport) -> Section | None:
    p = r.publish
    if p is None:
        return None
    return Section(
        "Published warehouse",
        ("item", "value"),
        [
            ("file", str(p.target)),
            ("size", f"{p.bytes / 1e6:.1f} MB"),
            ("written", _written(p)),
            ("published at", fmt_time(p.published_at)),
            ("seconds", f"{p.seconds:.2f}"),
        ],
    )


def report_sections(report: RunReport, *, detail: bool = True) -> list[Section]:
    """The report as titled tables of formatted cells, in display order.

    Args:
        report: The run report.
        detail: List every dbt model, seed and snapshot; without it, only dbt nodes that
            need attention (failed, warned, skipped) are listed. Totals are the same.
    """
    parts = [
        _overview(report),
        _entities(report),
        *tenant_sections(report.summary, Section),
        _tables(report),
        _dbt(report, detail),
        _publish(report),
    ]
    return [s for s in parts if s is not None]


# --- renderers -------------------------------------------------------------------------------


def render_text(report: RunReport, *, detail: bool = False) -> str:
    """The report for a terminal: aligned columns, one block per section.

    The per-node dbt lines are already in the run's log, so by default the terminal report
    lists only dbt nodes that need attention (``detail`` lists all, like the artifact).
    """
    return sections_text(report_sections(report, detail=detail))


def sections_text(sections: Sequence[Section]) -> str:
    """Lay sections out as aligned plain-text tables (two-column tables without headers).

    Cells and notes may quote the API (error messages): each is made one inert line with
    :func:`~flows.terminal.terminal_safe` before it is laid out.
    """
    blocks = []
    for section in sections:
        lines = [section.title, "-" * len(section.title)]
        if section.rows:
            rows = [tuple(terminal_safe(cell) for cell in row) for row in section.rows]
            table = [section.headers, *rows]
            widths = [max(len(row[i]) for row in table) for i in range(len(section.headers))]
            start = 1 if section.headers == ("item", "value") else 0
            for row in table[start:]:
                cells = (cell.ljust(w) for cell, w in zip(row, widths, strict=True))
                lines.append("  ".join(cells).rstrip())
        elif not section.notes:
            lines.append("(none)")
        lines += [terminal_safe(note) for note in section.notes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def report_charts(report: RunReport) -> list[Chart]:
    """The report's charts: net revenue per day by application, rows and seconds per run."""
    trends = report.trends
    drawn = (revenue_chart(trends.revenue, trends.currency), runs_chart(trends.runs))
    return [c for c in drawn if c is not None]


def render_markdown(report: RunReport, *, charts: Sequence[Chart] | None = None) -> str:
    """The report as markdown for the Prefect artifact; same sections and figures.

    The charts come first, as PNG data URIs (the Prefect UI shows them as images).
    """
    s = report.summary
    out = [f"# norce-elt run {s.run_id}: {s.status}", ""]
    for chart in report_charts(report) if charts is None else charts:
        out += [f"![{_md_cell(chart.alt)}]({chart.png_data_uri})", ""]
    for section in report_sections(report, detail=True):
        out += [f"## {section.title}", ""]
        if section.rows:
            out.append("| " + " | ".join(section.headers) + " |")
            out.append("|" + "---|" * len(section.headers))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in section.rows]
            out.append("")
        out += [f"- {_md_cell(note)}" for note in section.notes]
        if section.notes:
            out.append("")
    return "\n".join(out)


def table_artifact_rows(report: RunReport) -> list[dict[str, Any]]:
    """One row per entity set for the Prefect table artifact (numbers kept numeric).

    ``table_rows`` and ``freshness`` come from the warehouse after the run; the other
    columns are what the run itself did. A last row holds the requests made outside the
    partitions ($metadata, application list, key bounds, forgotten-record sweeps), so the
    ``requests`` column adds up to the run's total.
    """
    by_table = {t.table: t for t in report.tables if t.schema == "raw"}
    rows = []
    for e in report.entities:
        t = by_table.get(e.table)
        rows.append(
            {
                "entity": e.entity,
                "table": f"raw.{e.table}",
                "status": e.status,
                "rows_loaded": e.rows,
                "pages": e.pages,
                "requests": e.requests,
                "retries": e.retries,
                "rate_limited_429": e.rate_limited,
                "server_errors_5xx": e.server_errors,
                "quarantined": e.quarantined,
                "purged": e.purged,
                "source_count": e.source_count,
                "loaded_count": e.loaded_count,
                "count_match": e.count_match,
                "seconds": round(e.seconds, 2),
                "watermark": fmt_time(e.watermark),
                "table_rows": t.rows if t else None,
                "freshness": fmt_time(t.freshness) if t else "-",
            }
        )
    for skipped in report.summary.skipped:
        rows.append(_skipped_artifact_row(skipped.entity))
    overhead = report.summary.overhead
    rows.append(
        {
            "entity": OVERHEAD_ENTITY,
            "table": "-",
            "status": "ok",
            "rows_loaded": 0,
            "pages": 0,
            "requests": overhead.requests,
            "retries": overhead.retries,
            "rate_limited_429": overhead.rate_limited,
            "server_errors_5xx": overhead.server_errors,
            "quarantined": 0,
            "purged": 0,
            "source_count": None,
            "loaded_count": 0,
            "count_match": None,
            "seconds": 0.0,
            "watermark": "-",
            "table_rows": None,
            "freshness": "-",
        }
    )
    return rows


def _skipped_artifact_row(entity: str) -> dict[str, Any]:
    """The artifact row of a set the run skipped (its reason is in the markdown report)."""
    return {
        "entity": entity,
        "table": "-",
        "status": "skipped",
        "rows_loaded": 0,
        "pages": 0,
        "requests": 0,
        "retries": 0,
        "rate_limited_429": 0,
        "server_errors_5xx": 0,
        "quarantined": 0,
        "purged": 0,
        "source_count": None,
        "loaded_count": 0,
        "count_match": None,
        "seconds": 0.0,
        "watermark": "-",
        "table_rows": None,
        "freshness": "-",
    }

"""The report's trends, charts and HTML page, from a small warehouse made here."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from extract import RunSummary
from flows.charts import revenue_chart, runs_chart
from flows.render import render_markdown
from flows.report import build_report
from flows.report_page import render_html
from flows.trends import read_trends

LAST = date(2025, 6, 30)


def _warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts; create schema meta")
    con.execute(
        "create table marts.mart_sales_daily as select * from (values "
        "(date '2025-06-30', 1, 'Shop SE', 'EUR', 100.0),"
        "(date '2025-06-30', 1, 'Shop SE', 'EUR', 50.5),"  # another country, same day
        "(date '2025-06-30', 2, 'Shop NO', 'EUR', 70.0),"
        "(date '2025-04-02', 1, 'Shop SE', 'EUR', 30.0),"  # day 90 back: in
        "(date '2025-04-01', 1, 'Shop SE', 'EUR', 999.0)"  # day 91 back: out
        ") t(order_date, application_id, application_name, reporting_currency_code, "
        "net_revenue_rc)"
    )
    con.execute(
        "create table meta.run_history (run_id varchar, command varchar, mode varchar, "
        "started_at timestamptz, finished_at timestamptz, status varchar, rows bigint)"
    )
    t0 = datetime(2025, 6, 30, 12, tzinfo=UTC)
    for i in range(25):
        start = t0 + timedelta(minutes=15 * i)
        con.execute(
            "insert into meta.run_history values (?, 'run', 'incremental', ?, ?, 'ok', ?)",
            [f"r{i:02d}", start, start + timedelta(seconds=10 + i), 100 * i],
        )
    con.execute(
        "insert into meta.run_history values ('running', 'run', 'incremental', ?, null, "
        "'running', null)",
        [t0 + timedelta(days=1)],
    )
    con.close()
    return path


def test_trends_cover_the_last_90_days_and_the_last_finished_runs(tmp_path: Path) -> None:
    trends = read_trends(_warehouse(tmp_path / "w.duckdb"))
    by_key = {(p.day, p.application): p.net_revenue for p in trends.revenue}
    assert by_key == {
        (LAST, "Shop NO"): 70.0,
        (LAST, "Shop SE"): 150.5,
        (date(2025, 4, 2), "Shop SE"): 30.0,
    }
    assert trends.currency == "EUR"
    assert [r.run_id for r in trends.runs] == [f"r{i:02d}" for i in range(5, 25)]
    assert trends.runs[-1].seconds == 34.0 and trends.runs[-1].rows == 2400


def test_a_warehouse_without_marts_has_no_revenue_chart(tmp_path: Path) -> None:
    path = tmp_path / "raw-only.duckdb"
    duckdb.connect(str(path)).close()
    trends = read_trends(path)
    assert trends.revenue == [] and trends.runs == []
    assert revenue_chart(trends.revenue, trends.currency) is None
    assert runs_chart(trends.runs) is None


def test_charts_are_svg_and_png(tmp_path: Path) -> None:
    trends = read_trends(_warehouse(tmp_path / "w.duckdb"))
    chart = revenue_chart(trends.revenue, trends.currency)
    assert chart is not None
    assert chart.svg.startswith("<svg") and "</svg>" in chart.svg
    assert chart.png.startswith(b"\x89PNG")
    assert "2 applications" in chart.alt and "250 EUR" in chart.alt
    runs = runs_chart(trends.runs)
    assert runs is not None and "20 runs" in runs.alt


def test_report_page_and_markdown_carry_the_charts(tmp_path: Path) -> None:
    t0 = datetime(2025, 6, 30, 12, tzinfo=UTC)
    summary = RunSummary("run-<b>1</b>", "incremental", t0, t0 + timedelta(seconds=3))
    report = build_report(summary, database=_warehouse(tmp_path / "w.duckdb"))
    from flows.render import report_charts

    charts = report_charts(report)
    assert len(charts) == 2
    page = render_html(report, charts, docs_href="norce.docs.html")
    assert page.count("<svg") >= 2 and "<script" not in page  # no JavaScript, no CDN
    assert "run-&lt;b&gt;1&lt;/b&gt;" in page and "run-<b>1</b>" not in page
    assert 'href="norce.docs.html"' in page
    markdown = render_markdown(report, charts=charts)
    assert markdown.count("](data:image/png;base64,") == 2

"""The run report: figures summed per entity, the same numbers in text and markdown."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from extract.http.stats import RequestStats
from extract.run.results import PartitionResult, RunSummary
from flows.publish import PublishResult
from flows.render import render_markdown, render_text, report_sections, table_artifact_rows
from flows.report import build_report, entity_figures, table_figures

T0 = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)


def _part(
    entity: str, table: str, app: int, rows: int, requests: int, **kw: object
) -> PartitionResult:
    stats = RequestStats()
    stats.add(requests=requests, retries=kw.pop("retries", 0), rate_limited=kw.pop("rl", 0))
    result = PartitionResult(
        entity,
        table,
        app,
        str(kw.pop("part", "")),
        "incremental",
        rows=rows,
        pages=max(rows // 500, 1),
        loaded_count=rows,
        started_at=T0,
        finished_at=T0 + timedelta(seconds=float(kw.pop("secs", 2.0))),
        stats=stats,
        watermark_after=T0,
    )
    for key, value in kw.items():
        setattr(result, key, value)
    return result


def _summary() -> RunSummary:
    s = RunSummary("run-1", "incremental", T0, T0 + timedelta(seconds=9))
    s.partitions = [
        _part("Orders/Orders", "orders", 1, 1200, 5, source_count=1200, retries=1, rl=1),
        _part("Orders/Orders", "orders", 2, 800, 3, source_count=800, quarantined=1),
        _part("Core/Currencies", "currencies", 0, 4, 1, source_count=None),
        _part("Products/Products", "products", 0, 300, 2, source_count=300, part="r0/2"),
        _part("Products/Products", "products", 0, 0, 7, status="failed", error="boom", part="r1/2"),
    ]
    s.token_requests = 1
    s.purged = {"Orders/Orders": 2}
    return s


def test_entity_figures_sum_partitions() -> None:
    figures = {e.entity: e for e in entity_figures(_summary())}
    orders = figures["Orders/Orders"]
    assert (orders.rows, orders.requests, orders.retries, orders.rate_limited) == (2000, 8, 1, 1)
    assert (orders.partitions, orders.quarantined, orders.purged) == (2, 1, 2)
    assert orders.source_count == 2000 and orders.count_match is True
    assert figures["Core/Currencies"].source_count is None
    assert figures["Core/Currencies"].count_match is None
    products = figures["Products/Products"]
    assert (products.status, products.rows, products.requests) == ("failed", 300, 9)
    assert products.errors == ("Products/Products r1/2: boom",)


def _warehouse(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create schema marts")
    con.execute(
        "create table raw.orders as select range as Id, timestamptz '2025-05-01 11:00:00+00' "
        "as _extracted_at, case when range < 5 then now() end as _deleted_at from range(2005)"
    )
    con.execute("create table marts.fct_orders as select range as order_id from range(2000)")
    con.execute("create view marts.some_view as select 1 as x")
    con.close()


def test_table_figures_count_live_rows_and_freshness(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    tables = {f"{t.schema}.{t.table}": t for t in table_figures(db)}
    assert set(tables) == {"raw.orders", "marts.fct_orders"}  # views are not listed
    assert tables["raw.orders"].rows == 2000  # soft-deleted rows excluded
    assert tables["raw.orders"].freshness == datetime(2025, 5, 1, 11, 0, tzinfo=UTC)
    assert tables["marts.fct_orders"].freshness is None


def test_text_and_markdown_show_the_same_figures(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    report = build_report(_summary(), database=db, dbt_skipped_reason="not requested")
    text, markdown = render_text(report, detail=True), render_markdown(report)
    for section in report_sections(report):
        assert section.title in text and section.title in markdown
        for row in section.rows:
            for cell in row:
                assert cell in text
                assert cell.replace("|", "\\|") in markdown
    assert "skipped (not requested)" in text
    assert "error: Products/Products r1/2: boom" in text
    # totals: 2000 + 4 + 300 rows, 5 + 3 + 1 + 2 + 7 requests
    assert re.search(r"rows extracted\s+2,304", text)
    assert re.search(r"API requests\s+18", text)


def test_table_artifact_rows_are_numeric_and_match_the_warehouse(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    rows = {r["entity"]: r for r in table_artifact_rows(build_report(_summary(), database=db))}
    orders = rows["Orders/Orders"]
    assert orders["rows_loaded"] == 2000
    assert orders["requests"] == 8
    assert orders["rate_limited_429"] == 1
    assert orders["table_rows"] == 2000
    assert orders["count_match"] is True
    assert rows["Core/Currencies"]["table_rows"] is None  # not in this warehouse


@pytest.mark.parametrize(
    ("method", "written", "shown"),
    [
        ("changed blocks", 12_300_000, "12.3 MB (the blocks that changed)"),
        ("kernel", 456_700_000, "456.7 MB (a whole copy)"),
        ("reflink", 0, "nothing (reflink clone)"),
    ],
)
def test_the_report_says_what_the_publish_wrote(
    tmp_path: Path, method: str, written: int, shown: str
) -> None:
    db = tmp_path / "w.duckdb"
    _warehouse(db)
    published = PublishResult(
        tmp_path / "norce.duckdb", db, "run-1", T0, 456_700_000, 0.8, method, written
    )
    report = build_report(_summary(), database=db, publish=published, dbt_skipped_reason="x")
    text = render_text(report, detail=True)
    assert re.search(rf"written\s+{re.escape(shown)}", text)
    assert re.search(r"size\s+456\.7 MB", text)

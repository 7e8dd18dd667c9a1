"""The run report: what a run did and what the warehouse holds afterwards.

:func:`build_report` gathers the extract :class:`RunSummary`, the dbt node results and the
publish, plus rows and freshness per table read from the warehouse. :mod:`flows.render`
turns a :class:`RunReport` into terminal text and Prefect artifacts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from extract import PartitionResult, RunSummary
from flows.dbt_runner import DbtRunResult
from flows.publish import PublishResult
from flows.trends import Trends, read_trends

__all__ = [
    "REPORTED_SCHEMAS",
    "EntityFigures",
    "RunReport",
    "TableFigures",
    "build_report",
    "entity_figures",
    "table_figures",
]

REPORTED_SCHEMAS = ("raw", "marts")
"""Schemas whose tables get a rows/freshness line (staging views are not materialised)."""


@dataclass(frozen=True, slots=True)
class EntityFigures:
    """One entity set's figures for this run, summed over its partitions."""

    entity: str
    table: str
    status: str
    partitions: int
    rows: int
    pages: int
    requests: int
    retries: int
    rate_limited: int
    server_errors: int
    quarantined: int
    purged: int
    source_count: int | None
    """Sum of the server's ``$count`` over partitions; ``None`` if any partition had none."""
    loaded_count: int
    seconds: float
    watermark: datetime | None
    errors: tuple[str, ...] = ()

    @property
    def count_match(self) -> bool | None:
        """Whether every row the server counted was loaded (``None``: no count)."""
        return None if self.source_count is None else self.source_count == self.loaded_count


@dataclass(frozen=True, slots=True)
class TableFigures:
    """Rows and freshness of one table in the warehouse after the run."""

    schema: str
    table: str
    rows: int
    freshness: datetime | None
    """Newest ``_extracted_at`` (raw tables); ``None`` for marts or empty tables."""


@dataclass(frozen=True, slots=True)
class RunReport:
    """Everything a run reports."""

    summary: RunSummary
    entities: list[EntityFigures]
    tables: list[TableFigures]
    dbt: DbtRunResult | None = None
    publish: PublishResult | None = None
    dbt_skipped_reason: str | None = None
    trends: Trends = field(default_factory=Trends)
    """Revenue per day and the last runs, for the charts."""
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def seconds(self) -> float:
        """Wall time from the start of the extract to the report."""
        return (self.generated_at - self.summary.started_at).total_seconds()


# --- gathering ------------------------------------------------------------------------------


def entity_figures(summary: RunSummary) -> list[EntityFigures]:
    """Sum the partition results of ``summary`` per entity set, in first-seen order."""
    by_entity: dict[str, list[PartitionResult]] = {}
    for p in summary.partitions:
        by_entity.setdefault(p.entity, []).append(p)
    out = []
    for entity, parts in by_entity.items():
        statuses = {p.status for p in parts}
        status = next((s for s in ("failed", "budget", "skipped") if s in statuses), "ok")
        counts = [p.source_count for p in parts]
        watermarks = [p.watermark_after for p in parts if p.watermark_after is not None]
        out.append(
            EntityFigures(
                entity=entity,
                table=parts[0].table,
                status=status,
                partitions=len(parts),
                rows=sum(p.rows for p in parts),
                pages=sum(p.pages for p in parts),
                requests=sum(p.stats.requests for p in parts),
                retries=sum(p.stats.retries for p in parts),
                rate_limited=sum(p.stats.rate_limited for p in parts),
                server_errors=sum(p.stats.server_errors for p in parts),
                quarantined=sum(p.quarantined for p in parts),
                purged=summary.purged.get(entity, 0),
                source_count=None
                if any(c is None for c in counts)
                else sum(c for c in counts if c is not None),
                loaded_count=sum(p.loaded_count for p in parts),
                seconds=max(p.duration_s for p in parts),
                watermark=min(watermarks) if watermarks else None,
                errors=tuple(f"{_part_label(p)}: {p.error}" for p in parts if p.error),
            )
        )
    return out


def _part_label(p: PartitionResult) -> str:
    app = f" app={p.application_id}" if p.application_id else ""
    part = f" {p.part}" if p.part else ""
    return f"{p.entity}{app}{part}"


def table_figures(database: Path, schemas: Sequence[str] = REPORTED_SCHEMAS) -> list[TableFigures]:
    """Count rows (and the newest ``_extracted_at``) of every base table in ``schemas``.

    Args:
        database: A DuckDB file nobody is writing (the published file, or the working
            file after the run closed it); opened read-only.
        schemas: Which schemas to list.

    Returns:
        One entry per table, ordered by schema then name; rows soft-deleted at the source
        (``_deleted_at`` set) are not counted.
    """
    if not Path(database).exists():
        return []
    con = duckdb.connect(str(database), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        placeholders = ", ".join("?" for _ in schemas)
        listed = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_type = 'BASE TABLE' and table_schema in ({placeholders}) "
            "order by table_schema, table_name",
            list(schemas),
        ).fetchall()
        columns: dict[tuple[str, str], set[str]] = {}
        for schema, table, column in con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            f"where table_schema in ({placeholders})",
            list(schemas),
        ).fetchall():
            columns.setdefault((schema, table), set()).add(column)
        out = []
        for schema, table in listed:
            cols = columns.get((schema, table), set())
            name = f'"{schema}"."{table}"'
            where = " where _deleted_at is null" if "_deleted_at" in cols else ""
            fresh = "max(_extracted_at)" if "_extracted_at" in cols else "null"
            row = con.execute(f"select count(*), {fresh} from {name}{where}").fetchone()
            assert row is not None
            out.append(TableFigures(schema, table, int(row[0]), row[1]))
        return out
    finally:
        con.close()


def build_report(
    summary: RunSummary,
    *,
    database: Path | None,
    dbt: DbtRunResult | None = None,
    publish: PublishResult | None = None,
    dbt_skipped_reason: str | None = None,
) -> RunReport:
    """Gather a run's report (with the figures its charts show).

    Args:
        summary: The extract summary (``extract(...).summary``).
        database: The file to read table figures from: the published file when the run
            published, else the closed working database; ``None`` skips table figures.
        dbt: The ``dbt build`` result, if dbt ran.
        publish: The publish result, if the run published.
        dbt_skipped_reason: Why dbt did not run, for the report.
    """
    return RunReport(
        summary=summary,
        entities=entity_figures(summary),
        tables=table_figures(database) if database is not None else [],
        trends=read_trends(database) if database is not None else Trends(),
        dbt=dbt,
        publish=publish,
        dbt_skipped_reason=dbt_skipped_reason,
    )

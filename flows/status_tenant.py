"""The tenant part of ``norce-wh status``: what the last run skipped or adapted, what the
tenant accepts (``meta.run_notices``, ``meta.capabilities`` of the published file)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

from flows.render import Section, fmt_time
from flows.render_tenant import grouped_fallbacks

__all__ = [
    "CapabilityLine",
    "NoticeLine",
    "capabilities_section",
    "notices_section",
    "read_capabilities",
    "read_notices",
]


@dataclass(frozen=True, slots=True)
class NoticeLine:
    """One ``meta.run_notices`` row of the last run: a set skipped, degraded, adapted."""

    kind: str
    entity: str
    detail: str


@dataclass(frozen=True, slots=True)
class CapabilityLine:
    """What one entity set (or, with no entity, the tenant) accepts: ``meta.capabilities``."""

    entity: str
    values: dict[str, str]
    learned_at: datetime | None
    detail: str | None = None


def read_notices(
    con: duckdb.DuckDBPyConnection, present: set[str], run_ids: list[str]
) -> tuple[list[NoticeLine], set[str]]:
    """The newest run's notices, and which of ``run_ids`` were privacy-degraded."""
    if "meta.run_notices" not in present or not run_ids:
        return [], set()
    last = [
        NoticeLine(kind, entity, detail)
        for kind, entity, detail in con.execute(
            "select kind, entity, detail from meta.run_notices where run_id = ? order by "
            "case kind when 'skipped' then 0 when 'degraded' then 1 else 2 end, entity",
            [run_ids[0]],
        ).fetchall()
    ]
    degraded = {
        r[0]
        for r in con.execute(
            "select distinct run_id from meta.run_notices where kind = 'degraded' "
            "and run_id in (select unnest(?))",
            [run_ids],
        ).fetchall()
    }
    return last, degraded


def read_capabilities(con: duckdb.DuckDBPyConnection, present: set[str]) -> list[CapabilityLine]:
    """What the tenant accepts, per entity set (the tenant-wide findings first)."""
    if "meta.capabilities" not in present:
        return []
    by_entity: dict[str, CapabilityLine] = {}
    for entity, capability, value, detail, learned_at in con.execute(
        "select entity, capability, value, detail, learned_at from meta.capabilities "
        "order by entity, capability"
    ).fetchall():
        line = by_entity.setdefault(entity, CapabilityLine(entity, {}, learned_at, detail))
        line.values[capability] = value
    return list(by_entity.values())


def notices_section(notices: list[NoticeLine]) -> Section:
    fallbacks = [n.detail for n in notices if n.kind == "fallback"]
    return Section(
        "Last run: skipped sets, degraded privacy, fallbacks",
        ("kind", "entity set", "detail"),
        [(n.kind, n.entity, n.detail) for n in notices if n.kind != "fallback"],
        notes=[f"fallback: {line}" for line in grouped_fallbacks(fallbacks)],
    )


_CAPABILITY_COLUMNS = ("key_type", "count", "key_order", "cursor_filter", "application_filter")


def capabilities_section(lines: list[CapabilityLine]) -> Section:
    tenant = [line for line in lines if not line.entity]
    notes = [
        f"applicationId header: {line.values.get('application_header', '-')} ({line.detail})"
        for line in tenant
    ]
    return Section(
        "Tenant capabilities (learned on first contact; probed again when $metadata changes)",
        ("entity set", "key type", "$count", "key order", "cursor filter", "app filter", "learned"),
        [
            (
                line.entity,
                *(line.values.get(c, "-") for c in _CAPABILITY_COLUMNS),
                fmt_time(line.learned_at),
            )
            for line in lines
            if line.entity
        ],
        notes=notes,
    )

"""Raw tables from load plans: created once, evolved as the source schema changes.

``raw.<table>`` has the plan's columns (source names and ``$metadata`` types) plus
``_load_id``, ``_extracted_at`` and ``_deleted_at``. New source properties become columns;
properties the source no longer declares stay (null from now on); a widening type change is
applied in place. A source property named like a loader column is loaded as
``<name>_source`` (the plan renames it; its column is recorded as ``renamed from <name>``).
Every change is recorded in ``meta.schema_changes``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from extract.errors import DataContractError
from extract.load import meta
from extract.load.warehouse import Warehouse, execute, qi
from extract.schema.plan import LOADER_COLUMNS, EntityPlan, TablePlan
from extract.schema.types import is_widening

__all__ = ["LOAD_COLUMNS", "SchemaChange", "ensure_tables"]

log = logging.getLogger(__name__)

LOAD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_load_id", "VARCHAR"),
    ("_extracted_at", "TIMESTAMPTZ"),
    ("_deleted_at", "TIMESTAMPTZ"),
)
"""Columns the loader adds to every raw table."""
assert tuple(name for name, _ in LOAD_COLUMNS) == LOADER_COLUMNS


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One column change of a raw table."""

    table: str
    column: str
    change: str  # added | removed | type_changed
    old_type: str | None
    new_type: str | None


def ensure_tables(wh: Warehouse, plan: EntityPlan, *, rebuild: bool = False) -> list[SchemaChange]:
    """Create or evolve every raw table of ``plan``; record the changes in ``meta``.

    Args:
        wh: The working database.
        plan: The entity set's load plan.
        rebuild: A full refresh: a narrowing type change recreates the column instead of
            failing.

    Returns:
        The changes made (empty for new tables and unchanged ones).

    Raises:
        DataContractError: A column's type narrowed at the source and ``rebuild`` is off.
    """
    changes: list[SchemaChange] = []
    now = datetime.now(UTC)
    with wh.transaction() as con:
        for tp in plan.tables.values():
            changes += _ensure_table(wh, con, tp, plan.spec.path, rebuild=rebuild)
        for ch in changes:
            meta.insert(
                con,
                meta.SchemaChangeRow(
                    wh.run_id,
                    plan.spec.path,
                    ch.table,
                    ch.column,
                    ch.change,
                    ch.old_type,
                    ch.new_type,
                    now,
                ),
            )
    for ch in changes:
        log.warning(
            "schema change in raw.%s: %s %s (%s -> %s)",
            ch.table,
            ch.column,
            ch.change,
            ch.old_type,
            ch.new_type,
        )
    return changes


def _ensure_table(
    wh: Warehouse, con: duckdb.DuckDBPyConnection, tp: TablePlan, entity: str, *, rebuild: bool
) -> list[SchemaChange]:
    existing = wh.table_columns(tp.table)
    wanted = [(c.name, c.duckdb_type) for c in tp.columns] + list(LOAD_COLUMNS)
    target = f"raw.{qi(tp.table)}"
    changes = [
        SchemaChange(tp.table, c.name, f"renamed from {c.renamed_from}", None, c.duckdb_type)
        for c in tp.columns
        if c.renamed_from is not None and c.name not in existing
    ]
    if not existing:
        execute(con, f"create table {target} ({', '.join(f'{qi(n)} {t}' for n, t in wanted)})")
        return changes
    for name, dtype in wanted:
        old = existing.get(name)
        if old is None:
            execute(con, f"alter table {target} add column {qi(name)} {dtype}")
            changes.append(SchemaChange(tp.table, name, "added", None, dtype))
        elif _norm(old) != _norm(dtype):
            if not (rebuild or is_widening(old, dtype)):
                raise DataContractError(
                    f"{entity}: column raw.{tp.table}.{name} changed type at the source "
                    f"from {old} to {dtype}, which cannot be converted in place",
                    hint=f"run once with --full-refresh --entities {entity} to rebuild it",
                )
            using = "" if is_widening(old, dtype) else f" using try_cast({qi(name)} as {dtype})"
            execute(
                con, f"alter table {target} alter column {qi(name)} set data type {dtype}{using}"
            )
            changes.append(SchemaChange(tp.table, name, "type_changed", old, dtype))
    wanted_names = {n for n, _ in wanted}
    for name, dtype in existing.items():
        if name not in wanted_names and not _removal_recorded(wh, tp.table, name):
            changes.append(SchemaChange(tp.table, name, "removed", dtype, None))
    return changes


def _removal_recorded(wh: Warehouse, table: str, column: str) -> bool:
    rows = wh.query(
        "select change from meta.schema_changes where table_name = ? and column_name = ? "
        "order by recorded_at desc limit 1",
        [table, column],
    )
    return bool(rows) and rows[0][0] == "removed"


def _norm(dtype: str) -> str:
    t = dtype.upper().replace(" ", "")
    return {"TIMESTAMPWITHTIMEZONE": "TIMESTAMPTZ"}.get(t, t)

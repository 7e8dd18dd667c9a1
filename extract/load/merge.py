"""Rows into raw tables: merge on the key, replace a lookup, purge or mark deleted keys.

A batch -- rows of one or more raw tables plus the partition state that produced them --
commits in one transaction, which is what makes a killed run resumable without duplicates
or gaps. Rows are merged on the key (delete + insert); child tables are replaced per parent
key, so a line removed at the source disappears too, and a child row whose own key does not
contain the parent key (``order_items.Id``) also replaces the row with that key under
another parent: a line that moved is stored once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from extract.decode.private import CUSTOMER_TABLE
from extract.load import meta
from extract.load.state import PartitionState
from extract.load.warehouse import Warehouse, execute, qi
from extract.schema.plan import EntityPlan, TablePlan

__all__ = ["mark_missing_deleted", "merge_batch", "purge_keys", "replace_all"]


def merge_batch(
    wh: Warehouse,
    plan: EntityPlan,
    tables: dict[str, pa.Table],
    *,
    extracted_at: datetime,
    state: PartitionState | None,
) -> int:
    """Merge one batch of rows (and the state that produced it) in one transaction.

    Returns:
        Rows written across all tables.
    """
    written = 0
    with wh.transaction() as con:
        for name, tp in plan.tables.items():
            data = tables.get(name)
            if data is not None:
                written += _merge(con, tp, plan, data, tables, wh.run_id, extracted_at)
        if state is not None:
            meta.write_state(con, state)
    return written


def _merge(
    con: duckdb.DuckDBPyConnection,
    tp: TablePlan,
    plan: EntityPlan,
    data: pa.Table,
    batch: dict[str, pa.Table],
    load_id: str,
    extracted_at: datetime,
) -> int:
    target = f"raw.{qi(tp.table)}"
    view = f"_batch_{tp.table}"
    con.register(view, data)
    try:
        if tp.parent_key is None:
            keys = " and ".join(f"t.{qi(k)} = b.{qi(k)}" for k in tp.key)
            execute(
                con,
                f"delete from {target} t where exists (select 1 from {qi(view)} b where {keys})",
            )
        else:
            # children are replaced per parent: every parent in the batch, even one whose
            # collection is now empty, loses its old children first.
            _delete_children(con, tp, plan, batch[plan.spec.table].select(list(plan.spec.key)))
            if data.num_rows and not set(tp.parent_key) <= set(tp.key):
                keys = " and ".join(f"t.{qi(k)} = b.{qi(k)}" for k in tp.key)
                execute(
                    con,
                    f"delete from {target} t where exists "
                    f"(select 1 from {qi(view)} b where {keys})",
                )
        if data.num_rows:
            _insert(con, target, view, data, load_id, extracted_at)
    finally:
        con.unregister(view)
    return int(data.num_rows)


def _delete_children(
    con: duckdb.DuckDBPyConnection, tp: TablePlan, plan: EntityPlan, parents: pa.Table
) -> None:
    assert tp.parent_key is not None
    view = f"_parents_{tp.table}"
    con.register(view, parents)
    try:
        keys = " and ".join(
            f"t.{qi(ck)} = p.{qi(pk)}" for ck, pk in zip(tp.parent_key, plan.spec.key, strict=True)
        )
        execute(
            con,
            f"delete from raw.{qi(tp.table)} t "
            f"where exists (select 1 from {qi(view)} p where {keys})",
        )
    finally:
        con.unregister(view)


def _insert(
    con: duckdb.DuckDBPyConnection,
    target: str,
    view: str,
    data: pa.Table,
    load_id: str,
    extracted_at: datetime,
) -> None:
    cols = ", ".join(qi(c) for c in data.column_names)
    execute(
        con,
        f"insert into {target} ({cols}, _load_id, _extracted_at) "
        f"select {cols}, ?, ? from {qi(view)}",
        [load_id, extracted_at],
    )


def replace_all(
    wh: Warehouse,
    plan: EntityPlan,
    tables: dict[str, pa.Table],
    *,
    extracted_at: datetime,
    state: PartitionState | None,
) -> int:
    """Replace the full content of a small set (lookups) in one transaction.

    Returns:
        Rows written across all tables.
    """
    written = 0
    with wh.transaction() as con:
        for name, tp in plan.tables.items():
            target = f"raw.{qi(tp.table)}"
            execute(con, f"delete from {target}")
            data = tables.get(name)
            if data is None or not data.num_rows:
                continue
            view = f"_full_{tp.table}"
            con.register(view, data)
            try:
                _insert(con, target, view, data, wh.run_id, extracted_at)
            finally:
                con.unregister(view)
            written += int(data.num_rows)
        if state is not None:
            meta.write_state(con, state)
    return written


def purge_keys(wh: Warehouse, plan: EntityPlan, keys: pa.Table) -> int:
    """Hard-delete rows (and their children) whose key is in ``keys``, and their quarantined
    records (for customers, every quarantined record about them).

    Returns:
        Rows removed from the main table.
    """
    if not keys.num_rows:
        return 0
    spec = plan.spec
    with wh.transaction() as con:
        con.register("_purge_keys", keys)
        try:
            for tp in list(plan.tables.values())[1:]:
                assert tp.parent_key is not None
                cond = " and ".join(
                    f"t.{qi(ck)} = k.{qi(pk)}"
                    for ck, pk in zip(tp.parent_key, spec.key, strict=True)
                )
                execute(
                    con,
                    f"delete from raw.{qi(tp.table)} t where exists "
                    f"(select 1 from _purge_keys k where {cond})",
                )
            cond = " and ".join(f"t.{qi(k)} = k.{qi(k)}" for k in spec.key)
            removed = con.execute(
                f"delete from raw.{qi(spec.table)} t where exists "
                f"(select 1 from _purge_keys k where {cond}) returning 1"
            ).fetchall()
        finally:
            con.unregister("_purge_keys")
        columns = [keys.column(k).to_pylist() for k in spec.key]
        meta.purge_quarantined(
            con,
            spec.path,
            list(zip(*columns, strict=True)),
            customers=spec.table == CUSTOMER_TABLE,
        )
    return len(removed)


def mark_missing_deleted(
    wh: Warehouse,
    plan: EntityPlan,
    *,
    application_id: int | None,
    seen_keys: pa.Table | None = None,
    seen_since: datetime | None = None,
) -> int:
    """Soft-delete rows of the main table that a complete pass did not see.

    Rows that reappear are unmarked by their next merge.

    Args:
        wh: The working database.
        plan: The entity set's plan.
        application_id: Only rows of this application (``None``: the whole table).
        seen_keys: Every key the source has (a key sweep): rows with other keys are marked.
        seen_since: Start of a full pass: rows not extracted since are marked.

    Returns:
        Rows marked.
    """
    if (seen_keys is None) == (seen_since is None):
        raise ValueError("give exactly one of seen_keys and seen_since")
    spec = plan.spec
    params: list[Any] = []
    scope = "true"
    if application_id is not None:
        scope, params = "t.ApplicationId = ?", [application_id]
    with wh.transaction() as con:
        if seen_keys is not None:
            con.register("_seen_keys", seen_keys)
            cond = " and ".join(f"t.{qi(k)} = s.{qi(k)}" for k in spec.key)
            missing = f"not exists (select 1 from _seen_keys s where {cond})"
        else:
            missing, params = "t._extracted_at < ?", [*params, seen_since]
        try:
            marked = con.execute(
                f"update raw.{qi(spec.table)} t set _deleted_at = ? "
                f"where t._deleted_at is null and {scope} and {missing} returning 1",
                [datetime.now(UTC), *params],
            ).fetchall()
        finally:
            if seen_keys is not None:
                con.unregister("_seen_keys")
    return len(marked)

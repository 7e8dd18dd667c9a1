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

__all__ = ["mark_missing_deleted", "merge_batch", "purge_keys", "range_is_empty", "replace_all"]


def merge_batch(
    wh: Warehouse,
    plan: EntityPlan,
    tables: dict[str, pa.Table],
    *,
    extracted_at: datetime,
    state: PartitionState | None,
    insert_only: bool = False,
) -> int:
    """Merge one batch of rows (and the state that produced it) in one transaction.

    Args:
        insert_only: The batch's keys cannot be in raw yet (:func:`range_is_empty` held for
            the rest of its pass): rows are inserted without the delete of their keys and of
            their parents' old children. A child row whose key does not contain the parent
            key still replaces a row with its key under another parent.

    Returns:
        Rows written across all tables.
    """
    written = 0
    with wh.transaction() as con:
        for name, tp in plan.tables.items():
            data = tables.get(name)
            if data is not None:
                written += _merge(
                    con, tp, plan, data, tables, (wh.run_id, extracted_at), insert_only
                )
        if state is not None:
            meta.write_state(con, state)
    return written


def _merge(
    con: duckdb.DuckDBPyConnection,
    tp: TablePlan,
    plan: EntityPlan,
    data: pa.Table,
    batch: dict[str, pa.Table],
    stamp: tuple[str, datetime],
    insert_only: bool,
) -> int:
    target = f"raw.{qi(tp.table)}"
    view = f"_batch_{tp.table}"
    con.register(view, data)
    try:
        if insert_only and (tp.parent_key is None or set(tp.parent_key) <= set(tp.key)):
            pass  # nothing in raw can carry these keys
        elif tp.parent_key is None:
            keys = " and ".join(f"t.{qi(k)} = b.{qi(k)}" for k in tp.key)
            execute(
                con,
                f"delete from {target} t where exists (select 1 from {qi(view)} b where {keys})",
            )
        else:
            # children are replaced per parent: every parent in the batch, even one whose
            # collection is now empty, loses its old children first.
            if not insert_only:
                _delete_children(con, tp, plan, batch[plan.spec.table].select(list(plan.spec.key)))
            if data.num_rows and not set(tp.parent_key) <= set(tp.key):
                keys = " and ".join(f"t.{qi(k)} = b.{qi(k)}" for k in tp.key)
                execute(
                    con,
                    f"delete from {target} t where exists "
                    f"(select 1 from {qi(view)} b where {keys})",
                )
        if data.num_rows:
            _insert(con, target, view, data, *stamp)
    finally:
        con.unregister(view)
    return int(data.num_rows)


def range_is_empty(
    wh: Warehouse,
    plan: EntityPlan,
    *,
    application_id: int | None,
    after: tuple[Any, ...] | None,
    key_lo: tuple[Any, ...] | None,
    key_hi: tuple[Any, ...] | None,
) -> bool:
    """Whether raw holds no row a keyset pass over this range can still send: no main row
    of the application with a key in ``[key_lo, key_hi)`` after ``after``, and no orphan
    child row (its parent not in the main table) with a parent key in that span -- a child
    of an existing parent belongs to a key of another application, never to this pass.

    Only for a set with one key column; ``False`` otherwise (the pass then merges).
    """
    spec = plan.spec
    main = plan.main
    if len(spec.key) != 1 or main.table not in wh.raw_tables():
        return len(spec.key) == 1
    key = qi(spec.key[0])
    span, params = _span(after, key_lo, key_hi)
    scope, scope_params = (
        ([], []) if application_id is None else (["ApplicationId = ?"], [application_id])
    )
    where = " and ".join([*scope, *(f"{key} {s}" for s in span)]) or "true"
    if _exists(wh, f"from raw.{qi(main.table)} where {where}", [*scope_params, *params]):
        return False
    for tp in plan.tables.values():
        if tp.parent_key is None:
            continue
        if len(tp.parent_key) != 1:
            return False
        pk = f"c.{qi(tp.parent_key[0])}"
        where = " and ".join([*(f"{pk} {s}" for s in span), "true"])
        orphans = (
            f"from raw.{qi(tp.table)} c where {where} and not exists "
            f"(select 1 from raw.{qi(main.table)} m where m.{key} = {pk})"
        )
        if _exists(wh, orphans, params):
            return False
    return True


def _span(
    after: tuple[Any, ...] | None, lo: tuple[Any, ...] | None, hi: tuple[Any, ...] | None
) -> tuple[list[str], list[Any]]:
    """``key > after and key >= lo and key < hi`` as comparisons and their parameters."""
    span: list[str] = []
    params: list[Any] = []
    for op, bound in ((">", after), (">=", lo), ("<", hi)):
        if bound is not None:
            span.append(f"{op} ?")
            params.append(bound[0])
    return span, params


def _exists(wh: Warehouse, rows: str, params: list[Any]) -> bool:
    [(found,)] = wh.query(f"select exists (select 1 {rows})", params)
    return bool(found)


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

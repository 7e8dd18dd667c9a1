"""Key-only sweeps: purge records the source flags as forgotten, mark rows it deleted.

Both read just the key column(s) (``$select=<key>``), so they cost a request per 500 keys,
not per 500 full rows. Forgotten records are found by their flag on every run because the
flag can flip long after a record's last ``Updated``; deletions are found by comparing every
source key with raw (optional, ``NORCE_KEY_SWEEP``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pyarrow as pa

from extract.decode.pages import KeyDecoder
from extract.load import meta
from extract.load.merge import mark_missing_deleted, purge_keys
from extract.paging.odata import odata_literal
from extract.paging.pager import PageQuery, PageResult, iter_pages
from extract.run.context import RunContext
from extract.schema.plan import EntityPlan
from extract.schema.types import arrow_type

__all__ = ["fetch_keys", "mark_deleted", "purge_forgotten"]

log = logging.getLogger(__name__)


def fetch_keys(
    ctx: RunContext, plan: EntityPlan, flt: str | None, *, application_id: int | None
) -> pa.Table:
    """Every key of ``plan``'s set matching ``flt``, as one Arrow table (keys only)."""
    spec = plan.spec
    types = []
    for k in spec.key:
        prop = plan.entity_type.prop(k)
        assert prop is not None, f"{spec.path}: key {k} not declared"
        types.append(arrow_type(prop))
    query = PageQuery(path=spec.path, key=spec.key, filter=flt, select=",".join(spec.key))
    parts: list[pa.Table] = []
    for item in iter_pages(
        ctx.client,
        query,
        strategy="keyset",
        context=ctx.overhead_context(spec.path, application_id),
        decode=KeyDecoder(spec.key, tuple(types)),
    ):
        if isinstance(item, PageResult):
            parts.append(item.page.tables["keys"])
    if parts:
        return pa.concat_tables(parts)
    return pa.table({k: pa.array([], type=t) for k, t in zip(spec.key, types, strict=True)})


def _app_filter(plan: EntityPlan, app: int) -> str | None:
    if app and plan.application_filter:
        return f"ApplicationId eq {odata_literal(app)}"
    return None


def purge_forgotten(ctx: RunContext, plan: EntityPlan, apps: list[int], header: int | None) -> int:
    """Delete flagged records (and their children) from raw. Returns rows removed."""
    spec = plan.spec
    total = 0
    for app in apps:
        clauses = [f"{plan.forgotten_field} eq true", _app_filter(plan, app)]
        flt = " and ".join(c for c in clauses if c)
        keys = fetch_keys(ctx, plan, flt, application_id=app or header)
        total += purge_keys(ctx.warehouse, plan, keys)
        if spec.table == "orders" and keys.num_rows:
            # flagged at the source now: Norce's Reporting stops counting them too
            with ctx.warehouse.transaction() as con:
                meta.forget_erased_orders(con, keys.column(spec.key[0]).to_pylist())
    if total:
        row = meta.PurgeRow(
            ctx.run_id, spec.path, spec.table, "IsForgotten", total, datetime.now(UTC)
        )
        with ctx.warehouse.transaction() as con:
            meta.insert(con, row)
        log.info("%s: purged %d forgotten records", spec.path, total)
    return total


def mark_deleted(ctx: RunContext, plan: EntityPlan, apps: list[int], header: int | None) -> int:
    """Mark raw rows whose key the source no longer has (``_deleted_at``). Returns rows."""
    marked = 0
    for app in apps:
        flt = _app_filter(plan, app)
        keys = fetch_keys(ctx, plan, flt, application_id=app or header)
        marked += mark_missing_deleted(
            ctx.warehouse, plan, application_id=app if flt else None, seen_keys=keys
        )
    if marked:
        log.info("%s: %d rows deleted at the source marked _deleted_at", plan.spec.path, marked)
    return marked

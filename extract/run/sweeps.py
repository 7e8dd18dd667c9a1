"""Key-only sweeps: purge records the source flags as forgotten, or people it deleted;
mark other rows it deleted.

All read just the key column(s) (``$select=<key>``), so they cost a request per 500 keys,
not per 500 full rows. Forgotten records are found by their flag on every run because the
flag can flip long after a record's last ``Updated``. Deletions are found by comparing every
source key with raw: marked ``_deleted_at`` with ``NORCE_KEY_SWEEP``, and *purged* on every
run for a set holding personal data whose tenant declares no forget flag (privacy degraded:
deleting the person is then the only erasure the source can show).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pyarrow as pa

from extract.decode.pages import KeyDecoder
from extract.load import meta
from extract.load.merge import mark_missing_deleted, purge_keys
from extract.load.warehouse import qi
from extract.paging.odata import odata_literal
from extract.paging.pager import PageQuery, PageResult, iter_pages
from extract.run.context import RunContext
from extract.schema.plan import EntityPlan
from extract.schema.types import arrow_type

__all__ = ["fetch_keys", "mark_deleted", "purge_forgotten", "purge_missing"]

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
    query = PageQuery(
        path=spec.path, key=spec.key, filter=flt, select=",".join(spec.key), ordered=plan.ordered
    )
    parts: list[pa.Table] = []
    for item in iter_pages(
        ctx.client,
        query,
        strategy=plan.paging,
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


def purge_missing(ctx: RunContext, plan: EntityPlan, apps: list[int], header: int | None) -> int:
    """Hard-delete raw rows (and children) whose key the source no longer has.

    For sets whose privacy is degraded (personal data, no forget flag): a person the tenant
    erased by deleting them leaves the warehouse on the next run. Returns rows removed.
    """
    spec = plan.spec
    total = 0
    for app in apps:
        flt = _app_filter(plan, app)
        keys = fetch_keys(ctx, plan, flt, application_id=app or header)
        gone = _missing_keys(ctx, plan, keys, app if flt else None)
        total += purge_keys(ctx.warehouse, plan, gone)
    if total:
        row = meta.PurgeRow(
            ctx.run_id, spec.path, spec.table, "deleted at the source", total, datetime.now(UTC)
        )
        with ctx.warehouse.transaction() as con:
            meta.insert(con, row)
        log.info("%s: purged %d rows deleted at the source (key sweep)", spec.path, total)
    return total


def _missing_keys(
    ctx: RunContext, plan: EntityPlan, seen: pa.Table, application_id: int | None
) -> pa.Table:
    """Keys of raw rows (of one application) that are not among ``seen``."""
    key = plan.spec.key
    cols = ", ".join(f"t.{qi(k)}" for k in key)
    match = " and ".join(f"t.{qi(k)} = s.{qi(k)}" for k in key)
    scope, params = ("t.ApplicationId = ?", [application_id]) if application_id else ("true", [])
    with ctx.warehouse.transaction() as con:
        con.register("_sweep_seen", seen)
        try:
            return con.sql(
                f"select {cols} from raw.{qi(plan.spec.table)} t where {scope} and not exists "
                f"(select 1 from _sweep_seen s where {match})",
                params=params,
            ).to_arrow_table()
        finally:
            con.unregister("_sweep_seen")

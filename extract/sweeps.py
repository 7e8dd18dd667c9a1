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

from extract.client import QueryClient
from extract.odata import odata_literal
from extract.paging import PageQuery, PageResult, iter_pages
from extract.reconcile import EntityPlan
from extract.records import KeyDecoder
from extract.stats import RequestStats
from extract.types import arrow_type
from extract.warehouse import Warehouse

log = logging.getLogger(__name__)


def fetch_keys(
    client: QueryClient,
    plan: EntityPlan,
    flt: str | None,
    *,
    application_id: int | None,
    stats: RequestStats,
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
        client,
        query,
        strategy="keyset",
        application_id=application_id,
        entity=spec.path,
        stats=stats,
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


def purge_forgotten(
    client: QueryClient,
    warehouse: Warehouse,
    plan: EntityPlan,
    apps: list[int],
    *,
    header_app: int | None,
    stats: RequestStats,
    run_id: str,
) -> int:
    """Delete flagged records (and their children) from raw. Returns rows removed."""
    spec = plan.spec
    total = 0
    for app in apps:
        clauses = [f"{plan.forgotten_field} eq true", _app_filter(plan, app)]
        flt = " and ".join(c for c in clauses if c)
        keys = fetch_keys(client, plan, flt, application_id=app or header_app, stats=stats)
        total += warehouse.purge_keys(plan, keys)
        if spec.table == "orders" and keys.num_rows:
            # flagged at the source now: Norce's Reporting stops counting them too
            warehouse.forget_erased_orders(keys.column(spec.key[0]).to_pylist())
    if total:
        warehouse.execute(
            "insert into meta.purges values (?, ?, ?, 'IsForgotten', ?, now())",
            [run_id, spec.path, spec.table, total],
        )
        log.info("%s: purged %d forgotten records", spec.path, total)
    return total


def mark_deleted(
    client: QueryClient,
    warehouse: Warehouse,
    plan: EntityPlan,
    apps: list[int],
    *,
    header_app: int | None,
    stats: RequestStats,
) -> int:
    """Mark raw rows whose key the source no longer has (``_deleted_at``). Returns rows."""
    marked = 0
    for app in apps:
        flt = _app_filter(plan, app)
        keys = fetch_keys(client, plan, flt, application_id=app or header_app, stats=stats)
        scope = f"ApplicationId = {int(app)}" if flt else "true"
        marked += warehouse.mark_missing_deleted(
            plan, keys, scope_sql=scope, seen_since=datetime.now(UTC)
        )
    if marked:
        log.info("%s: %d rows deleted at the source marked _deleted_at", plan.spec.path, marked)
    return marked

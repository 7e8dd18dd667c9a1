"""A set's partitions: one per application, key ranges for a big set's full pass.

A client-wide set is one partition (application 0); an application-scoped set is one per
application. The first load or a full refresh of a set with ``key_ranges > 1`` and one
integer key is split into key ranges that run concurrently: the key's lowest and highest
values are asked for, the range is cut, and every range's state is recorded before any of
them runs -- a run killed before some range commits its first batch must still know that
range exists, or the resumed pass would finish without it. Later runs resume the ranges
still under way; when all are complete, :func:`consolidate_ranges` keeps one watermark.
"""

from __future__ import annotations

from datetime import UTC, datetime

from extract.decode.pages import KeyDecoder
from extract.load import meta
from extract.load.state import PartitionState
from extract.paging.odata import odata_literal
from extract.run.context import RunContext
from extract.run.partitions import Partition, SetPlan, split_range
from extract.run.start import decide_start
from extract.schema.plan import EntityPlan
from extract.schema.types import arrow_type

__all__ = ["consolidate_ranges", "partitions_for"]


def partitions_for(
    ctx: RunContext, set_plan: SetPlan, application_ids: list[int]
) -> list[Partition]:
    """The partitions of one planned set."""
    plan, resync = set_plan.plan, set_plan.resync
    spec = plan.spec
    per_app = spec.scope == "application" and plan.application_filter
    header = application_ids[0] if application_ids else None
    states = {(s.application_id, s.part): s for s in ctx.warehouse.states(spec.path)}
    out: list[Partition] = []
    for app in application_ids if per_app else [0]:
        hdr = app or header
        ranged = [s for (a, part), s in states.items() if a == app and part]
        if ranged and ctx.request.mode != "full":
            # resume the ranges of an interrupted split pass
            out += [
                Partition(plan, app, hdr, s.part, s.key_lo, s.key_hi, resync)
                for s in ranged
                if s.in_progress
            ]
            continue
        base = states.get((app, ""))
        first_load = base is None or (base.watermark is None and not base.in_progress)
        if _splittable(plan) and (first_load or ctx.request.mode == "full"):
            parts = _split(ctx, plan, app, hdr, resync)
            if parts:
                _register(ctx, parts)
                out += parts
                continue
        out.append(Partition(plan, app, hdr, resync=resync))
    return out


def _splittable(plan: EntityPlan) -> bool:
    spec = plan.spec
    return (
        spec.key_ranges > 1
        and spec.mode == "incremental"
        and len(spec.key) == 1
        and plan.paging == "keyset"
    )


def _split(
    ctx: RunContext, plan: EntityPlan, app: int, header: int | None, resync: bool
) -> list[Partition]:
    """The key ranges of one application's pass, or ``[]`` when it is not worth splitting."""
    bounds = _key_bounds(ctx, plan, app, header)
    if bounds is None:
        return []
    ranges = split_range(bounds[0], bounds[1], plan.spec.key_ranges)
    if len(ranges) < 2:
        return []
    n = len(ranges)
    return [
        Partition(
            plan,
            app,
            header,
            f"r{i}/{n}",
            None if lo is None else (lo,),
            None if hi is None else (hi,),
            resync,
        )
        for i, (lo, hi) in enumerate(ranges)
    ]


def _key_bounds(
    ctx: RunContext, plan: EntityPlan, app: int, header: int | None
) -> tuple[int, int] | None:
    """Lowest and highest key of one application's rows (integer keys only)."""
    key = plan.spec.key[0]
    prop = plan.entity_type.prop(key)
    if prop is None or prop.edm_type not in ("Edm.Int32", "Edm.Int64"):
        return None
    flt = f"ApplicationId eq {odata_literal(app)}" if app and plan.application_filter else None
    decode = KeyDecoder((key,), (arrow_type(prop),))
    out: list[int] = []
    for order in (key, f"{key} desc"):
        params = {"$select": key, "$orderby": order, "$top": "1"}
        if flt:
            params["$filter"] = flt
        fetched = ctx.client.get(
            plan.spec.path,
            params,
            parse=decode,
            context=ctx.overhead_context(plan.spec.path, header),
        )
        values = fetched.value.tables["keys"].column(key).to_pylist()
        if not values:
            return None
        out.append(int(values[0]))
    return out[0], out[1]


def _register(ctx: RunContext, parts: list[Partition]) -> None:
    """Record every range of a split pass, as a pass under way, before any of them runs."""
    now = datetime.now(UTC)
    with ctx.warehouse.transaction() as con:
        for p in parts:
            start = decide_start(
                None,
                p.key,
                mode=ctx.request.mode,
                set_mode=p.plan.spec.mode,
                resync=p.resync,
                since=ctx.request.since,
                lookback=ctx.settings.extract.lookback,
                run_id=ctx.run_id,
                now=now,
            )
            meta.write_state(con, start.state)


def consolidate_ranges(ctx: RunContext, plan: EntityPlan) -> None:
    """When every key range of a split pass completed, keep one watermark per application."""
    by_app: dict[int, list[PartitionState]] = {}
    for s in ctx.warehouse.states(plan.spec.path):
        if s.part:
            by_app.setdefault(s.application_id, []).append(s)
    for app, parts in by_app.items():
        if any(s.in_progress or s.watermark is None for s in parts):
            continue
        watermark = min(s.watermark for s in parts if s.watermark is not None)
        merged = PartitionState(
            plan.spec.path, app, "", ctx.run_id, datetime.now(UTC), watermark=watermark
        )
        with ctx.warehouse.transaction() as con:
            meta.write_state(con, merged)
            for s in parts:
                meta.delete_state(con, plan.spec.path, app, s.part)

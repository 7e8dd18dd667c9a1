"""Planning a run: which sets, against which ``$metadata``, as which partitions.

:func:`plan_run` lists the applications, then plans namespace by namespace: one
``$metadata`` request per namespace, and per entity set either a plan (reconciled with the
catalog, raw tables created or evolved, partitions listed) or a reason to skip it. The
partitions come out in start order. A request budget spent while planning ends planning
cleanly (the run extracts nothing and the next run starts over); it is not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from extract.decode.pages import KeyDecoder
from extract.errors import BudgetExhausted, ConfigError, ServerError
from extract.load import meta
from extract.load.tables import ensure_tables
from extract.run.context import RunContext
from extract.run.partitions import Partition, SetPlan
from extract.run.splitting import partitions_for
from extract.schema.catalog import CATALOG, EntitySpec, select_specs
from extract.schema.metadata import EdmService, parse_edmx
from extract.schema.reconcile import reconcile

__all__ = ["RunPlan", "SetPlan", "plan_run"]

log = logging.getLogger("extract.run")


@dataclass
class RunPlan:
    """What a run will extract.

    Attributes:
        mode: The run's mode as recorded: ``first`` (no watermark yet), ``incremental``,
            ``full`` or ``backfill``.
        application_ids: The applications loaded.
        sets: The sets planned, in planning order.
        partitions: Every partition, in the order to start them.
        skipped: Sets left out, with the reason.
        budget_spent: The request budget ran out while planning (nothing is extracted).
    """

    mode: str
    application_ids: list[int] = field(default_factory=list)
    sets: list[SetPlan] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    budget_spent: bool = False


def plan_run(ctx: RunContext) -> RunPlan:
    """Plan the run and record its start in ``meta.run_history``.

    Raises:
        ConfigError: Unknown entity set or application id.
        FatalError, RetryableError, DataContractError: A request or a plan failed.
    """
    specs = _specs(ctx)
    mode = _run_mode(ctx)
    with ctx.warehouse.transaction() as con:
        meta.insert(
            con,
            meta.RunStartedRow(
                ctx.run_id,
                ctx.request.command,
                mode,
                ctx.started_at,
                ",".join(s.path for s in specs),
            ),
        )
    plan = RunPlan(mode)
    try:
        plan.application_ids = _applications(ctx)
        for namespace, in_namespace in _by_namespace(specs):
            _plan_namespace(ctx, plan, namespace, in_namespace)
    except BudgetExhausted:
        plan.partitions, plan.budget_spent = [], True
        ctx.warn("request budget spent while planning; nothing extracted")
    plan.partitions.sort(key=_start_order)
    _log_plan(ctx, plan)
    return plan


def _specs(ctx: RunContext) -> list[EntitySpec]:
    wanted = list(ctx.request.entities or ctx.settings.extract.entities or [])
    try:
        return select_specs(wanted or None)
    except KeyError as exc:
        raise ConfigError([str(exc.args[0])]) from exc


def _run_mode(ctx: RunContext) -> str:
    """``first`` for an incremental run of a warehouse with no watermark yet."""
    if ctx.request.mode == "incremental":
        with ctx.warehouse.lock:
            if not meta.any_watermark(ctx.warehouse.con):
                return "first"
    return ctx.request.mode


def _by_namespace(specs: list[EntitySpec]) -> Iterator[tuple[str, list[EntitySpec]]]:
    """Specs grouped by namespace, namespaces in order of first appearance."""
    groups: dict[str, list[EntitySpec]] = {}
    for spec in specs:
        groups.setdefault(spec.namespace, []).append(spec)
    yield from groups.items()


def _applications(ctx: RunContext) -> list[int]:
    """The application ids to load: the configured ones, checked, or every one listed."""
    configured = list(ctx.request.applications or ctx.settings.api.application_ids or [])
    try:
        fetched = ctx.client.get(
            "Core/Applications",
            {"$select": "Id", "$orderby": "Id"},
            parse=KeyDecoder(("Id",), (pa.int32(),)),
            context=ctx.overhead_context(
                "Core/Applications", configured[0] if configured else None
            ),
        )
    except ServerError as exc:
        if configured:
            raise
        raise ConfigError(
            ["the tenant would not list Core/Applications without an application context"],
            hint="set NORCE_APPLICATION_IDS to the application ids to load",
        ) from exc
    known = [int(v) for v in fetched.value.tables["keys"].column("Id").to_pylist()]
    if not configured:
        return known
    unknown = [a for a in configured if a not in known]
    if unknown:
        msg = (
            f"application id(s) {', '.join(map(str, unknown))} not found in "
            f"Core/Applications (known: {', '.join(map(str, known))})"
        )
        raise ConfigError([msg], hint="fix NORCE_APPLICATION_IDS")
    return configured


def _plan_namespace(
    ctx: RunContext, plan: RunPlan, namespace: str, specs: list[EntitySpec]
) -> None:
    """Plan the sets of one namespace against its ``$metadata``."""
    header = plan.application_ids[0] if plan.application_ids else None
    raw = ctx.client.metadata(namespace, ctx.overhead_context(f"{namespace}/$metadata", header))
    service = parse_edmx(raw)
    for spec in specs:
        outcome = _plan_set(ctx, service, spec)
        if isinstance(outcome, str):
            plan.skipped[spec.path] = outcome
            ctx.warn(f"{spec.path}: {outcome}; skipped")
            continue
        plan.sets.append(outcome)
        plan.partitions += partitions_for(ctx, outcome, plan.application_ids)


def _plan_set(ctx: RunContext, service: EdmService, spec: EntitySpec) -> SetPlan | str:
    """One set's plan, or why it is skipped. Raises for failures that stop the run."""
    if spec.entity_set not in service.sets:
        return "the service does not declare this set"
    plan = reconcile(spec, service, ctx.privacy)
    for warning in plan.warnings:
        ctx.warn(warning)
    changes = ensure_tables(ctx.warehouse, plan, rebuild=ctx.request.mode == "full")
    resync = any(c.change in ("added", "type_changed") for c in changes)
    if resync:
        # rows loaded before the change lack the new values: re-read the whole set
        described = ", ".join(f"{c.table}.{c.column} {c.change}" for c in changes)
        ctx.warn(
            f"{spec.path}: source schema changed ({described}); "
            "re-reading the set in full to fill the new columns"
        )
    return SetPlan(plan, resync, len(changes))


_CATALOG_ORDER = {spec.path: i for i, spec in enumerate(CATALOG)}


def _start_order(p: Partition) -> tuple[bool, int, int, str]:
    """Incremental sets before lookups, each in catalog order (which lists the big sets --
    Orders, then the other order documents, Products, Customers -- first), so the long
    poles start early and the small lookups fill the gaps at the end."""
    return (p.plan.spec.mode != "incremental", _CATALOG_ORDER[p.entity], p.application_id, p.part)


def _log_plan(ctx: RunContext, plan: RunPlan) -> None:
    mode = (
        "first load (no watermarks yet: everything)"
        if plan.mode == "first"
        else f"{plan.mode} mode"
    )
    log.info(
        "run %s: %d partitions, %s, up to %d at a time",
        ctx.run_id,
        len(plan.partitions),
        mode,
        ctx.settings.throttle.max_inflight,
    )

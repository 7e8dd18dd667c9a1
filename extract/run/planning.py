"""Planning a run: which applications, which sets, against which ``$metadata``, as which
partitions -- and which sets are skipped, and why.

:func:`plan_run` lists the applications (:func:`~extract.http.appcontext.discover_applications`
also fixes the ``applicationId`` header of every later call), then plans namespace by
namespace (:mod:`extract.run.namespaces`): one ``$metadata`` request each, capabilities
reused or probed, and per entity set either a plan or a :class:`SkippedSet`. A failure
confined to one set or one namespace skips just that; the partitions of every other set
come out in start order. A request budget spent while planning ends planning cleanly (the
run extracts nothing and the next run starts over); it is not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from extract.errors import BudgetExhausted, ConfigError
from extract.http.appcontext import discover_applications
from extract.load import meta
from extract.run.capabilities import record_tenant_capability
from extract.run.context import RunContext
from extract.run.namespaces import NamespacePlan, plan_namespace
from extract.run.partitions import Partition, SetPlan
from extract.run.results import SkippedSet
from extract.schema.capabilities import SetCapabilities
from extract.schema.catalog import CATALOG, EntitySpec, select_specs

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
        degraded: Why privacy is degraded, one line per set.
        fallbacks: What the run does differently for what the tenant supports.
        capabilities: What each planned set accepts.
        application_context: Which ``applicationId`` header is used, and why.
    """

    mode: str
    application_ids: list[int] = field(default_factory=list)
    sets: list[SetPlan] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    skipped: list[SkippedSet] = field(default_factory=list)
    budget_spent: bool = False
    degraded: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    capabilities: list[SetCapabilities] = field(default_factory=list)
    application_context: str | None = None


def plan_run(ctx: RunContext) -> RunPlan:
    """Plan the run and record its start in ``meta.run_history``.

    Raises:
        ConfigError: Unknown entity set or application id, or no application context the
            tenant accepts.
        AuthError: Credentials refused.
        FatalError, RetryableError: Listing the applications failed.
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
        plan.application_ids = _applications(ctx, plan)
        for namespace, in_namespace in _by_namespace(specs):
            _take(plan, plan_namespace(ctx, namespace, in_namespace, plan.application_ids))
    except BudgetExhausted:
        plan.partitions, plan.budget_spent = [], True
        ctx.warn("request budget spent while planning; nothing extracted")
    plan.partitions.sort(key=_start_order)
    _log_plan(ctx, plan)
    return plan


def _take(plan: RunPlan, part: NamespacePlan) -> None:
    plan.sets += part.sets
    plan.partitions += part.partitions
    plan.skipped += part.skipped
    plan.degraded += part.degraded
    plan.fallbacks += part.fallbacks
    plan.capabilities += part.capabilities


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


def _applications(ctx: RunContext, plan: RunPlan) -> list[int]:
    """The application ids to load: the configured ones, checked, or every one listed."""
    configured = list(ctx.request.applications or ctx.settings.api.application_ids or [])
    found = discover_applications(ctx.client, configured=configured, stats=ctx.overhead)
    plan.application_context = found.describe()
    rule = {True: "required", False: "not required", None: "not tested"}[found.header_required]
    record_tenant_capability(ctx, "application_header", rule, found.describe())
    known = list(found.listed)
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
    skipped = f", {len(plan.skipped)} set(s) skipped" if plan.skipped else ""
    log.info(
        "run %s: %d partitions, %s, up to %d at a time%s",
        ctx.run_id,
        len(plan.partitions),
        mode,
        ctx.settings.throttle.max_inflight,
        skipped,
    )

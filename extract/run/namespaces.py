"""Planning one namespace: its ``$metadata``, its sets' plans and capabilities, or skips.

A namespace's ``$metadata`` that cannot be read (a 5xx after retries, a 403, a broken
document) skips every set of that namespace. Then each set on its own: reconciled with the
catalog (a missing set or key, a column that may not be hashed: skipped), its capabilities
reused or probed (a probe that fails: skipped), the plan adapted to them, its raw tables
created or evolved (a type change we refuse: skipped), its partitions listed (the key
bounds of a split failing: skipped). Nothing here stops the run but a spent request budget
and refused credentials.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from extract.errors import AuthError, BudgetExhausted, ExtractError, RetryableError
from extract.load.tables import ensure_tables
from extract.run.capabilities import learn_capabilities
from extract.run.context import RunContext
from extract.run.partitions import Partition, SetPlan
from extract.run.results import SkippedSet
from extract.run.splitting import partitions_for
from extract.schema.capabilities import SetCapabilities, adapt, metadata_hash
from extract.schema.catalog import EntitySpec
from extract.schema.metadata import EdmService, parse_edmx
from extract.schema.plan import EntityPlan
from extract.schema.reconcile import reconcile

__all__ = ["NamespacePlan", "plan_namespace", "skip_reason"]

log = logging.getLogger("extract.run")

RETRY_NEXT_RUN = (
    "the other sets are loaded; it is tried again on the next run (drop it from "
    "NORCE_ENTITIES if this tenant never serves it)"
)


@dataclass
class NamespacePlan:
    """What planning one namespace gave."""

    sets: list[SetPlan] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    skipped: list[SkippedSet] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)
    capabilities: list[SetCapabilities] = field(default_factory=list)


def skip_reason(exc: ExtractError) -> str:
    """One line for a skipped set: what failed, and -- for a transient failure -- that the
    rest of the run goes on and the set is tried again."""
    text = str(exc)
    if isinstance(exc, RetryableError):
        text = text.removesuffix(f" -- {exc.hint}") + f" -- {RETRY_NEXT_RUN}"
    return text


def plan_namespace(
    ctx: RunContext, namespace: str, specs: list[EntitySpec], application_ids: list[int]
) -> NamespacePlan:
    """Plan the sets of one namespace against its ``$metadata`` (see the module docstring).

    Raises:
        BudgetExhausted, AuthError: Planning cannot go on at all.
    """
    out = NamespacePlan()
    best_effort = all(s.best_effort for s in specs)
    name = f"{namespace}/$metadata"
    try:
        raw = ctx.client.metadata(namespace, ctx.overhead_context(name, best_effort=best_effort))
        service = parse_edmx(raw)
    except (BudgetExhausted, AuthError):
        raise
    except ExtractError as exc:
        reason = skip_reason(exc)
        for spec in specs:
            _skip(ctx, out, spec.path, reason, exc.exit_code)
        return out
    plans = [p for p in (_reconcile(ctx, out, service, spec) for spec in specs) if p is not None]
    learned = learn_capabilities(ctx, namespace, metadata_hash(raw), plans, application_ids)
    if learned.probed:
        log.info("%s: capabilities probed for %s", namespace, ", ".join(learned.probed))
    for plan in plans:
        path = plan.spec.path
        failure = learned.failures.get(path)
        if failure is not None:
            _skip(ctx, out, path, skip_reason(failure), failure.exit_code)
            continue
        caps = learned.caps[path]
        adapted, notes = adapt(plan, caps)
        out.capabilities.append(caps)
        _prepare(ctx, out, adapted, notes, application_ids)
    return out


def _reconcile(
    ctx: RunContext, out: NamespacePlan, service: EdmService, spec: EntitySpec
) -> EntityPlan | None:
    try:
        plan = reconcile(spec, service, ctx.privacy)
    except ExtractError as exc:  # the set or its key is not declared, a key to be hashed
        _skip(ctx, out, spec.path, str(exc), exc.exit_code)
        return None
    for warning in plan.warnings:
        ctx.warn(warning)
    return plan


def _prepare(
    ctx: RunContext,
    out: NamespacePlan,
    plan: EntityPlan,
    fallbacks: list[str],
    application_ids: list[int],
) -> None:
    """Create or evolve the set's raw tables and list its partitions (or skip it)."""
    path = plan.spec.path
    try:
        changes = ensure_tables(ctx.warehouse, plan, rebuild=ctx.request.mode == "full")
        resync = any(c.change in ("added", "type_changed") for c in changes)
        if resync:
            # rows loaded before the change lack the new values: re-read the whole set
            described = ", ".join(f"{c.table}.{c.column} {c.change}" for c in changes)
            ctx.warn(
                f"{path}: source schema changed ({described}); "
                "re-reading the set in full to fill the new columns"
            )
        set_plan = SetPlan(plan, resync, len(changes))
        partitions = partitions_for(ctx, set_plan, application_ids)
    except (BudgetExhausted, AuthError):
        raise
    except ExtractError as exc:
        _skip(ctx, out, path, skip_reason(exc), exc.exit_code)
        return
    if plan.degraded:
        out.degraded.append(plan.degraded)
        ctx.warn(f"privacy degraded: {plan.degraded}")
    out.fallbacks += fallbacks
    out.sets.append(set_plan)
    out.partitions += partitions


def _skip(ctx: RunContext, out: NamespacePlan, entity: str, reason: str, code: int) -> None:
    out.skipped.append(SkippedSet(entity, reason, code))
    ctx.warn(f"{entity}: skipped -- {reason}")

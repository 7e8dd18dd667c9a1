"""Capabilities per namespace: reuse what ``meta.capabilities`` holds, probe the rest.

On first contact with a namespace -- or when its ``$metadata`` changed since the
capabilities were learned (another hash) -- each planned set is probed
(:func:`extract.run.probe.probe_set`: usually one ``$top=1`` request, two when ``$count``
is refused) and the findings are recorded with the document's hash. ``$count`` is probed
on the namespace's first set only; the others inherit the answer. A set whose probe fails
(a 5xx after retries, a 403) is not recorded: it is skipped for this run and probed again
on the next.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from extract.errors import AuthError, BudgetExhausted, ExtractError
from extract.load import meta_notes
from extract.load.meta_notes import CapabilityRow
from extract.run.context import RunContext
from extract.run.probe import probe_set
from extract.schema.capabilities import SetCapabilities
from extract.schema.plan import EntityPlan

__all__ = ["Learned", "learn_capabilities", "record_tenant_capability"]


@dataclass
class Learned:
    """What one namespace's sets accept, and which could not be probed."""

    caps: dict[str, SetCapabilities] = field(default_factory=dict)
    """Per ``Namespace/EntitySet``."""
    failures: dict[str, ExtractError] = field(default_factory=dict)
    """Sets whose probe failed: skipped for this run."""
    probed: list[str] = field(default_factory=list)
    """Sets probed in this run (the others reused recorded capabilities)."""


def learn_capabilities(
    ctx: RunContext,
    namespace: str,
    digest: str,
    plans: list[EntityPlan],
    application_ids: list[int],
) -> Learned:
    """The capabilities of ``plans`` (all of one namespace) for this run.

    Args:
        ctx: The run.
        namespace: Their namespace.
        digest: Hash of the namespace's ``$metadata`` as fetched now.
        plans: The reconciled plans of the sets to load.
        application_ids: The applications loaded (the first is filtered on in probes).

    Raises:
        BudgetExhausted, AuthError: These stop planning, not one set.
    """
    cached = _cached(ctx, namespace, digest)
    count_known = next((c.count for c in cached.values() if c.count is not None), None)
    learned = Learned()
    for plan in plans:
        path = plan.spec.path
        if path in cached:
            learned.caps[path] = cached[path]
            continue
        ask = count_known is None and ctx.settings.extract.verify_counts and plan.count
        try:
            caps = probe_set(
                ctx.client,
                plan,
                ctx.overhead_context(path, best_effort=plan.spec.best_effort),
                application_id=application_ids[0] if application_ids else None,
                ask_count=ask,
            )
        except (BudgetExhausted, AuthError):
            raise
        except ExtractError as exc:
            learned.failures[path] = exc
            continue
        if caps.count is None and count_known is not None:
            caps = replace(caps, count=count_known)
        count_known = caps.count if caps.count is not None else count_known
        learned.caps[path] = caps
        learned.probed.append(path)
        _record(ctx, namespace, digest, caps)
    return learned


def _cached(ctx: RunContext, namespace: str, digest: str) -> dict[str, SetCapabilities]:
    with ctx.warehouse.lock:
        rows = meta_notes.read_capabilities(ctx.warehouse.con, namespace)
    items: dict[str, dict[str, str]] = {}
    for row in rows:
        if row.metadata_hash == digest and row.entity:
            items.setdefault(row.entity, {})[row.capability] = row.value
    return {entity: SetCapabilities.from_items(entity, found) for entity, found in items.items()}


def _record(ctx: RunContext, namespace: str, digest: str, caps: SetCapabilities) -> None:
    now = datetime.now(UTC)
    rows = [
        CapabilityRow(namespace, caps.entity, name, value, digest, None, now, ctx.run_id)
        for name, value in caps.items()
    ]
    with ctx.warehouse.transaction() as con:
        meta_notes.write_capabilities(con, namespace, caps.entity, rows)


def record_tenant_capability(ctx: RunContext, capability: str, value: str, detail: str) -> None:
    """Record something learned about the tenant as a whole (e.g. the header rule)."""
    row = CapabilityRow("", "", capability, value, None, detail, datetime.now(UTC), ctx.run_id)
    with ctx.warehouse.transaction() as con:
        meta_notes.put_capability(con, row)

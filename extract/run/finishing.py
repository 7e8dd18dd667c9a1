"""The end of an extract: consolidate split passes, sweeps, erasures, the run's record.

After every partition ran: key ranges of a completed split pass become one watermark;
records the source flags as forgotten are purged (every run: the flag can flip long after a
record's last change); with ``NORCE_KEY_SWEEP`` rows deleted at the source are marked;
recorded erasure requests are applied again (the source may still send those rows); and the
run's ``meta.run_history`` row is completed. A sweep that fails is a warning, not a failed
run: the data loaded stays loaded.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from extract.errors import BudgetExhausted, ExtractError
from extract.load import meta, meta_notes
from extract.load.erasure import erase_from_raw
from extract.load.meta_notes import NoticeRow
from extract.run import sweeps
from extract.run.context import RunContext
from extract.run.partitions import SetPlan
from extract.run.planning import RunPlan
from extract.run.results import PartitionResult, RunSummary
from extract.run.splitting import consolidate_ranges

__all__ = ["apply_erasures", "finish_run"]

log = logging.getLogger("extract.run")


def finish_run(ctx: RunContext, plan: RunPlan, results: Sequence[PartitionResult]) -> RunSummary:
    """Consolidate, sweep, re-apply erasures and record the run; returns its summary."""
    for set_plan in plan.sets:
        consolidate_ranges(ctx, set_plan.plan)
    purged: dict[str, int] = {}
    for set_plan in plan.sets:
        purged.update(_sweep(ctx, plan, set_plan))
    apply_erasures(ctx)
    summary = RunSummary(
        ctx.run_id,
        plan.mode,
        ctx.started_at,
        finished_at=datetime.now(UTC),
        partitions=list(results),
        warnings=list(ctx.warnings),
        schema_changes=sum(s.schema_changes for s in plan.sets),
        token_requests=ctx.client.token_requests,
        purged=purged,
        overhead=ctx.overhead,
        budget_spent=plan.budget_spent or any(r.status == "budget" for r in results),
        skipped=list(plan.skipped),
        degraded=list(plan.degraded),
        fallbacks=[*plan.fallbacks, *ctx.fallbacks],
        capabilities=list(plan.capabilities),
        application_context=plan.application_context,
    )
    _record(ctx, summary)
    _record_notices(ctx, summary)
    log.info(
        "run %s %s: %d rows, %d requests, %.1f s",
        summary.run_id,
        summary.status,
        summary.total("rows"),
        summary.total("requests"),
        (summary.finished_at or ctx.started_at).timestamp() - ctx.started_at.timestamp(),
    )
    return summary


def _sweep(ctx: RunContext, plan: RunPlan, set_plan: SetPlan) -> dict[str, int]:
    """The forgotten-records purge and the key sweep of one set; returns rows purged."""
    entity_plan, path = set_plan.plan, set_plan.plan.spec.path
    spec = entity_plan.spec
    per_app = spec.scope == "application" and entity_plan.application_filter
    apps = plan.application_ids if per_app else [0]
    header = plan.application_ids[0] if plan.application_ids else None
    purged: dict[str, int] = {}
    if entity_plan.forgotten_field:
        try:
            purged[path] = sweeps.purge_forgotten(ctx, entity_plan, apps, header)
        except BudgetExhausted:
            ctx.warn(f"{path}: request budget spent before the forgotten sweep")
        except ExtractError as exc:
            ctx.warn(f"{path}: forgotten-records sweep failed: {exc}")
    if entity_plan.degraded:
        # no forget flag to honour: a person deleted at the source must still leave raw
        try:
            purged[path] = purged.get(path, 0) + sweeps.purge_missing(
                ctx, entity_plan, apps, header
            )
        except BudgetExhausted:
            ctx.warn(f"{path}: request budget spent before the deleted-people sweep")
        except ExtractError as exc:
            ctx.warn(f"{path}: deleted-people sweep failed: {exc}")
    elif ctx.settings.extract.key_sweep and spec.mode == "incremental":
        try:
            sweeps.mark_deleted(ctx, entity_plan, apps, header)
        except ExtractError as exc:
            ctx.warn(f"{path}: key sweep failed: {exc}")
    return purged


def apply_erasures(ctx: RunContext) -> int:
    """Re-apply recorded erasure requests (``norce-wh erase``) to raw after every load."""
    with ctx.warehouse.lock:
        requests = meta.erasures(ctx.warehouse.con)
    return sum(erase_from_raw(ctx.warehouse, cid, email) for cid, email in requests)


def _record_notices(ctx: RunContext, s: RunSummary) -> None:
    """The run's skipped sets, degraded privacy and fallbacks, in ``meta.run_notices``."""
    now = datetime.now(UTC)
    rows = [NoticeRow(s.run_id, "skipped", k.entity, k.reason, k.exit_code, now) for k in s.skipped]
    rows += [NoticeRow(s.run_id, "degraded", _entity(d), d, None, now) for d in s.degraded]
    rows += [NoticeRow(s.run_id, "fallback", _entity(f), f, None, now) for f in s.fallbacks]
    if rows:
        with ctx.warehouse.transaction() as con:
            meta_notes.write_notices(con, rows)


def _entity(line: str) -> str:
    """The ``Namespace/EntitySet`` a notice line starts with."""
    return line.split(" ", 1)[0].removesuffix(":")


def _record(ctx: RunContext, s: RunSummary) -> None:
    failed = [f"{p.entity}: {p.error}" for p in s.partitions if p.status == "failed"]
    failed += [f"{k.entity}: skipped -- {k.reason}" for k in s.skipped]
    row = meta.RunFinishedRow(
        run_id=s.run_id,
        finished_at=s.finished_at or datetime.now(UTC),
        status=s.status,
        requests=s.total("requests"),
        token_requests=s.token_requests,
        rows=s.total("rows"),
        quarantined=s.total("quarantined"),
        warnings="\n".join(s.warnings) or None,
        error="\n".join(failed) or None,
    )
    with ctx.warehouse.transaction() as con:
        meta.update_run(con, row)

"""Loading one partition: where its pass starts, its pages, its batches, its record.

:func:`load_partition` decides where the pass starts (:mod:`extract.run.start`), pages
through the partition (:mod:`extract.paging`), decodes each page (:mod:`extract.decode`)
and hands it to the batch writer (:mod:`extract.load.batch`) with the state it leads to, so
data and state commit together. Bad records are quarantined in ``meta.quarantine``; every
attempt leaves a ``meta.runs`` row. Per-partition failures are returned, not raised.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime

from extract.decode.pages import DecodedPage, PageDecoder, Rejected
from extract.decode.private import PrivatePayload, PrivateRecords
from extract.errors import BudgetExhausted, ExtractError, RequestRejected
from extract.http.client import RequestContext
from extract.load import meta
from extract.load.batch import BatchWriter
from extract.load.merge import mark_missing_deleted, range_is_empty
from extract.load.state import PartitionState
from extract.paging.pager import PageQuery, PageResult, Quarantined, iter_pages
from extract.run.context import RunContext
from extract.run.partitions import Partition, build_filter
from extract.run.results import PartitionResult, ProgressEvent
from extract.run.start import Start, decide_start

__all__ = ["load_partition"]

log = logging.getLogger("extract.run")


def load_partition(ctx: RunContext, partition: Partition) -> PartitionResult:
    """Extract and load one partition; never raises for per-partition failures.

    Returns:
        The partition's figures; ``status`` is ``failed`` (with ``error`` and
        ``exit_code``) when the source kept failing or rejected the request, ``budget``
        when the run's request budget ran out (progress is committed either way).
    """
    start = _start(ctx, partition)
    spec = partition.plan.spec
    result = PartitionResult(
        spec.path, spec.table, partition.application_id, partition.part, start.kind
    )
    try:
        _load_counting(ctx, partition, start, result)
    except BudgetExhausted:
        result.status = "budget"
    except ExtractError as exc:
        result.status = "failed"
        result.error = str(exc)
        result.exit_code = exc.exit_code
        log.error("%s failed: %s", partition.label, exc)
    result.finished_at = datetime.now(UTC)
    _record(ctx, result)
    _emit(ctx, partition, result, done=True)
    log.info(
        "%s: %s, %d rows, %d pages, %.1f s, watermark %s -> %s",
        partition.label,
        result.status,
        result.rows,
        result.pages,
        result.duration_s,
        _fmt(result.watermark_before),
        _fmt(result.watermark_after),
    )
    return result


def _start(ctx: RunContext, partition: Partition) -> Start:
    states = {(s.application_id, s.part): s for s in ctx.warehouse.states(partition.entity)}
    return decide_start(
        states.get((partition.application_id, partition.part)),
        partition.key,
        mode=ctx.request.mode,
        set_mode=partition.plan.spec.mode,
        resync=partition.resync,
        since=ctx.request.since,
        lookback=ctx.settings.extract.lookback,
        run_id=ctx.run_id,
        now=datetime.now(UTC),
    )


def _load_counting(
    ctx: RunContext, partition: Partition, start: Start, result: PartitionResult
) -> None:
    """Load the pass, with ``$count`` on its first page unless the tenant refuses it.

    A 400 to a first page carrying ``$count`` is what a tenant with counting switched off
    answers (the message text is not matched): the pass is asked again without it, and the
    set's recorded capability says so from now on.
    """
    plan = partition.plan
    count = (
        ctx.settings.extract.verify_counts
        and plan.count
        and start.state.last_key is None  # a resumed pass has rows committed already
        and not ctx.count_refused(plan.spec.path)
    )
    try:
        _load(ctx, partition, start, result, count=count)
    except RequestRejected as exc:
        if not (count and exc.status == 400 and result.pages == 0):
            raise
        ctx.refuse_count(plan.spec.path)
        _load(ctx, partition, start, result, count=False)


def _load(
    ctx: RunContext, partition: Partition, start: Start, result: PartitionResult, *, count: bool
) -> None:
    plan, spec = partition.plan, partition.plan.spec
    state = start.state
    result.watermark_before = state.watermark
    continuing = state.last_key is not None  # rows of this pass are committed already
    query = PageQuery(
        path=spec.path,
        key=spec.key,
        filter=build_filter(partition, state),
        select=plan.select,
        expand=plan.expand,
        top=spec.page_size,
        count=count,
        ordered=plan.ordered,
    )
    decoder = PageDecoder(plan, ctx.privacy)
    pages = iter_pages(
        ctx.client,
        query,
        strategy=plan.paging,
        context=RequestContext(
            spec.path,
            partition.header_application_id,
            result.stats,
            ctx.retry_for(spec.best_effort),
        ),
        decode=decoder,
        start_after=state.last_key if plan.paging == "keyset" else None,
    )
    writer = BatchWriter(
        ctx.warehouse,
        plan,
        mode="replace" if spec.mode == "full" else "merge",
        batch_rows=ctx.settings.extract.batch_rows,
        insert_only=_insert_only(ctx, partition, state),
    )
    pass_started = datetime.now(UTC)
    try:
        for item in pages:
            state = _take(ctx, partition, item, state, writer, result, pass_started)
    except ExtractError:
        writer.flush()  # keep the progress made; the next run resumes after it
        raise
    finally:
        _report_rounding(ctx, partition, decoder)
    if state.pending_until is None:
        state = replace(state, pending_until=pass_started)
    result.loaded_count = state.rows_in_pass  # includes rows committed by an interrupted run
    final = state.completed(at=datetime.now(UTC), keep_watermark=start.keep_watermark)
    kept = writer.commit(final, source_empty=result.source_count == 0)
    if kept:
        ctx.warn(
            f"{partition.label}: the source sent no rows, without confirming it has none "
            f"($count); kept the {kept} rows raw.{spec.table} had"
        )
    result.watermark_after = final.watermark
    if ctx.request.mode == "full" and spec.mode == "incremental" and not continuing:
        _mark_deleted(ctx, partition, result, pass_started)


def _insert_only(ctx: RunContext, partition: Partition, state: PartitionState) -> bool:
    """A keyset pass (not an incremental one) over a range raw holds nothing of yet -- a
    first load, or its resumption after the last committed key -- only inserts."""
    plan = partition.plan
    if (
        plan.paging != "keyset"
        or plan.spec.mode == "full"
        or state.pending_mode
        in (
            None,
            "incremental",
        )
    ):
        return False
    app = partition.application_id if partition.application_id and plan.application_filter else None
    return range_is_empty(
        ctx.warehouse,
        plan,
        application_id=app,
        after=state.last_key,
        key_lo=partition.key_lo,
        key_hi=partition.key_hi,
    )


def _take(
    ctx: RunContext,
    partition: Partition,
    item: PageResult[DecodedPage] | Quarantined,
    state: PartitionState,
    writer: BatchWriter,
    result: PartitionResult,
    pass_started: datetime,
) -> PartitionState:
    """Account for one page (or quarantined spot); returns the state after it."""
    if isinstance(item, Quarantined):
        _quarantine(ctx, partition, item)
        result.quarantined += 1
        return state
    page = item.page
    for rejected in page.rejected:
        _quarantine_record(ctx, partition, rejected, item.url)
    result.quarantined += len(page.rejected)
    for note in page.notes:
        ctx.warn(note)
    if state.pending_until is None:
        # The pass's start by the server's clock: the next watermark.
        state = replace(state, pending_until=item.server_date or pass_started)
    if page.count is not None and result.source_count is None:
        result.source_count = page.count
    result.pages += 1
    result.rows += page.row_count
    state = state.advanced(page.last_key, page.row_count, at=datetime.now(UTC))
    writer.add(page.tables, state)
    _emit(ctx, partition, result, done=False)
    return state


def _mark_deleted(
    ctx: RunContext, partition: Partition, result: PartitionResult, pass_started: datetime
) -> None:
    """After a complete full pass, rows it did not see were deleted at the source."""
    if partition.part or result.quarantined:
        return  # a key range sees part of the rows; a quarantined row was not seen either
    if result.rows == 0 and result.source_count != 0:
        ctx.warn(
            f"{partition.label}: a full refresh saw no rows, without the source confirming "
            "it has none ($count); no row was marked deleted"
        )
        return
    plan = partition.plan
    app = partition.application_id if partition.application_id and plan.application_filter else None
    result.deleted_marked = mark_missing_deleted(
        ctx.warehouse, plan, application_id=app, seen_since=pass_started
    )


def _quarantine(ctx: RunContext, partition: Partition, q: Quarantined) -> None:
    private = PrivateRecords(partition.plan, ctx.privacy).body(q.payload)
    _store_quarantined(
        ctx,
        partition,
        private,
        url=q.url,
        error=q.error,
        key_after=meta.encode_key(q.key_after),
        key_before=meta.encode_key(q.key_before),
        skip=q.skip,
    )
    log.error(
        "%s: quarantined one record between keys %s and %s: %s",
        partition.label,
        q.key_after,
        q.key_before,
        q.error,
    )


def _quarantine_record(ctx: RunContext, partition: Partition, r: Rejected, url: str) -> None:
    """A record a page sent that breaks the key rules (the rest of the page loaded)."""
    _store_quarantined(ctx, partition, r.payload, url=url, error=r.reason)
    log.error("%s: quarantined the record with key %s: %s", partition.label, r.key, r.reason)


def _store_quarantined(
    ctx: RunContext,
    partition: Partition,
    private: PrivatePayload | None,
    *,
    url: str,
    error: str,
    key_after: str | None = None,
    key_before: str | None = None,
    skip: int | None = None,
) -> None:
    row = meta.QuarantineRow(
        run_id=ctx.run_id,
        entity=partition.entity,
        application_id=partition.application_id,
        key_after=key_after,
        key_before=key_before,
        skip_offset=skip,
        url=url,
        error=error,
        payload=private.text if private else None,
        recorded_at=datetime.now(UTC),
        record_key=private.record_key if private else None,
        customer_id=private.customer_id if private else None,
        email_hash=private.email_hash if private else None,
    )
    with ctx.warehouse.transaction() as con:
        meta.insert(con, row)


def _report_rounding(ctx: RunContext, partition: Partition, decoder: PageDecoder) -> None:
    """Decimals beyond their declared scale were rounded: say so, once per column."""
    for column, count in sorted(decoder.rounded.items()):
        ctx.warn(
            f"{partition.label}: {count} {column} value(s) had more fraction digits than the "
            "scale $metadata declares and were rounded half-even to it"
        )


def _record(ctx: RunContext, r: PartitionResult) -> None:
    """The attempt's ``meta.runs`` row."""
    s = r.stats
    row = meta.PartitionRunRow(
        run_id=ctx.run_id,
        entity=r.entity,
        application_id=r.application_id,
        part=r.part,
        mode=r.mode,
        status=r.status,
        started_at=r.started_at,
        finished_at=r.finished_at,
        duration_s=r.duration_s,
        rows=r.rows,
        pages=r.pages,
        requests=s.requests,
        retries=s.retries,
        rate_limited=s.rate_limited,
        server_errors=s.server_errors,
        network_errors=s.network_errors,
        bad_payloads=s.bad_payloads,
        bytes=s.bytes,
        source_count=r.source_count,
        loaded_count=r.loaded_count,
        count_match=r.count_match,
        watermark_before=r.watermark_before,
        watermark_after=r.watermark_after,
        quarantined=r.quarantined,
        purged=r.purged,
        deleted_marked=r.deleted_marked,
        error=r.error,
    )
    with ctx.warehouse.transaction() as con:
        meta.insert(con, row)


def _emit(ctx: RunContext, p: Partition, r: PartitionResult, *, done: bool) -> None:
    if ctx.progress is not None:
        ctx.progress(ProgressEvent(p.label, r.rows, r.pages, done, r.status))


def _fmt(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ") if ts else "-"

"""One extract run: plan partitions, pull them concurrently under one throttle, load, report.

:class:`Extractor` is the unit the Prefect flow drives (``prepare`` -> ``run_partition`` for
each partition, possibly as concurrent tasks -> ``finish``); :func:`run_extract` does the
same in one call for the CLI and tests. Memory stays bounded: a partition holds at most one
batch (``batch_rows``) of decoded pages before it is merged.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from datetime import UTC, datetime
from typing import Literal

import httpx
import pyarrow as pa

from extract import sweeps
from extract.catalog import select_specs
from extract.client import QueryClient
from extract.config import Settings
from extract.erasure import erase_from_raw
from extract.errors import (
    BudgetExhausted,
    ConfigError,
    DataContractError,
    ExtractError,
    FatalError,
    RequestRejected,
    ServerError,
)
from extract.locking import RunLock
from extract.metadata import EdmService, parse_edmx
from extract.paging import PageQuery, PageResult, Quarantined, iter_pages, odata_literal
from extract.partitions import Partition, build_filter, split_range
from extract.privacy import PrivacyPolicy
from extract.reconcile import EntityPlan, reconcile
from extract.records import DecodedPage, KeyDecoder, PageDecoder
from extract.results import PartitionResult, ProgressEvent, RunSummary
from extract.state import PartitionState, delete_state, write_state
from extract.types import arrow_type
from extract.warehouse import Warehouse, iter_batches

log = logging.getLogger(__name__)

RunMode = Literal["incremental", "full", "backfill"]

Progress = Callable[[ProgressEvent], None]


class Extractor:
    """A run's shared resources: one client, one throttle, one warehouse connection."""

    def __init__(
        self,
        settings: Settings,
        *,
        mode: RunMode = "incremental",
        since: datetime | None = None,
        transport: httpx.BaseTransport | None = None,
        progress: Progress | None = None,
        command: str = "extract",
        run_id: str | None = None,
    ) -> None:
        if mode == "backfill" and since is None:
            raise ConfigError(["a backfill needs a start date: pass --since YYYY-MM-DD"])
        self.settings = settings
        self.mode: RunMode = mode
        self.since = since
        self.progress = progress
        self.command = command
        self.run_id = run_id or datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:6]
        self.lock = RunLock(settings.warehouse.work_database)
        self.lock.acquire()
        try:
            self.client = QueryClient(settings, transport=transport)
            self.warehouse = Warehouse(
                settings.warehouse.work_database,
                run_id=self.run_id,
                memory_limit_mb=settings.warehouse.memory_limit_mb,
            )
        except BaseException:
            self.lock.release()
            raise
        self.privacy = PrivacyPolicy(
            settings.extract.pii_salt.reveal(), settings.extract.pii_overrides
        )
        self.summary = RunSummary(self.run_id, mode, datetime.now(UTC))
        self.plans: dict[str, EntityPlan] = {}
        self.resync: set[str] = set()
        self.application_ids: list[int] = []
        self._closed = False

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> Extractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self, *, keep_lock: bool = False) -> None:
        """Close the HTTP client and the working database.

        Args:
            keep_lock: Keep holding the run lock (:attr:`lock`): the caller goes on to build
                and publish the working database and releases the lock itself, so no other
                run can start loading in between.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self.client.close()
            self.warehouse.close()
        finally:
            if not keep_lock:
                self.lock.release()

    # ------------------------------------------------------------------ planning
    def prepare(
        self, entities: list[str] | None = None, applications: list[int] | None = None
    ) -> list[Partition]:
        """Reconcile the catalog with each namespace's ``$metadata`` and list partitions.

        Raises:
            ConfigError: unknown entity set or application id.
            FatalError: credentials or tenant rejected the metadata requests.
        """
        wanted = entities or list(self.settings.extract.entities or [])
        try:
            specs = select_specs(wanted or None)
        except KeyError as exc:
            raise ConfigError([str(exc.args[0])]) from exc
        self.warehouse.execute(
            "insert or replace into meta.run_history (run_id, command, mode, started_at, "
            "status, entities) values (?, ?, ?, ?, 'running', ?)",
            [
                self.run_id,
                self.command,
                self.mode,
                self.summary.started_at,
                ",".join(s.path for s in specs),
            ],
        )
        self.application_ids = self._applications(applications)
        services: dict[str, EdmService] = {}
        partitions: list[Partition] = []
        for spec in specs:
            if spec.namespace not in services:
                raw = self.client.metadata(
                    spec.namespace,
                    application_id=self._header_app(),
                    stats=self.summary.overhead,
                )
                services[spec.namespace] = parse_edmx(raw)
            service = services[spec.namespace]
            if spec.entity_set not in service.sets:
                self._warn(f"{spec.path}: the service does not declare this set; skipped")
                continue
            plan = reconcile(spec, service, self.privacy)
            for w in plan.warnings:
                self._warn(w)
            changes = self.warehouse.ensure_tables(plan, rebuild=self.mode == "full")
            self.summary.schema_changes += len(changes)
            if any(c.change in ("added", "type_changed") for c in changes):
                # rows loaded before the change lack the new values: re-read the whole set
                self.resync.add(spec.path)
                self._warn(
                    f"{spec.path}: source schema changed "
                    f"({', '.join(f'{c.table}.{c.column} {c.change}' for c in changes)}); "
                    "re-reading the set in full to fill the new columns"
                )
            self.plans[spec.path] = plan
            partitions += self._partitions(plan)
        return partitions

    def _warn(self, message: str) -> None:
        log.warning(message)
        self.summary.warnings.append(message)

    def _header_app(self) -> int | None:
        return self.application_ids[0] if self.application_ids else None

    def _applications(self, requested: list[int] | None) -> list[int]:
        configured = requested or list(self.settings.api.application_ids or [])
        try:
            fetched = self.client.get(
                "Core/Applications",
                {"$select": "Id", "$orderby": "Id"},
                application_id=configured[0] if configured else None,
                entity="Core/Applications",
                stats=self.summary.overhead,
                parse=KeyDecoder(("Id",), (pa.int32(),)),
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

    def _partitions(self, plan: EntityPlan) -> list[Partition]:
        spec = plan.spec
        apps = (
            self.application_ids if spec.scope == "application" and plan.application_filter else [0]
        )
        header = self._header_app()
        states = {(s.application_id, s.part): s for s in self.warehouse.states(spec.path)}
        out: list[Partition] = []
        for app in apps:
            hdr = app or header
            ranged = [s for (a, part), s in states.items() if a == app and part]
            if ranged and self.mode != "full":
                # resume the parts of an interrupted split pass
                out += [
                    Partition(plan, app, hdr, s.part, s.key_lo, s.key_hi)
                    for s in ranged
                    if s.in_progress
                ]
                continue
            base = states.get((app, ""))
            first_load = base is None or (base.watermark is None and not base.in_progress)
            if (
                spec.key_ranges > 1
                and spec.mode == "incremental"
                and len(spec.key) == 1
                and spec.paging == "keyset"
                and (first_load or self.mode == "full")
            ):
                bounds = self._key_bounds(plan, app, hdr)
                if bounds is not None:
                    ranges = split_range(bounds[0], bounds[1], spec.key_ranges)
                    if len(ranges) > 1:
                        n = len(ranges)
                        parts = [
                            Partition(
                                plan,
                                app,
                                hdr,
                                f"r{i}/{n}",
                                None if lo is None else (lo,),
                                None if hi is None else (hi,),
                            )
                            for i, (lo, hi) in enumerate(ranges)
                        ]
                        self._register_split(parts)
                        out += parts
                        continue
            out.append(Partition(plan, app, hdr))
        return out

    def _register_split(self, parts: list[Partition]) -> None:
        """Record every range of a split pass before any of them runs.

        A run killed before some range commits its first batch must still know that range
        exists, or the resumed pass would finish without it.
        """
        now = datetime.now(UTC)
        with self.warehouse.transaction() as con:
            for p in parts:
                write_state(
                    con,
                    PartitionState(
                        p.entity,
                        p.application_id,
                        p.part,
                        self.run_id,
                        now,
                        pending_mode="backfill" if self.mode == "backfill" else "full",
                        pending_since=self.since if self.mode == "backfill" else None,
                        key_lo=p.key_lo,
                        key_hi=p.key_hi,
                    ),
                )

    def _key_bounds(self, plan: EntityPlan, app: int, header: int | None) -> tuple[int, int] | None:
        key = plan.spec.key[0]
        prop = plan.entity_type.prop(key)
        if prop is None or prop.edm_type not in ("Edm.Int32", "Edm.Int64"):
            return None
        flt = f"ApplicationId eq {odata_literal(app)}" if app and plan.application_filter else None
        out: list[int] = []
        for order in (key, f"{key} desc"):
            params = {"$select": key, "$orderby": order, "$top": "1"}
            if flt:
                params["$filter"] = flt
            fetched = self.client.get(
                plan.spec.path,
                params,
                application_id=header,
                entity=plan.spec.path,
                stats=self.summary.overhead,
                parse=KeyDecoder((key,), (arrow_type(prop),)),
            )
            values = fetched.value.tables["keys"].column(key).to_pylist()
            if not values:
                return None
            out.append(int(values[0]))
        return out[0], out[1]

    # ------------------------------------------------------------------ one partition
    def run_partition(self, partition: Partition) -> PartitionResult:
        """Extract and load one partition; never raises for per-partition failures.

        Returns:
            The partition's figures; ``status`` is ``failed`` (with ``error`` and
            ``exit_code``) when the source kept failing or rejected the request, ``budget``
            when the run's request budget ran out (progress is committed either way).
        """
        plan = partition.plan
        spec = plan.spec
        mode = "full" if spec.mode == "full" else self.mode
        result = PartitionResult(
            spec.path, spec.table, partition.application_id, partition.part, mode
        )
        try:
            self._run_partition(partition, result)
        except BudgetExhausted:
            result.status = "budget"
            self.summary.budget_spent = True
        except ExtractError as exc:
            result.status = "failed"
            result.error = str(exc)
            result.exit_code = exc.exit_code
            log.error("%s failed: %s", partition.label, exc)
        result.finished_at = datetime.now(UTC)
        self._record(partition, result)
        self._emit(partition, result, done=True)
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
        self.summary.partitions.append(result)
        return result

    def _start_state(self, partition: Partition) -> PartitionState:
        spec = partition.plan.spec
        now = datetime.now(UTC)
        existing = {(s.application_id, s.part): s for s in self.warehouse.states(spec.path)}.get(
            (partition.application_id, partition.part)
        )
        if (
            existing is not None
            and existing.in_progress
            and (
                (spec.mode != "full" and self.mode != "full" and spec.path not in self.resync)
                or existing.pending_mode in ("full", "backfill")
            )
        ):
            return replace(existing, run_id=self.run_id, updated_at=now)
        base = existing or PartitionState(
            spec.path, partition.application_id, partition.part, self.run_id, now
        )
        since: datetime | None = None
        pending_mode: str = "full"
        resync = spec.path in self.resync
        if (
            spec.mode == "incremental"
            and self.mode == "incremental"
            and base.watermark
            and not resync
        ):
            since = base.watermark - self.settings.extract.lookback
            pending_mode = "incremental"
        elif spec.mode == "incremental" and self.mode == "backfill":
            since = self.since
            pending_mode = "backfill"
        return replace(
            base,
            run_id=self.run_id,
            updated_at=now,
            pending_since=since,
            pending_until=None,
            pending_mode=pending_mode,
            last_key=None,
            key_lo=partition.key_lo,
            key_hi=partition.key_hi,
            rows_in_pass=0,
        )

    def _run_partition(self, partition: Partition, result: PartitionResult) -> None:
        plan = partition.plan
        spec = plan.spec
        state = self._start_state(partition)
        result.watermark_before = state.watermark
        resumed = state.last_key is not None
        flt = build_filter(partition, state)
        keyset = spec.paging == "keyset"
        query = PageQuery(
            path=spec.path,
            key=spec.key,
            filter=flt,
            select=plan.select,
            expand=plan.expand,
            top=spec.page_size,
            count=self.settings.extract.verify_counts and not resumed,
        )
        decoder = PageDecoder(plan, self.privacy)
        pass_started = datetime.now(UTC)
        batch: list[dict[str, pa.Table]] = []
        batch_rows = 0
        full_replace = spec.mode == "full"
        pages: Iterator[PageResult[DecodedPage] | Quarantined] = iter_pages(
            self.client,
            query,
            strategy=spec.paging,
            start_after=state.last_key if keyset else None,
            application_id=partition.header_application_id,
            entity=spec.path,
            stats=result.stats,
            decode=decoder,
        )

        def flush(final: bool) -> None:
            nonlocal batch, batch_rows, state
            if not batch and not final:
                return
            tables = iter_batches(batch) if batch else {}
            now = datetime.now(UTC)
            if final:
                state = state.completed(at=now)
                if (
                    state.pending_mode is None
                    and self.mode == "backfill"
                    and result.watermark_before
                ):
                    state = replace(state, watermark=result.watermark_before)
            if full_replace:
                self.warehouse.replace_all(
                    plan, tables, load_id=self.run_id, extracted_at=now, state=state
                )
            else:
                self.warehouse.write_batch(
                    plan, tables, load_id=self.run_id, extracted_at=now, state=state
                )
            batch, batch_rows = [], 0

        try:
            for item in pages:
                if isinstance(item, Quarantined):
                    self._quarantine(partition, item)
                    result.quarantined += 1
                    continue
                page = item.page
                if state.pending_until is None:
                    state = replace(state, pending_until=item.server_date or pass_started)
                if page.count is not None and result.source_count is None:
                    result.source_count = page.count
                result.pages += 1
                result.rows += page.row_count
                state = state.advanced(page.last_key, page.row_count, at=datetime.now(UTC))
                batch.append(page.tables)
                batch_rows += sum(t.num_rows for t in page.tables.values())
                if not full_replace and batch_rows >= self.settings.extract.batch_rows:
                    flush(final=False)
                self._emit(partition, result, done=False)
        except BudgetExhausted:
            flush(final=False)
            raise
        except ExtractError:
            if not full_replace:
                flush(final=False)
            raise
        if state.pending_until is None:
            state = replace(state, pending_until=pass_started)
        pass_rows = state.rows_in_pass  # includes rows committed by an interrupted run
        flush(final=True)
        result.loaded_count = pass_rows
        result.watermark_after = state.watermark
        if (
            self.mode == "full"
            and spec.mode == "incremental"
            and not resumed
            and not partition.part
            and result.quarantined == 0
        ):
            scope = (
                f"ApplicationId = {int(partition.application_id)}"
                if partition.application_id and plan.application_filter
                else "true"
            )
            result.deleted_marked = self.warehouse.mark_missing_deleted(
                plan, None, scope_sql=scope, seen_since=pass_started
            )

    def _quarantine(self, partition: Partition, q: Quarantined) -> None:
        payload = q.payload.decode("utf-8", "replace") if q.payload else None
        self.warehouse.execute(
            "insert into meta.quarantine values (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
            [
                self.run_id,
                partition.entity,
                partition.application_id,
                None if q.key_after is None else str(list(q.key_after)),
                None if q.key_before is None else str(list(q.key_before)),
                q.skip,
                q.url,
                q.error,
                payload,
            ],
        )
        log.error(
            "%s: quarantined one record between keys %s and %s: %s",
            partition.label,
            q.key_after,
            q.key_before,
            q.error,
        )

    def _record(self, p: Partition, r: PartitionResult) -> None:
        s = r.stats
        self.warehouse.execute(
            "insert into meta.runs values (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                self.run_id,
                r.entity,
                r.application_id,
                r.part,
                r.mode,
                r.status,
                r.started_at,
                r.finished_at,
                r.duration_s,
                r.rows,
                r.pages,
                s.requests,
                s.retries,
                s.rate_limited,
                s.server_errors,
                s.network_errors,
                s.bad_payloads,
                s.bytes,
                r.source_count,
                r.loaded_count,
                r.count_match,
                r.watermark_before,
                r.watermark_after,
                r.quarantined,
                r.purged,
                r.deleted_marked,
                r.error,
            ],
        )

    def _emit(self, p: Partition, r: PartitionResult, *, done: bool) -> None:
        if self.progress is not None:
            self.progress(ProgressEvent(p.label, r.rows, r.pages, done, r.status))

    # ------------------------------------------------------------------ end of run
    def finish(self) -> RunSummary:
        """Consolidate split passes, purge forgotten and erased records, record the run."""
        for plan in self.plans.values():
            self._consolidate_ranges(plan)
        for plan in self.plans.values():
            if plan.forgotten_field:
                try:
                    self._purge_forgotten(plan)
                except BudgetExhausted:
                    self._warn(f"{plan.spec.path}: request budget spent before the forgotten sweep")
                except ExtractError as exc:
                    self._warn(f"{plan.spec.path}: forgotten-records sweep failed: {exc}")
            if self.settings.extract.key_sweep and plan.spec.mode == "incremental":
                try:
                    self._key_sweep(plan)
                except ExtractError as exc:
                    self._warn(f"{plan.spec.path}: key sweep failed: {exc}")
        self.apply_erasures()
        self.summary.token_requests = self.client.token_requests
        self.summary.finished_at = datetime.now(UTC)
        s = self.summary
        failed = [p for p in s.partitions if p.status == "failed"]
        self.warehouse.execute(
            "update meta.run_history set finished_at = ?, status = ?, requests = ?, "
            "token_requests = ?, rows = ?, quarantined = ?, warnings = ?, error = ? "
            "where run_id = ?",
            [
                s.finished_at,
                s.status,
                s.total("requests"),
                s.token_requests,
                s.total("rows"),
                s.total("quarantined"),
                "\n".join(s.warnings) or None,
                "\n".join(f"{p.entity}: {p.error}" for p in failed) or None,
                s.run_id,
            ],
        )
        return s

    def _consolidate_ranges(self, plan: EntityPlan) -> None:
        """When every key range of a split pass completed, keep one watermark per app."""
        states = self.warehouse.states(plan.spec.path)
        by_app: dict[int, list[PartitionState]] = {}
        for s in states:
            if s.part:
                by_app.setdefault(s.application_id, []).append(s)
        for app, parts in by_app.items():
            if any(s.in_progress or s.watermark is None for s in parts):
                continue
            watermark = min(s.watermark for s in parts if s.watermark is not None)
            with self.warehouse.transaction() as con:
                write_state(
                    con,
                    PartitionState(
                        plan.spec.path,
                        app,
                        "",
                        self.run_id,
                        datetime.now(UTC),
                        watermark=watermark,
                    ),
                )
                for s in parts:
                    delete_state(con, plan.spec.path, app, s.part)

    def _apps_of(self, plan: EntityPlan) -> list[int]:
        per_app = plan.spec.scope == "application" and plan.application_filter
        return self.application_ids if per_app else [0]

    def _purge_forgotten(self, plan: EntityPlan) -> None:
        total = sweeps.purge_forgotten(
            self.client,
            self.warehouse,
            plan,
            self._apps_of(plan),
            header_app=self._header_app(),
            stats=self.summary.overhead,
            run_id=self.run_id,
        )
        self.summary.purged[plan.spec.path] = total

    def _key_sweep(self, plan: EntityPlan) -> None:
        sweeps.mark_deleted(
            self.client,
            self.warehouse,
            plan,
            self._apps_of(plan),
            header_app=self._header_app(),
            stats=self.summary.overhead,
        )

    def apply_erasures(self) -> int:
        """Re-apply recorded erasure requests (``norce-wh erase``) to raw after every load."""
        rows = self.warehouse.execute("select customer_id, email_hash from meta.erasures")
        removed = 0
        for customer_id, email_hash in rows:
            removed += erase_from_raw(self.warehouse, customer_id, email_hash)
        return removed


def run_extract(
    settings: Settings,
    *,
    entities: list[str] | None = None,
    applications: list[int] | None = None,
    mode: RunMode = "incremental",
    since: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
    progress: Progress | None = None,
    command: str = "extract",
    max_workers: int | None = None,
) -> RunSummary:
    """Run a whole extract: plan, pull every partition concurrently, finish.

    Raises:
        ConfigError, FatalError, StateError, WarehouseError: problems that stop the run
            before any partition starts (bad config, credentials, a locked warehouse).
            Per-partition failures do not raise; they are in the summary.
    """
    started = time.monotonic()
    with Extractor(
        settings,
        mode=mode,
        since=since,
        transport=transport,
        progress=progress,
        command=command,
    ) as ex:
        try:
            partitions = ex.prepare(entities, applications)
        except BudgetExhausted:
            ex.summary.budget_spent = True
            ex.summary.warnings.append("request budget spent while planning; nothing extracted")
            partitions = []
        workers = max_workers or max(1, min(len(partitions), settings.throttle.max_inflight))
        # big partitions first, so the long poles start early
        partitions.sort(key=lambda p: (p.plan.spec.mode != "incremental", p.entity))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract") as pool:
            futures = [pool.submit(ex.run_partition, p) for p in partitions]
            for fut in as_completed(futures):
                fut.result()
        summary = ex.finish()
    log.info(
        "run %s %s: %d rows, %d requests, %.1f s",
        summary.run_id,
        summary.status,
        summary.total("rows"),
        summary.total("requests"),
        time.monotonic() - started,
    )
    return summary


def _fmt(ts: datetime | None) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ") if ts else "-"


__all__ = [
    "DataContractError",
    "Extractor",
    "FatalError",
    "Partition",
    "PartitionResult",
    "ProgressEvent",
    "RequestRejected",
    "RunSummary",
    "erase_from_raw",
    "run_extract",
]

"""The DuckDB side of a load: raw tables from plans, batch merges, purges, bookkeeping.

Every write goes through :class:`Warehouse`, which owns the single DuckDB connection of
the working database and serialises writers with a lock (DuckDB allows one writing process
per file; threads share the connection here). A batch -- rows of one or more raw tables
plus the partition state that produced them -- commits in one transaction, which is what
makes a killed run resumable without duplicates or gaps.

Raw tables: ``raw.<table>`` with the plan's columns (source names), ``_load_id``,
``_extracted_at`` and ``_deleted_at``. Rows are merged on the key (delete + insert); child
tables are replaced per parent key, so a line removed at the source disappears too.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from extract.errors import DataContractError, StateError, WarehouseError
from extract.reconcile import EntityPlan, TablePlan
from extract.state import META_DDL, PartitionState, read_states, write_state
from extract.types import is_widening

log = logging.getLogger(__name__)

LOAD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_load_id", "VARCHAR"),
    ("_extracted_at", "TIMESTAMPTZ"),
    ("_deleted_at", "TIMESTAMPTZ"),
)


def qi(name: str) -> str:
    """Quote a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True, slots=True)
class SchemaChange:
    table: str
    column: str
    change: str  # added | removed | type_changed
    old_type: str | None
    new_type: str | None


class Warehouse:
    """The working database: raw + meta schemas, written by one run at a time."""

    def __init__(self, path: Path, *, run_id: str, memory_limit_mb: int | None = None) -> None:
        self.path = path
        self.run_id = run_id
        self.lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.con = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" in text.lower():
                raise StateError(
                    f"the working database {path} is locked by another process",
                    hint="wait for the running load to finish (norce-wh status)",
                ) from exc
            raise WarehouseError(
                f"cannot open the working database {path}: {text.splitlines()[0]}",
                hint="check that NORCE_WAREHOUSE points at a writable directory",
            ) from exc
        except OSError as exc:
            raise WarehouseError(
                f"cannot create the warehouse directory {path.parent}: {exc.strerror}",
                hint="set NORCE_WAREHOUSE to a writable location",
            ) from exc
        _x(self.con, "SET TimeZone = 'UTC'")
        if memory_limit_mb is not None:
            _x(self.con, f"SET memory_limit = '{int(memory_limit_mb)}MiB'")
        with self.transaction():
            for stmt in META_DDL:
                _x(self.con, stmt)

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        with self.lock:
            try:
                _x(self.con, "CHECKPOINT")
            finally:
                self.con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.lock:
            _x(self.con, "BEGIN TRANSACTION")
            try:
                yield self.con
            except duckdb.Error as exc:
                _x(self.con, "ROLLBACK")
                raise _io_error(exc, self.path) from exc
            except BaseException:
                _x(self.con, "ROLLBACK")
                raise
            else:
                try:
                    _x(self.con, "COMMIT")
                except duckdb.Error as exc:
                    raise _io_error(exc, self.path) from exc

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.lock:
            return self.con.execute(sql, params or []).fetchall()

    def states(self, entity: str) -> list[PartitionState]:
        """The partition states of ``entity`` (thread-safe)."""
        with self.lock:
            return read_states(self.con, entity)

    def table_columns(self, table: str, schema: str = "raw") -> dict[str, str]:
        rows = self.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        )
        return {name: dtype for name, dtype in rows}

    # ------------------------------------------------------------------ DDL
    def ensure_tables(self, plan: EntityPlan, *, rebuild: bool = False) -> list[SchemaChange]:
        """Create or evolve every raw table of ``plan``; record changes in meta.

        New source properties become columns; properties the source no longer declares stay
        (null from now on); a widening type change is applied in place. A narrowing change
        is a :class:`DataContractError` unless ``rebuild`` (full refresh) is set, in which
        case the column is recreated with the new type.
        """
        changes: list[SchemaChange] = []
        with self.transaction() as con:
            for tp in plan.tables.values():
                changes += self._ensure_table(con, tp, plan.spec.path, rebuild=rebuild)
            for ch in changes:
                _x(
                    con,
                    "insert into meta.schema_changes values (?, ?, ?, ?, ?, ?, ?, now())",
                    [
                        self.run_id,
                        plan.spec.path,
                        ch.table,
                        ch.column,
                        ch.change,
                        ch.old_type,
                        ch.new_type,
                    ],
                )
        for ch in changes:
            log.warning(
                "schema change in raw.%s: %s %s (%s -> %s)",
                ch.table,
                ch.column,
                ch.change,
                ch.old_type,
                ch.new_type,
            )
        return changes

    def _ensure_table(
        self, con: duckdb.DuckDBPyConnection, tp: TablePlan, entity: str, *, rebuild: bool
    ) -> list[SchemaChange]:
        existing = self.table_columns(tp.table)
        wanted = [(c.name, c.duckdb_type) for c in tp.columns] + list(LOAD_COLUMNS)
        if not existing:
            cols = ", ".join(f"{qi(n)} {t}" for n, t in wanted)
            _x(con, f"create table raw.{qi(tp.table)} ({cols})")
            return []
        changes: list[SchemaChange] = []
        for name, dtype in wanted:
            old = existing.get(name)
            if old is None:
                _x(con, f"alter table raw.{qi(tp.table)} add column {qi(name)} {dtype}")
                changes.append(SchemaChange(tp.table, name, "added", None, dtype))
            elif _norm(old) != _norm(dtype):
                if not (rebuild or is_widening(old, dtype)):
                    raise DataContractError(
                        f"{entity}: column raw.{tp.table}.{name} changed type at the source "
                        f"from {old} to {dtype}, which cannot be converted in place",
                        hint=f"run once with --full-refresh --entities {entity} to rebuild it",
                    )
                using = "" if is_widening(old, dtype) else f" using try_cast({qi(name)} as {dtype})"
                _x(
                    con,
                    f"alter table raw.{qi(tp.table)} alter column {qi(name)} "
                    f"set data type {dtype}{using}",
                )
                changes.append(SchemaChange(tp.table, name, "type_changed", old, dtype))
        wanted_names = {n for n, _ in wanted}
        for name, dtype in existing.items():
            if name not in wanted_names and not self._removal_recorded(tp.table, name):
                changes.append(SchemaChange(tp.table, name, "removed", dtype, None))
        return changes

    def _removal_recorded(self, table: str, column: str) -> bool:
        rows = self.execute(
            "select change from meta.schema_changes where table_name = ? and column_name = ? "
            "order by recorded_at desc limit 1",
            [table, column],
        )
        return bool(rows) and rows[0][0] == "removed"

    # ------------------------------------------------------------------ writes
    def write_batch(
        self,
        plan: EntityPlan,
        tables: dict[str, pa.Table],
        *,
        load_id: str,
        extracted_at: datetime,
        state: PartitionState | None,
    ) -> int:
        """Merge one batch of rows (and the state that produced it) in one transaction.

        Returns:
            Rows written across all tables.
        """
        written = 0
        with self.transaction() as con:
            for name, tp in plan.tables.items():
                data = tables.get(name)
                if data is None:
                    continue
                written += self._merge(con, tp, plan, data, load_id, extracted_at, tables)
            if state is not None:
                write_state(con, state)
        return written

    def _merge(
        self,
        con: duckdb.DuckDBPyConnection,
        tp: TablePlan,
        plan: EntityPlan,
        data: pa.Table,
        load_id: str,
        extracted_at: datetime,
        batch: dict[str, pa.Table],
    ) -> int:
        target = f"raw.{qi(tp.table)}"
        view = f"_batch_{tp.table}"
        con.register(view, data)
        try:
            if tp.parent_key is None:
                keys = " and ".join(f"t.{qi(k)} = b.{qi(k)}" for k in tp.key)
                _x(
                    con,
                    f"delete from {target} t "
                    f"where exists (select 1 from {qi(view)} b where {keys})",
                )
            else:
                # children are replaced per parent: every parent in the batch, even one whose
                # collection is now empty, loses its old children first.
                parent = batch[plan.spec.table]
                parent_view = f"_parents_{tp.table}"
                con.register(parent_view, parent.select(list(plan.spec.key)))
                try:
                    keys = " and ".join(
                        f"t.{qi(ck)} = p.{qi(pk)}"
                        for ck, pk in zip(tp.parent_key, plan.spec.key, strict=True)
                    )
                    _x(
                        con,
                        f"delete from {target} t where exists "
                        f"(select 1 from {qi(parent_view)} p where {keys})",
                    )
                finally:
                    con.unregister(parent_view)
            if data.num_rows:
                cols = ", ".join(qi(c) for c in data.column_names)
                _x(
                    con,
                    f"insert into {target} ({cols}, _load_id, _extracted_at) "
                    f"select {cols}, ?, ? from {qi(view)}",
                    [load_id, extracted_at],
                )
        finally:
            con.unregister(view)
        return int(data.num_rows)

    def replace_all(
        self,
        plan: EntityPlan,
        tables: dict[str, pa.Table],
        *,
        load_id: str,
        extracted_at: datetime,
        state: PartitionState | None,
        where: str | None = None,
    ) -> int:
        """Replace the full content of a small set (lookups) in one transaction."""
        written = 0
        with self.transaction() as con:
            for name, tp in plan.tables.items():
                _x(con, f"delete from raw.{qi(tp.table)}" + (f" where {where}" if where else ""))
                data = tables.get(name)
                if data is None or not data.num_rows:
                    continue
                view = f"_full_{tp.table}"
                con.register(view, data)
                try:
                    cols = ", ".join(qi(c) for c in data.column_names)
                    _x(
                        con,
                        f"insert into raw.{qi(tp.table)} ({cols}, _load_id, _extracted_at) "
                        f"select {cols}, ?, ? from {qi(view)}",
                        [load_id, extracted_at],
                    )
                finally:
                    con.unregister(view)
                written += int(data.num_rows)
            if state is not None:
                write_state(con, state)
        return written

    # ------------------------------------------------------------------ deletes
    def purge_keys(self, plan: EntityPlan, keys: pa.Table) -> int:
        """Hard-delete rows (and their children) whose key is in ``keys``. Returns rows removed
        from the main table."""
        if not keys.num_rows:
            return 0
        spec = plan.spec
        with self.transaction() as con:
            con.register("_purge_keys", keys)
            try:
                for tp in list(plan.tables.values())[1:]:
                    assert tp.parent_key is not None
                    cond = " and ".join(
                        f"t.{qi(ck)} = k.{qi(pk)}"
                        for ck, pk in zip(tp.parent_key, spec.key, strict=True)
                    )
                    _x(
                        con,
                        f"delete from raw.{qi(tp.table)} t where exists "
                        f"(select 1 from _purge_keys k where {cond})",
                    )
                cond = " and ".join(f"t.{qi(k)} = k.{qi(k)}" for k in spec.key)
                before = con.execute(f"select count(*) from raw.{qi(spec.table)}").fetchall()[0]
                _x(
                    con,
                    f"delete from raw.{qi(spec.table)} t where exists "
                    f"(select 1 from _purge_keys k where {cond})",
                )
                after = con.execute(f"select count(*) from raw.{qi(spec.table)}").fetchall()[0]
            finally:
                con.unregister("_purge_keys")
        assert before is not None and after is not None
        return int(before[0]) - int(after[0])

    def forget_erased_orders(self, order_ids: list[Any]) -> None:
        """Drop locally erased orders from meta.erased_orders once the source forgets them."""
        with self.transaction() as con:
            _x(
                con,
                "delete from meta.erased_orders where order_id in (select unnest(?))",
                [order_ids],
            )

    def mark_missing_deleted(
        self, plan: EntityPlan, keys: pa.Table | None, *, scope_sql: str, seen_since: datetime
    ) -> int:
        """Soft-delete rows of the main table not seen by a complete pass.

        With ``keys`` (a key sweep), rows whose key is absent are marked; without, rows not
        extracted since ``seen_since`` (a full pass) are. ``scope_sql`` restricts to the
        partition (e.g. an application). Rows that reappear are unmarked by their next merge.
        """
        spec = plan.spec
        target = f"raw.{qi(spec.table)}"
        with self.transaction() as con:
            if keys is not None:
                con.register("_seen_keys", keys)
                cond = " and ".join(f"t.{qi(k)} = s.{qi(k)}" for k in spec.key)
                missing = f"not exists (select 1 from _seen_keys s where {cond})"
            else:
                missing = "t._extracted_at < ?"
            params: list[Any] = [] if keys is not None else [seen_since]
            try:
                row = con.execute(
                    f"update {target} t set _deleted_at = now() "
                    f"where t._deleted_at is null and ({scope_sql}) and {missing} "
                    f"returning 1",
                    params,
                ).fetchall()
            finally:
                if keys is not None:
                    con.unregister("_seen_keys")
        return len(row)

    def count_rows(self, table: str, where: str = "true") -> int:
        row = self.execute(
            f"select count(*) from raw.{qi(table)} where _deleted_at is null and ({where})"
        )
        return int(row[0][0])


def _x(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> None:
    """Run a statement and drain its result (DuckDB 2 refuses new work while one is open)."""
    con.execute(sql, params or []).fetchall()


def _norm(dtype: str) -> str:
    t = dtype.upper().replace(" ", "")
    return {"TIMESTAMPWITHTIMEZONE": "TIMESTAMPTZ"}.get(t, t)


def _io_error(exc: duckdb.Error, path: Path) -> WarehouseError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "No space left" in text or "disk" in text.lower():
        return WarehouseError(
            f"the disk holding {path} is full: {text}",
            hint="free space or point NORCE_WAREHOUSE at a larger volume; "
            "the run rolled back its last batch and will resume from there",
        )
    return WarehouseError(f"writing {path} failed: {text}", hint="see the log for details")


def iter_batches(tables: Iterable[dict[str, pa.Table]]) -> dict[str, pa.Table]:
    """Concatenate per-page tables into one batch per raw table."""
    acc: dict[str, list[pa.Table]] = {}
    for page in tables:
        for name, table in page.items():
            acc.setdefault(name, []).append(table)
    return {name: pa.concat_tables(parts) for name, parts in acc.items()}

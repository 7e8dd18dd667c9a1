"""The working database: one DuckDB connection shared by a run's threads.

Every write goes through :class:`Warehouse`, which owns the single DuckDB connection of the
working database and serialises writers with a lock (DuckDB allows one writing process per
file; threads share the connection here). Opening it creates the ``raw`` and ``meta``
schemas (:mod:`extract.load.meta_tables`). What is written lives beside it: raw tables and
their evolution in :mod:`extract.load.tables`, row merges and deletes in
:mod:`extract.load.merge`, bookkeeping in :mod:`extract.load.meta`.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from extract.errors import StateError, WarehouseError
from extract.load import meta
from extract.load.meta_tables import META_DDL, QUARANTINE_UPGRADE
from extract.load.state import PartitionState

__all__ = ["CHECKPOINT_HEADROOM", "Warehouse", "execute", "qi"]

CHECKPOINT_HEADROOM = 4
"""A checkpoint that failed under the buffer cap is done again with this many times
``memory_limit_mb`` (at least 256 MiB): the one measured need was just above the 64 MiB
default cap ("failed to pin block ... 63.7 MiB/64.0 MiB used")."""

log = logging.getLogger(__name__)

_NO_AUTO_CHECKPOINT = "'1000000GiB'"


def qi(name: str) -> str:
    """Quote a DuckDB identifier."""
    return '"' + name.replace('"', '""') + '"'


class Warehouse:
    """The working database: raw + meta schemas, written by one run at a time.

    Args:
        path: The working DuckDB file (created with its directory).
        run_id: The run writing it (recorded with schema changes).
        memory_limit_mb: DuckDB's buffer cap for this connection; ``None``: DuckDB's default.
        threads: DuckDB's worker threads for this connection; ``None``: DuckDB's default (one
            per core). The loader passes one (``NORCE_DUCKDB_THREADS``): its parallelism is
            its partitions, and DuckDB's own workers would compete with their decoding.
        checkpoint_mb: The write-ahead log size at which the log is checkpointed into
            the file; ``None``: DuckDB's own threshold (16 MiB). The loader passes
            ``NORCE_DUCKDB_CHECKPOINT_MB``. With a threshold, the warehouse checkpoints
            itself, after the commit that reaches it (DuckDB's automatic checkpoint inside
            the commit is turned off), so that a checkpoint is a statement of its own after
            a durable commit: see :meth:`checkpoint` for why.

    Raises:
        StateError: Another process holds the file.
        WarehouseError: The file or its directory cannot be created or opened.
    """

    def __init__(
        self,
        path: Path,
        *,
        run_id: str,
        memory_limit_mb: int | None = None,
        threads: int | None = None,
        checkpoint_mb: int | None = None,
    ) -> None:
        self.path = path
        self.run_id = run_id
        self.lock = threading.RLock()
        self._memory_limit_mb = memory_limit_mb
        self._checkpoint_bytes = None if checkpoint_mb is None else int(checkpoint_mb) << 20
        self._wal = path.with_name(path.name + ".wal")
        self._threads = threads
        self.con = _connect(path)
        self._configure()
        with self.transaction() as con:
            for stmt in META_DDL:
                execute(con, stmt)
            if "customer_id" not in _columns(con, "meta", "quarantine"):
                for stmt in QUARANTINE_UPGRADE:
                    execute(con, stmt)

    def close(self) -> None:
        """Checkpoint and close the connection."""
        with self.lock:
            try:
                self.checkpoint()
            finally:
                self.con.close()

    def _configure(self) -> None:
        execute(self.con, "SET TimeZone = 'UTC'")
        if self._memory_limit_mb is not None:
            execute(self.con, f"SET memory_limit = '{int(self._memory_limit_mb)}MiB'")
        if self._threads is not None:
            execute(self.con, f"SET threads = {int(self._threads)}")
        if self._checkpoint_bytes is not None:
            execute(self.con, f"SET checkpoint_threshold = {_NO_AUTO_CHECKPOINT}")

    def checkpoint(self) -> None:
        """Write the log into the file.

        A checkpoint pins the blocks it rewrites, and under the buffer cap DuckDB can fail
        it with a FATAL error ("failed to pin block") that invalidates the database in this
        process. The committed rows are safe in the log, so the warehouse then opens the
        file again (which replays the log) and checkpoints with
        :data:`CHECKPOINT_HEADROOM` times the cap, then goes back to the cap. Raises the
        second failure, if any.
        """
        with self.lock:
            try:
                execute(self.con, "CHECKPOINT")
            except duckdb.FatalException as exc:
                log.warning(
                    "DuckDB could not checkpoint %s within its %s MiB cap (%s): reopening it "
                    "to checkpoint with more room",
                    self.path,
                    self._memory_limit_mb,
                    str(exc).splitlines()[0],
                )
                self._checkpoint_again()

    def _checkpoint_again(self) -> None:
        # an invalidated database may refuse even a close; the new one replays the log
        with contextlib.suppress(duckdb.Error):
            self.con.close()
        self.con = _connect(self.path)
        self._configure()
        cap = self._memory_limit_mb
        if cap is not None:
            execute(self.con, f"SET memory_limit = '{max(CHECKPOINT_HEADROOM * cap, 256)}MiB'")
        try:
            execute(self.con, "CHECKPOINT")
        finally:
            if cap is not None:
                execute(self.con, f"SET memory_limit = '{int(cap)}MiB'")

    def _checkpoint_if_due(self) -> None:
        """Checkpoint once the log has reached ``checkpoint_mb`` (after a commit)."""
        if self._checkpoint_bytes is None:
            return
        try:
            size = self._wal.stat().st_size
        except FileNotFoundError:
            return
        if size >= self._checkpoint_bytes:
            self.checkpoint()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the writer lock and one transaction; roll back on any exception.

        Raises:
            WarehouseError: A DuckDB error inside the block or at commit (disk full, ...).
        """
        with self.lock:
            execute(self.con, "BEGIN TRANSACTION")
            try:
                yield self.con
            except duckdb.Error as exc:
                execute(self.con, "ROLLBACK")
                raise _io_error(exc, self.path) from exc
            except BaseException:
                execute(self.con, "ROLLBACK")
                raise
            else:
                try:
                    execute(self.con, "COMMIT")
                    self._checkpoint_if_due()
                except duckdb.Error as exc:
                    raise _io_error(exc, self.path) from exc

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        """Run a read-only query under the writer lock and return its rows."""
        with self.lock:
            return self.con.execute(sql, params or []).fetchall()

    def states(self, entity: str) -> list[PartitionState]:
        """The partition states of ``entity`` (thread-safe)."""
        with self.lock:
            return meta.read_states(self.con, entity)

    def raw_tables(self) -> set[str]:
        """Names of the tables in schema ``raw``."""
        rows = self.query(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        )
        return {name for (name,) in rows}

    def table_columns(self, table: str, schema: str = "raw") -> dict[str, str]:
        """Column name -> DuckDB type of ``schema.table`` (empty when it does not exist)."""
        rows = self.query(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        )
        return {name: dtype for name, dtype in rows}


def execute(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> None:
    """Run a statement and drain its result (DuckDB 2 refuses new work while one is open)."""
    con.execute(sql, params or []).fetchall()


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {name for (name,) in rows}


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path))
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


def _io_error(exc: duckdb.Error, path: Path) -> WarehouseError:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "No space left" in text or "disk" in text.lower():
        return WarehouseError(
            f"the disk holding {path} is full: {text}",
            hint="free space or point NORCE_WAREHOUSE at a larger volume; "
            "the run rolled back its last batch and will resume from there",
        )
    return WarehouseError(f"writing {path} failed: {text}", hint="see the log for details")

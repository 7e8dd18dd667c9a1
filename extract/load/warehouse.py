"""The working database: one DuckDB connection shared by a run's threads.

Every write goes through :class:`Warehouse`, which owns the single DuckDB connection of the
working database and serialises writers with a lock (DuckDB allows one writing process per
file; threads share the connection here). Opening it creates the ``raw`` and ``meta``
schemas (:mod:`extract.load.meta_tables`). What is written lives beside it: raw tables and
their evolution in :mod:`extract.load.tables`, row merges and deletes in
:mod:`extract.load.merge`, bookkeeping in :mod:`extract.load.meta`.
"""

from __future__ import annotations

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

__all__ = ["Warehouse", "execute", "qi"]


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
        checkpoint_mb: The write-ahead log size at which DuckDB checkpoints
            (``checkpoint_threshold``); ``None``: DuckDB's default (16 MiB). The loader
            passes ``NORCE_DUCKDB_CHECKPOINT_MB``.

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
        self.con = _connect(path)
        execute(self.con, "SET TimeZone = 'UTC'")
        if memory_limit_mb is not None:
            execute(self.con, f"SET memory_limit = '{int(memory_limit_mb)}MiB'")
        if threads is not None:
            execute(self.con, f"SET threads = {int(threads)}")
        if checkpoint_mb is not None:
            execute(self.con, f"SET checkpoint_threshold = '{int(checkpoint_mb)}MiB'")
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
                execute(self.con, "CHECKPOINT")
            finally:
                self.con.close()

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

"""Publish the working database as the read-only warehouse file, atomically.

BI tools and analysts open ``NORCE_WAREHOUSE`` (the *published* file) read-only, while runs
write a separate *working* file. Publishing copies the closed working file next to the
target and renames it over the target with :func:`os.replace`:

* a reader that already opened the old file keeps reading its snapshot (the old inode stays
  alive until the reader closes it);
* a reader that opens the target after the rename sees the new file, complete;
* nobody ever sees a half-written file, because the rename is the only step visible to them.

When the target is a symbolic link, the file it points to is replaced (in its own
directory) and the link stays a link. A new published file gets ``NORCE_FILE_MODE`` (owner
and group only by default) less the umask; a replaced one keeps the mode it had.

DuckDB keeps recent writes in a ``.wal`` file beside the database until a checkpoint. A copy
of the database without its WAL would lose those writes, so the working file is
checkpointed (and must have no WAL left) before it is copied.

The copy is made by the cheapest method the filesystem offers (:mod:`flows.filecopy`): a
reflink on Btrfs, XFS or ZFS (constant time whatever the file's size), else
``copy_file_range`` in the kernel, else a plain read/write loop.
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from extract import PublishRow, record_publish
from extract.errors import StateError, WarehouseError
from extract.settings import DEFAULT_FILE_MODE
from flows.filecopy import clone_or_copy
from flows.files import published_mode

__all__ = ["PublishResult", "last_publish", "publish"]

log = logging.getLogger(__name__)

_TEMP_SUFFIX = ".publishing"
"""Suffix of the temp copy written beside the target (``.<target name>.<random>.publishing``)."""


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What one publish did.

    Attributes:
        target: The published file readers open.
        source: The working database it was copied from.
        run_id: The run whose results it holds, if any.
        published_at: When the new file became visible (UTC).
        bytes: Size of the published file.
        seconds: Time spent checkpointing, copying and renaming.
    """

    target: Path
    source: Path
    run_id: str | None
    published_at: datetime
    bytes: int
    seconds: float


def publish(
    work_database: Path,
    target: Path,
    *,
    run_id: str | None = None,
    mode: int = DEFAULT_FILE_MODE,
) -> PublishResult:
    """Checkpoint ``work_database`` and atomically replace ``target`` with a copy of it.

    The caller must have closed every writing connection to ``work_database`` (the
    extractor's and dbt's); a connection still open in another process makes this fail
    with :class:`StateError` rather than copy a file that is being written.

    Args:
        work_database: The working DuckDB file the run wrote.
        target: The published file; created (with its directory) if absent. A symbolic
            link is followed: the file it points to is replaced, the link is kept.
        run_id: The run being published, recorded in ``meta.publishes``.
        mode: Permissions of a newly created published file (less the umask); an
            existing one keeps its own.

    Returns:
        Where, when and how big the published file is.

    Raises:
        StateError: Another process holds the working database open for writing.
        WarehouseError: The working database is missing, or the target directory is not
            writable or full. The previously published file is left untouched.
    """
    started = time.monotonic()
    work_database = Path(work_database)
    target = Path(target)
    if not work_database.exists():
        raise WarehouseError(
            f"nothing to publish: the working database {work_database} does not exist",
            hint="run `norce-wh run` or `norce-wh extract` first",
        )
    real = Path(os.path.realpath(target))  # replace what a link points to, not the link
    if work_database.resolve() == real:
        raise WarehouseError(
            f"the working database and the published file are the same file ({target})",
            hint="give NORCE_WORK_DATABASE a different path than NORCE_WAREHOUSE",
        )
    published_at = datetime.now(UTC)
    _record_and_checkpoint(work_database, target, run_id, published_at)
    try:
        real.parent.mkdir(parents=True, exist_ok=True)
        size = _atomic_copy(work_database, real, published_mode(real, mode))
    except OSError as exc:
        raise WarehouseError(
            f"cannot publish to {target}: {exc.strerror or exc}",
            hint="check that the directory of NORCE_WAREHOUSE is writable and has free space "
            "(the previously published file is unchanged)",
        ) from exc
    seconds = time.monotonic() - started
    log.info("published %s (%.1f MB) in %.2f s", target, size / 1e6, seconds)
    return PublishResult(target, work_database, run_id, published_at, size, seconds)


def _record_and_checkpoint(
    work_database: Path, target: Path, run_id: str | None, published_at: datetime
) -> None:
    """Add the ``meta.publishes`` row and fold the WAL into the database file."""
    try:
        con = duckdb.connect(str(work_database))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise StateError(
                f"the working database {work_database} is still open in another process",
                hint="wait for the running load to finish (norce-wh status) and publish again",
            ) from exc
        raise WarehouseError(
            f"cannot open the working database {work_database}: {str(exc).splitlines()[0]}",
            hint="check the file and its directory permissions",
        ) from exc
    try:
        # The history of publishes travels in the working file, so in every published copy.
        record_publish(con, PublishRow(run_id, published_at, str(work_database), str(target)))
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot checkpoint the working database {work_database}: {str(exc).splitlines()[0]}",
            hint="check free disk space",
        ) from exc
    finally:
        con.close()
    wal = work_database.with_name(work_database.name + ".wal")
    if wal.exists() and wal.stat().st_size > 0:
        # A WAL after a clean checkpoint and close means another connection is writing.
        raise StateError(
            f"the working database {work_database} still has unwritten changes in {wal.name}",
            hint="another process is writing it; wait for it to finish and publish again",
        )


def _atomic_copy(source: Path, target: Path, mode: int) -> int:
    """Copy ``source`` to a temp file beside ``target``, fsync, rename over ``target``.

    The temp file is created private (``mkstemp``: 0600) and gets ``mode`` before the
    rename, so the published file never has wider permissions, not even for a moment.
    """
    _remove_stale_temp_files(target)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=_TEMP_SUFFIX, dir=target.parent
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            # Held while copying: tells _remove_stale_temp_files the file is in use.
            fcntl.flock(out.fileno(), fcntl.LOCK_EX)
            method = clone_or_copy(src.fileno(), out.fileno())
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        # The published file is never written in place, so a WAL beside it can only be a
        # leftover of someone opening it read-write; it belongs to the old file and would
        # be replayed onto the new one.
        stale_wal = target.with_name(target.name + ".wal")
        if stale_wal.exists():
            log.warning("removing %s left beside the published file", stale_wal)
            stale_wal.unlink()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    log.debug("published by %s copy", method)
    return target.stat().st_size


def _remove_stale_temp_files(target: Path) -> None:
    """Delete temp copies a killed publish left beside ``target``.

    A publisher holds ``flock`` on its temp file while copying; the lock dies with the
    process, so an unlocked temp file belongs to nobody.
    """
    for stale in target.parent.iterdir():
        if not (stale.name.startswith(f".{target.name}.") and stale.name.endswith(_TEMP_SUFFIX)):
            continue
        try:
            with stale.open("rb") as fh:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                log.warning("removing %s left by an interrupted publish", stale)
                stale.unlink()
        except OSError:
            continue  # another publish is copying it, it is gone, or it is not ours to remove


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (POSIX: the directory entry lives in the directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems refuse fsync on directories; the rename is still atomic
    finally:
        os.close(fd)


def last_publish(target: Path) -> tuple[str | None, datetime] | None:
    """The run id and time of the newest publish recorded in the published file.

    Returns:
        ``(run_id, published_at)``, or ``None`` when the file or the record is absent.
    """
    if not Path(target).exists():
        return None
    con = duckdb.connect(str(target), read_only=True)
    try:
        row = con.execute(
            "select run_id, published_at from meta.publishes order by published_at desc limit 1"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    return (row[0], row[1]) if row else None

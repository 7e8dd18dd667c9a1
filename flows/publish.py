"""Publish the working database as the read-only warehouse file, atomically.

BI tools and analysts open ``NORCE_WAREHOUSE`` (the *published* file) read-only, while runs
write a separate *working* file. Publishing makes a new file with the closed working file's
content next to the target and renames it over the target with :func:`os.replace`:

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

The new file is made the cheapest way that keeps those promises:

1. a reflink clone on Btrfs, XFS or ZFS (constant time whatever the file's size);
2. else the *standby*, the file the previous publish replaced, kept under a hidden name and
   brought up to date in place by writing only the blocks that differ, when no process has
   it open (:mod:`flows.standby`): a run that changed 5% of the file writes 5% of it;
3. else a whole copy (``copy_file_range`` in the kernel, else a read/write loop).
"""

from __future__ import annotations

import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from extract import PublishRow, record_publish
from extract.errors import StateError, WarehouseError
from extract.settings import DEFAULT_FILE_MODE
from flows import standby
from flows.filecopy import copy_whole, sync_changed, try_reflink
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
        method: How the new file was made: ``changed blocks`` (the standby brought up to
            date), ``reflink``, ``kernel`` or ``python`` (a whole copy).
        written: Bytes written to make it (0 for a reflink).
    """

    target: Path
    source: Path
    run_id: str | None
    published_at: datetime
    bytes: int
    seconds: float
    method: str = "kernel"
    written: int = 0


def publish(
    work_database: Path,
    target: Path,
    *,
    run_id: str | None = None,
    mode: int = DEFAULT_FILE_MODE,
    keep_standby: bool = True,
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
        keep_standby: Keep the replaced file as the standby (:mod:`flows.standby`) so the
            next publish writes only what changed. ``False`` removes it: after an erasure
            or a purge of forgotten people, no earlier copy may stay on disk.

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
        written = _atomic_publish(
            work_database, real, published_mode(real, mode), keep_standby=keep_standby
        )
        size = real.stat().st_size
    except OSError as exc:
        raise WarehouseError(
            f"cannot publish to {target}: {exc.strerror or exc}",
            hint="check that the directory of NORCE_WAREHOUSE is writable and has free space "
            "(the previously published file is unchanged)",
        ) from exc
    seconds = time.monotonic() - started
    log.info(
        "published %s (%.1f MB, %s, %.1f MB written) in %.2f s",
        target,
        size / 1e6,
        written.method,
        written.bytes / 1e6,
        seconds,
    )
    return PublishResult(
        target, work_database, run_id, published_at, size, seconds, written.method, written.bytes
    )


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


def _atomic_publish(source: Path, target: Path, mode: int, *, keep_standby: bool) -> _Written:
    """Make a new inode with ``source``'s content and rename it over ``target``.

    The cheapest way that keeps readers safe, in order: a reflink clone into a temp file;
    the standby brought up to date in place, when nobody holds it (:mod:`flows.standby`);
    a full copy into a temp file. Whatever it is gets ``mode`` and is made durable before
    the rename, so the published file never has wider permissions, not even for a moment.
    """
    _remove_stale_temp_files(target)
    # The published file is never written in place, so a WAL beside it can only be a
    # leftover of someone opening it read-write; it belongs to the old file and would be
    # replayed onto the new one.
    stale_wal = target.with_name(target.name + ".wal")
    with source.open("rb") as src:
        made = _clone(src.fileno(), target, mode)
        if made is None:
            made = _sync_standby(src.fileno(), target, mode)
        if made is None:
            made = _copy(src.fileno(), target, mode)
    new_file, written = made
    try:
        if stale_wal.exists():
            log.warning("removing %s left beside the published file", stale_wal)
            stale_wal.unlink()
        # a standby costs a file's worth of disk: kept only where the next publish can use
        # it (after a reflink the next clone is as cheap; without OFD locks and /proc
        # nobody can tell that it is free)
        keep = keep_standby and written.method != "reflink" and standby.supported()
        standby.rotate(new_file, target, keep=keep)
    except BaseException:
        if new_file != standby.standby_path(target):
            new_file.unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)
    log.debug("published by %s (%d bytes written)", written.method, written.bytes)
    return written


@dataclass(frozen=True, slots=True)
class _Written:
    method: str
    bytes: int


def _clone(src: int, target: Path, mode: int) -> tuple[Path, _Written] | None:
    """A reflink clone of ``src`` in a temp file beside ``target``; ``None`` if refused."""
    with _temp_beside(target) as (out, tmp):
        if not try_reflink(src, out):
            tmp.unlink()
            return None
        _make_durable(out, mode)
        return tmp, _Written("reflink", 0)


def _copy(src: int, target: Path, mode: int) -> tuple[Path, _Written]:
    """A whole copy of ``src`` in a temp file beside ``target`` (no reflink here)."""
    with _temp_beside(target) as (out, tmp):
        method = copy_whole(src, out)
        _make_durable(out, mode)
        return tmp, _Written(method, os.fstat(out).st_size)


def _sync_standby(src: int, target: Path, mode: int) -> tuple[Path, _Written] | None:
    """The standby of ``target`` made equal to ``src`` in place; ``None`` if not usable."""
    path = standby.standby_path(target)
    fd = standby.open_if_unused(path)
    if fd is None:
        return None
    try:
        written = sync_changed(src, fd)
        _make_durable(fd, mode)
    finally:
        os.close(fd)  # releases the lock: readers must be able to open it once renamed
    return path, _Written("changed blocks", written)


def _make_durable(fd: int, mode: int) -> None:
    os.fsync(fd)
    os.fchmod(fd, mode)


@contextmanager
def _temp_beside(target: Path) -> Iterator[tuple[int, Path]]:
    """A private (0600) temp file beside ``target``, ``flock``-ed while the body fills it;
    removed if the body raises."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TEMP_SUFFIX, dir=target.parent)
    tmp = Path(name)
    try:
        # Held while writing: tells _remove_stale_temp_files the file is in use.
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield fd, tmp
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)


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

"""The standby: the previously published file, kept so the next publish writes only changes.

A publish must put a new inode at ``NORCE_WAREHOUSE`` (a reader holding the old file keeps
it), and without reflinks a new inode means writing the whole file. Instead, the file a
publish replaces keeps a second, hidden name beside it (``.<name>.standby``). The publish
after next brings that inode up to date in place (:func:`flows.filecopy.sync_changed`
writes only the blocks that differ: the blocks the last two runs changed) and renames it
over ``NORCE_WAREHOUSE``; the file it replaces becomes the new standby.

The standby is written in place, so it is reused only when nobody has it open. It was the
published file two publishes ago, and a reader that opened it then may still hold it:

* DuckDB holds a POSIX record lock on every database file it has open (a shared one when
  read-only), in any process; an open file description lock (``F_OFD_SETLK``) conflicts
  with it, even one held by this very process;
* ``/proc/<pid>/fd`` shows the files any process this user can see has open, DuckDB or
  not (and catches this process's own handles before opening the file could drop their
  record locks: closing any descriptor of a file releases the process's POSIX locks on it).

A standby in use makes the publish copy the whole file to a fresh inode instead, as
before; the busy standby's name is dropped and its reader keeps it. A system without both
(not Linux) always copies and keeps no standby (:func:`supported`).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import stat
import struct
from pathlib import Path

__all__ = ["drop", "open_if_unused", "previous_path", "rotate", "standby_path", "supported"]

log = logging.getLogger(__name__)

_PROC = Path("/proc")
_FLOCK = "hhqqi4x"
"""``struct flock`` on Linux: type, whence, start, len, pid (0 for OFD locks), padding."""


def standby_path(published: Path) -> Path:
    """The hidden name beside the real published file that the standby has."""
    return published.with_name(f".{published.name}.standby")


def previous_path(published: Path) -> Path:
    """A second name the published file gets for the moment of the rename."""
    return published.with_name(f".{published.name}.previous")


def supported() -> bool:
    """Whether this system can tell that nobody has a file open (Linux: OFD locks, /proc)."""
    return hasattr(fcntl, "F_OFD_SETLK") and (_PROC / "self" / "fd").is_dir()


def open_if_unused(path: Path) -> int | None:
    """Open the standby ``path`` read-write with an exclusive lock, if nobody holds it.

    Returns:
        A descriptor locked with an open file description lock (released when it is
        closed), or ``None``: no standby, not a regular file, someone has it open, or this
        system cannot tell (no ``F_OFD_SETLK`` or no ``/proc``).
    """
    if not supported():
        return None
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    if _open_anywhere(info.st_dev, info.st_ino):
        log.info("the standby %s is open in a process: publishing by a full copy", path)
        return None
    fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW)
    try:
        fcntl.fcntl(fd, fcntl.F_OFD_SETLK, struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0))
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            log.info("the standby %s is locked by a reader: publishing by a full copy", path)
            return None
        raise
    return fd


def _open_anywhere(dev: int, ino: int) -> bool:
    """Whether a process visible in ``/proc`` has a descriptor of the file ``(dev, ino)``."""
    for proc in os.scandir(_PROC):
        if not proc.name.isdigit():
            continue
        try:
            fds = os.scandir(f"{proc.path}/fd")
        except OSError:
            continue  # gone, or another user's process (DuckDB's lock covers those)
        with fds:
            for entry in fds:
                try:
                    info = os.stat(entry.path)
                except OSError:
                    continue
                if info.st_ino == ino and info.st_dev == dev:
                    return True
    return False


def rotate(new_file: Path, published: Path, *, keep: bool) -> None:
    """Rename ``new_file`` over ``published``; the file it replaces becomes the standby.

    Readers see one atomic rename. A process killed between the steps leaves at worst no
    standby (the next publish copies) or a stale ``.previous`` name (removed here next time).

    Args:
        new_file: The complete, durable new content (a temp copy or the synced standby).
        published: The real published path (a symbolic link already resolved).
        keep: Keep the replaced file as the standby; ``False`` removes any standby (after an
            erasure, no earlier copy of the warehouse should stay on disk).
    """
    previous = previous_path(published)
    previous.unlink(missing_ok=True)
    linked = False
    if keep and published.is_file():
        try:
            os.link(published, previous)
            linked = True
        except OSError as exc:  # no hard links here: publish without a standby
            log.info("no standby kept beside %s: %s", published, exc.strerror or exc)
    os.replace(new_file, published)
    if linked:
        os.replace(previous, standby_path(published))
    else:
        drop(published)


def drop(published: Path) -> None:
    """Remove the standby of ``published`` (and a stale ``.previous``), if any."""
    for name in (standby_path(published), previous_path(published)):
        with contextlib.suppress(FileNotFoundError):
            name.unlink()

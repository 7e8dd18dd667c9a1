"""Permissions of the files a run creates: owner and group only, unless configured.

The working and published warehouse files hold hashed personal data (and whatever a
quarantined record carried). DuckDB creates the working file and its WAL with the process
umask, so a run narrows the umask to ``NORCE_FILE_MODE`` while it works
(:func:`creation_umask`); publishing gives a new published file that mode and keeps the mode
of the file it replaces (:func:`published_mode`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["creation_umask", "current_umask", "published_mode"]


def current_umask() -> int:
    """The process umask (read from ``/proc`` where possible: setting it is not atomic)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def _mask_for(mode: int) -> int:
    """The umask bits that keep new files within ``mode``; directories keep the search bit
    wherever ``mode`` grants read, so a group that may read the files can reach them."""
    allowed = mode | ((mode & 0o444) >> 2)
    return 0o077 & ~allowed


@contextmanager
def creation_umask(mode: int) -> Iterator[None]:
    """Narrow the process umask so files created inside get at most ``mode``.

    Never widens it: a umask of 077 stays 077 under the default 0640. Restored on exit.
    """
    old = os.umask(0o077)
    os.umask(old | _mask_for(mode))
    try:
        yield
    finally:
        os.umask(old)


def published_mode(target: Path, mode: int) -> int:
    """The mode a newly published ``target`` gets: the replaced file's if there is one,
    else ``mode`` less the umask."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        return mode & ~current_umask() & 0o777

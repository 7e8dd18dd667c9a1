"""Copy one open file into another as cheaply as the filesystem allows.

Publishing needs a new inode holding the whole working file (the rename that follows is
what readers see). :func:`clone_or_copy` asks, in order:

1. for a reflink (``FICLONE``): Btrfs, XFS with reflink and ZFS 2.2+ share the extents, so
   the copy costs the same at 10 MB or 10 GB and the published file takes no extra space
   until the working file changes;
2. for ``copy_file_range``: the kernel copies without a user-space buffer (on NFS 4.2 and
   some others the server does it);
3. for a plain read/write loop, which every filesystem supports.

Each step that the filesystem refuses falls through to the next; any other error (disk
full, I/O error) is raised.

:func:`sync_changed` is the other way to get a file with the working file's content: it
brings an existing, older copy up to date by writing only the blocks that differ, so a
publish writes what the run changed rather than the whole file.
"""

from __future__ import annotations

import errno
import fcntl
import os

__all__ = [
    "clone_or_copy",
    "copy_whole",
    "kernel_copy",
    "python_copy",
    "reflink",
    "sync_changed",
    "try_reflink",
]

FICLONE = 0x40049409
"""``_IOW(0x94, 9, int)`` from ``linux/fs.h``: clone all of one file into another."""

_CHUNK = 8 * 1024 * 1024
"""Bytes per read/write or ``copy_file_range`` call."""
_BLOCK = 256 * 1024
"""Unit :func:`sync_changed` compares and writes: DuckDB's default block size, so a block
DuckDB rewrote is written once and an untouched one not at all."""

_UNSUPPORTED = frozenset(
    {
        errno.EOPNOTSUPP,
        errno.ENOTTY,  # not a filesystem that knows the ioctl
        errno.EXDEV,  # across filesystems
        errno.EINVAL,  # this filesystem or file cannot
        errno.ENOSYS,  # this kernel cannot
        errno.EBADF,  # copy_file_range on some special files
        errno.EPERM,
    }
)
"""Errors that mean "not here", not "something broke": try the next method."""


def reflink(src: int, dst: int) -> None:
    """Clone the whole of ``src`` into the empty ``dst`` (both open file descriptors).

    Raises:
        OSError: The filesystem cannot (see :data:`_UNSUPPORTED`) or the clone failed.
    """
    fcntl.ioctl(dst, FICLONE, src)


def try_reflink(src: int, dst: int) -> bool:
    """Clone ``src`` into the empty ``dst`` if the filesystem can; ``False`` if it refuses.

    Raises:
        OSError: The clone failed for another reason (disk full, I/O error).
    """
    try:
        reflink(src, dst)
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        return False
    return True


def kernel_copy(src: int, dst: int) -> None:
    """Copy all of ``src`` into ``dst`` with ``copy_file_range`` from offset 0.

    Raises:
        OSError: The kernel or filesystem cannot, or the copy failed.
    """
    offset = 0
    size = os.fstat(src).st_size
    while offset < size:
        done = os.copy_file_range(src, dst, min(_CHUNK, size - offset), offset, offset)
        if done == 0:  # the source shrank under us; what is there is copied
            break
        offset += done


def python_copy(src: int, dst: int) -> None:
    """Copy all of ``src`` into ``dst`` through a user-space buffer."""
    os.lseek(src, 0, os.SEEK_SET)
    while chunk := os.read(src, _CHUNK):
        view = memoryview(chunk)
        while view:
            view = view[os.write(dst, view) :]


def copy_whole(src: int, dst: int) -> str:
    """Fill the empty ``dst`` with a whole copy of ``src``: in the kernel where it can.

    Returns:
        The method used: ``kernel`` or ``python``.

    Raises:
        OSError: The copy failed for a reason other than an unsupported method.
    """
    try:
        kernel_copy(src, dst)
        return "kernel"
    except OSError as exc:
        if exc.errno not in _UNSUPPORTED:
            raise
        # a partial kernel copy may have written some bytes: start over from scratch
        os.ftruncate(dst, 0)
        os.lseek(dst, 0, os.SEEK_SET)
    python_copy(src, dst)
    return "python"


def clone_or_copy(src: int, dst: int) -> str:
    """Fill the empty ``dst`` with the content of ``src`` by the cheapest method that works.

    Returns:
        The method used: ``reflink``, ``kernel`` or ``python``.

    Raises:
        OSError: The copy failed for a reason other than an unsupported method.
    """
    if try_reflink(src, dst):
        return "reflink"
    return copy_whole(src, dst)


def sync_changed(src: int, dst: int) -> int:
    """Make ``dst`` byte-for-byte equal to ``src``, writing only the blocks that differ.

    Both files are read in 8 MiB chunks (from the page cache after a run) and compared;
    each differing 256 KiB block of ``dst`` is overwritten, then ``dst`` is cut or extended
    to ``src``'s size. Nothing is assumed about ``dst``'s content: a sync interrupted
    half-way leaves a mixed file that the next sync repairs the same way.

    Returns:
        Bytes written to ``dst``.

    Raises:
        OSError: A read or write failed (disk full, I/O error).
    """
    size = os.fstat(src).st_size
    old_size = os.fstat(dst).st_size
    new, old = bytearray(_CHUNK), bytearray(_CHUNK)
    new_view, old_view = memoryview(new), memoryview(old)
    written = offset = 0
    while offset < size:
        got = os.preadv(src, [new_view[: min(_CHUNK, size - offset)]], offset)
        if got == 0:  # the source shrank under us; what is there is synced
            size = offset
            break
        had = os.preadv(dst, [old_view[:got]], offset) if offset < old_size else 0
        # bytearray equality is one memcmp; only a differing chunk is looked at per block
        same = got == had == _CHUNK and new == old
        if not same:
            for start in range(0, got, _BLOCK):
                end = min(start + _BLOCK, got)
                if end > had or new[start:end] != old[start:end]:
                    written += _write_all(dst, new_view[start:end], offset + start)
        offset += got
    os.ftruncate(dst, size)
    return written


def _write_all(fd: int, data: memoryview, offset: int) -> int:
    """``pwrite`` all of ``data`` at ``offset`` (a short write is continued, not lost)."""
    done = 0
    while done < len(data):
        done += os.pwrite(fd, data[done:], offset + done)
    return done

"""Keys are facts: the rules a decoded page must pass before its rows may reach raw.

Rows are merged on their key and child rows are replaced with their parent, so raw stays
correct only if every page keeps three rules:

* **no row without its key** -- a null key matches nothing when merged, so each load would
  add another copy (:func:`null_key_rows`);
* **no key twice** -- both copies would be inserted (:func:`repeated_key_rows`);
* **a child row belongs to the parent it is listed under** -- its parent-key columns equal
  the parent's key, else it is stored as an orphan and its parent shows without it
  (:func:`stray_child_rows`; the decoder first gives a child that omits its parent key the
  key of the parent it is listed under).

The documented rule for a page that breaks them (:func:`check_page`): a record with a null
key, a child without its key, or a child naming another parent is set aside whole (the
run quarantines it, with its children, and loads the rest of the page); of a record sent
twice, the last copy in page order is loaded and earlier copies are set aside; of a child
row sent twice, the last copy is kept and the repeat is reported.

Each rule is a small function over Arrow tables returning row positions, so a vectorised
decoder can reuse it as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "ChildRows",
    "PageVerdict",
    "check_page",
    "null_key_rows",
    "repeated_key_rows",
    "stray_child_rows",
]


def null_key_rows(table: pa.Table, key: Sequence[str]) -> list[int]:
    """Positions of rows with a null in any key column."""
    if not key or table.num_rows == 0:
        return []
    missing = pc.is_null(table.column(key[0]))
    for name in key[1:]:
        missing = pc.or_(missing, pc.is_null(table.column(name)))
    return np.flatnonzero(missing.to_numpy(zero_copy_only=False)).tolist()


def repeated_key_rows(table: pa.Table, key: Sequence[str]) -> list[int]:
    """Positions of rows whose key appears again later in ``table`` (the last copy of
    each key is not listed; rows with a null key are left to :func:`null_key_rows`)."""
    if not key or table.num_rows < 2:
        return []
    keyed = table.select(list(key)).append_column(
        "__row", pa.array(np.arange(table.num_rows, dtype=np.int64))
    )
    last = keyed.group_by(list(key), use_threads=False).aggregate([("__row", "max")])
    if last.num_rows == table.num_rows:
        return []
    keep = np.zeros(table.num_rows, dtype=bool)
    keep[last.column("__row_max").to_numpy()] = True
    nulls = set(null_key_rows(table, key))
    return [int(i) for i in np.flatnonzero(~keep) if int(i) not in nulls]


def stray_child_rows(
    child: pa.Table,
    parent_key: Sequence[str],
    parent_of: np.ndarray,
    parents: pa.Table,
    key: Sequence[str],
) -> list[int]:
    """Positions of child rows whose parent-key columns differ from their parent's key.

    Args:
        child: The child rows of a page.
        parent_key: Child columns holding the parent's key (same order as ``key``).
        parent_of: For each child row, the position of the parent row it was listed under.
        parents: The page's parent rows.
        key: The parents' key columns.
    """
    if child.num_rows == 0:
        return []
    index = pa.array(parent_of, pa.int64())
    stray = np.zeros(child.num_rows, dtype=bool)
    for child_column, parent_column in zip(parent_key, key, strict=True):
        own = child.column(child_column)
        expected = parents.column(parent_column).take(index)
        if own.type != expected.type:
            own, expected = own.cast(pa.string()), expected.cast(pa.string())
        differs = pc.fill_null(pc.not_equal(own, expected), True)
        stray |= differs.to_numpy(zero_copy_only=False)
    return np.flatnonzero(stray).tolist()


@dataclass(frozen=True)
class ChildRows:
    """One child table of a page, with what :func:`check_page` needs to judge it."""

    name: str
    """Raw table name (``order_items``)."""
    rows: pa.Table
    """The decoded child rows."""
    key: tuple[str, ...]
    """The child table's key."""
    parent_key: tuple[str, ...]
    """Its columns holding the parent's key."""
    own_parent_key: tuple[str, ...]
    """Those of ``parent_key`` the source sends itself (the rest are copied from the
    parent, so they cannot disagree)."""
    parent_of: np.ndarray
    """Position of each row's parent in the page's main table."""


@dataclass
class PageVerdict:
    """What :func:`check_page` found.

    Attributes:
        set_aside: Main-table row position -> why the record (with its children) is not
            loaded.
        dropped_children: Child table -> positions of repeated child rows not loaded.
        notes: One line per repeat of a child row, for the run's warnings.
    """

    set_aside: dict[int, str] = field(default_factory=dict)
    dropped_children: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when every row may be loaded as decoded."""
        return not self.set_aside and not any(self.dropped_children.values())


def check_page(main: pa.Table, key: Sequence[str], children: Sequence[ChildRows]) -> PageVerdict:
    """Apply the key rules to one decoded page (see the module docstring)."""
    verdict = PageVerdict()
    for i in null_key_rows(main, key):
        verdict.set_aside[i] = f"no key: {_names(key)} is null"
    for i in repeated_key_rows(main, key):
        verdict.set_aside.setdefault(
            i, f"duplicate key {_key_text(main, key, i)} in one page; the last copy was loaded"
        )
    for child in children:
        _check_child(verdict, main, key, child)
    return verdict


def _check_child(verdict: PageVerdict, main: pa.Table, key: Sequence[str], c: ChildRows) -> None:
    for i in null_key_rows(c.rows, c.key):
        verdict.set_aside.setdefault(
            int(c.parent_of[i]), f"a {c.name} row has no key: {_names(c.key)} is null"
        )
    if c.own_parent_key:
        positions = [c.parent_key.index(name) for name in c.own_parent_key]
        parent_columns = [key[p] for p in positions]
        for i in stray_child_rows(c.rows, c.own_parent_key, c.parent_of, main, parent_columns):
            parent = int(c.parent_of[i])
            verdict.set_aside.setdefault(
                parent,
                f"a {c.name} row names parent {_key_text(c.rows, c.own_parent_key, i)}, not "
                f"this record's key {_key_text(main, parent_columns, parent)}",
            )
    repeats = repeated_key_rows(c.rows, c.key)
    if repeats:
        verdict.dropped_children[c.name] = repeats
        shown = ", ".join(_key_text(c.rows, c.key, i) for i in repeats[:3])
        verdict.notes.append(
            f"{len(repeats)} {c.name} row(s) sent twice in one page (key {shown}"
            f"{', ...' if len(repeats) > 3 else ''}); the last copy was loaded"
        )


def _names(columns: Sequence[str]) -> str:
    return ", ".join(columns)


def _key_text(table: pa.Table, columns: Sequence[str], row: int) -> str:
    values = [table.column(name)[row].as_py() for name in columns]
    return str(values[0]) if len(values) == 1 else str(values)

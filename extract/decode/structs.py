"""``msgspec`` Struct types generated for a load plan, and reading columns out of them.

One Struct type per JSON object level -- the row, each flattened navigation, each expanded
collection -- with exactly the planned properties, so the parser materialises nothing else
and skips unknown properties. Decoded rows are then transposed into columns in C.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from msgspec.structs import astuple

from extract.decode.columns import Conversion
from extract.schema.plan import PARENT, EntityPlan

__all__ = ["Path", "StructNode", "envelope", "plan_structs"]

Path = tuple[str, ...]
"""A column's JSON path within a row: ``("Id",)`` or ``("Buyer", "City")``."""


@dataclass(slots=True)
class StructNode:
    """A Struct type for one JSON object level and where each column sits in it.

    Fields are named ``f0, f1, ...`` and renamed to the JSON names, so any property name
    works. ``index`` maps a column source path to its field position; ``single`` and
    ``many`` map a navigation to its field position and the nested node.
    """

    struct: type[msgspec.Struct]
    field_count: int
    index: dict[Path, int]
    defaults: dict[Path, Any]
    single: dict[str, tuple[int, StructNode]] = field(default_factory=dict)
    many: dict[str, tuple[int, StructNode]] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        name: str,
        scalars: dict[Path, Conversion],
        single: dict[str, StructNode],
        many: dict[str, StructNode],
    ) -> StructNode:
        """Generate the Struct type for one object level.

        Args:
            name: Type name (for messages and debugging).
            scalars: Column path -> conversion; the last path element is the JSON name.
            single: Single-valued navigation -> its node (a nested Struct or null).
            many: Collection navigation -> its node (a list of nested Structs or null).
        """
        fields: list[tuple[str, Any, Any]] = []
        rename: dict[str, str] = {}

        def add(json_name: str, annotation: Any, default: Any) -> int:
            attr = f"f{len(fields)}"
            fields.append((attr, annotation, default))
            rename[attr] = json_name
            return len(fields) - 1

        index = {p: add(p[-1], c.annotation, c.default) for p, c in scalars.items()}
        defaults = {p: c.default for p, c in scalars.items()}
        single_at = {nav: (add(nav, n.struct | None, None), n) for nav, n in single.items()}
        many_at = {nav: (add(nav, list[n.struct] | None, None), n) for nav, n in many.items()}  # type: ignore[name-defined]
        # gc=False: these objects never form cycles, and untracked objects keep the
        # cyclic GC from rescanning a page's worth of Structs while it is decoded.
        struct = msgspec.defstruct(name, fields, rename=rename, gc=False)
        return cls(struct, len(fields), index, defaults, single_at, many_at)

    def transpose(self, rows: Sequence[Any]) -> list[Sequence[Any]]:
        """One sequence per Struct field over ``rows``, in field order."""
        if not rows:
            return [() for _ in range(self.field_count)]
        # astuple + zip(*...) transposes rows into columns in C (~20 ns a value), several
        # times faster than a Python loop per column.
        return list(zip(*map(astuple, rows), strict=True))

    def columns_with_nulls(self, navs: Sequence[Any]) -> dict[Path, Sequence[Any]]:
        """Columns of a single-valued navigation; a null navigation reads as defaults."""
        present = [n for n in navs if n is not None]
        fields = self.transpose(present)
        if len(present) == len(navs):
            return {path: fields[i] for path, i in self.index.items()}
        out: dict[Path, Sequence[Any]] = {}
        for path, i in self.index.items():
            fill = self.defaults[path]
            values = iter(fields[i])
            out[path] = [fill if n is None else next(values) for n in navs]
        return out


def plan_structs(
    plan: EntityPlan, conversions: Mapping[str, Mapping[str, Conversion]]
) -> StructNode:
    """The Struct tree for a plan: the row, its flattened navigations, its collections.

    Args:
        plan: The load plan.
        conversions: Table name -> column name -> how the column is decoded.
    """
    main = plan.main
    main_conversions = conversions[main.table]
    scalars: dict[Path, Conversion] = {}
    flat: dict[str, dict[Path, Conversion]] = {}
    for column in main.columns:
        conversion = main_conversions[column.name]
        if len(column.source) == 1:
            scalars[column.source] = conversion
        else:
            flat.setdefault(column.source[0], {})[column.source] = conversion
    single = {
        nav: StructNode.build(f"{main.table}_{nav}", fields, {}, {}) for nav, fields in flat.items()
    }
    many: dict[str, StructNode] = {}
    for child in plan.tables.values():
        if child.navigation is not None:
            fields = {
                c.source: conversions[child.table][c.name]
                for c in child.columns
                if c.source[0] != PARENT
            }
            many[child.navigation] = StructNode.build(child.table, fields, {}, {})
    return StructNode.build(main.table, scalars, single, many)


def envelope(row: type[msgspec.Struct]) -> type[msgspec.Struct]:
    """``{"value": [...], "@odata.nextLink": ..., "@odata.count": ...}``; ``value`` is
    required, so a body without it is rejected."""
    return msgspec.defstruct(
        "Envelope",
        [
            ("value", list[row]),  # type: ignore[valid-type]
            ("next_link", str | None, None),
            ("count", int | None, None),
        ],
        rename={"next_link": "@odata.nextLink", "count": "@odata.count"},
        gc=False,
    )

"""The simulator's data: one polars frame per entity type, shaped by the live schema.

Frames are immutable values: a change builds a new frame and swaps it in under
:attr:`Store.lock`, so a reader that took a frame keeps a consistent snapshot while it
builds a page. :attr:`Store.version` grows on every data or schema change; readers key their
caches on it.

Two layers keep schema drift cheap and lossless:

* the *base* frame is what the generator and the mutations write. It may hold columns the
  schema no longer declares (a removed property keeps its data, as the tenant's database
  would) and lacks columns added later;
* :meth:`Store.frame` is the *view*: exactly the schema's properties, in schema order, with
  the polars dtype of each property's current ``Edm`` type (missing columns are filled with
  the property's default). Views are cached per base version and schema version.

Some types are *derived* (invoices, delivery notes, Reporting aggregates): a function
computes them from base frames, cached until one of the frames it depends on changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import polars as pl

from simulator.clock import Clock
from simulator.schema import EntityType, Property, Schema

TypeRef = tuple[str, str]
"""``(namespace, type name)``, e.g. ``("Orders", "OrderItem")``."""

Derivation = Callable[["Store"], pl.DataFrame]

_SIMPLE_DTYPES: dict[str, pl.DataType] = {
    "Edm.Int32": pl.Int32(),
    "Edm.Int64": pl.Int64(),
    "Edm.Boolean": pl.Boolean(),
    "Edm.String": pl.String(),
    "Edm.Guid": pl.String(),
    "Edm.DateTimeOffset": pl.Datetime("us", "UTC"),
    "Edm.Double": pl.Float64(),
    "Edm.Date": pl.Date(),
}

# Decimal properties without facets (e.g. after a drift to Edm.Decimal) get the widest
# decimal a client would map them to.
_UNFACETED_DECIMAL = (38, 10)


def polars_dtype(prop: Property) -> pl.DataType:
    """The polars dtype a column of ``prop`` has in :meth:`Store.frame`.

    Unknown ``Edm`` types are served as strings.
    """
    if prop.edm_type == "Edm.Decimal":
        if prop.precision is None:
            precision, scale = _UNFACETED_DECIMAL
        else:
            precision, scale = prop.precision, prop.scale or 0
        return pl.Decimal(precision, scale)
    return _SIMPLE_DTYPES.get(prop.edm_type, pl.String())


def frame_schema(entity_type: EntityType) -> dict[str, pl.DataType]:
    """Column name -> dtype of an entity type's frame, in schema order."""
    return {p.name: polars_dtype(p) for p in entity_type.properties}


def empty_frame(entity_type: EntityType) -> pl.DataFrame:
    """A zero-row frame with the type's columns and dtypes."""
    return pl.DataFrame(schema=frame_schema(entity_type))


def _cast(name: str, source: pl.DataType, target: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if target == pl.String() and isinstance(source, pl.Datetime):
        # A timestamp served as text after a type drift: keep it ISO 8601.
        return col.dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
    # Non-strict: a value that does not fit the new type becomes null, as a database
    # column conversion with TRY_CAST would.
    return col.cast(target, strict=False)


def conform(
    df: pl.DataFrame, entity_type: EntityType, defaults: dict[str, Any] | None = None
) -> pl.DataFrame:
    """Project ``df`` onto the type's properties: schema order, exact dtypes.

    Args:
        df: Any frame holding (some of) the type's columns; extra columns are dropped.
        entity_type: The type whose properties define the result.
        defaults: Value for properties ``df`` lacks (missing entries mean null).

    Returns:
        A frame with one column per property, in schema order.
    """
    defaults = defaults or {}
    present = df.schema
    exprs: list[pl.Expr] = []
    for prop in entity_type.properties:
        dtype = polars_dtype(prop)
        if prop.name in present:
            source = present[prop.name]
            expr = pl.col(prop.name) if source == dtype else _cast(prop.name, source, dtype)
        else:
            expr = pl.lit(defaults.get(prop.name), dtype=dtype)
        exprs.append(expr.alias(prop.name))
    if not entity_type.key or any(k not in present for k in entity_type.key):
        raise ValueError(
            f"{entity_type.namespace}.{entity_type.name}: frame lacks key {entity_type.key}"
        )
    return df.select(exprs)


def sort_by_key(df: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    """``df`` sorted by ``key`` (a no-op copy-free check when already sorted)."""
    if len(key) == 1 and df.get_column(key[0]).is_sorted():
        return df
    return df.sort(list(key))


@dataclass(slots=True)
class _Derived:
    build: Derivation
    depends_on: tuple[TypeRef, ...]


class Store:
    """All rows the simulator serves.

    Attributes:
        schema: The live schema (shared with the server; drift changes it in place).
        clock: The simulated clock used for ``Created``/``Updated`` stamps.
        lock: Held by writers while swapping frames and by readers while building a page.
    """

    def __init__(self, schema: Schema, clock: Clock) -> None:
        self.schema = schema
        self.clock = clock
        self.lock = threading.RLock()
        self._data_version = 0
        self._base: dict[TypeRef, pl.DataFrame] = {}
        self._base_version: dict[TypeRef, int] = {}
        self._derived: dict[TypeRef, _Derived] = {}
        self._derived_cache: dict[TypeRef, tuple[tuple[int, ...], pl.DataFrame]] = {}
        self._views: dict[TypeRef, tuple[tuple[int, ...], pl.DataFrame]] = {}
        self._defaults: dict[TypeRef, dict[str, Any]] = {}

    # -- versions ---------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Grows by one on every data change and every schema change."""
        # The schema counts its own drift, so a change made on the schema directly also
        # invalidates readers' caches.
        return self._data_version + self.schema.version

    def bump(self) -> int:
        """Record a change that is not a frame swap (e.g. a new column default)."""
        with self.lock:
            self._data_version += 1
            return self.version

    # -- reading ----------------------------------------------------------------------
    def frame(self, namespace: str, type_name: str) -> pl.DataFrame:
        """All current rows of an entity type, one column per schema property.

        Columns follow the schema order with the dtypes of :func:`polars_dtype`; rows are
        sorted by the type's key as served (a key retyped to a string sorts as text).
        Types without data give an empty frame; derived types (invoices, delivery notes,
        Reporting) are computed from the current orders.

        Raises:
            KeyError: If the namespace or type is unknown.
        """
        ref = (namespace, type_name)
        with self.lock:
            entity_type = self.schema.entity_type(namespace, type_name)
            base = self._base_for(ref)
            stamp = (self._source_stamp(ref), self.schema.version)
            cached = self._views.get(ref)
            if cached is not None and cached[0] == stamp:
                return cached[1]
            view = conform(base, entity_type, self._defaults.get(ref))
            if any(base.schema.get(k) != view.schema[k] for k in entity_type.key):
                # a key served in another type than stored (string ids) is served in the
                # order of its served type: '10' sorts before '9'
                view = view.sort(list(entity_type.key), maintain_order=True)
            self._views[ref] = (stamp, view)
            return view

    def base(self, namespace: str, type_name: str) -> pl.DataFrame:
        """The stored frame behind :meth:`frame` (may hold columns the schema dropped).

        Mutations read and rewrite this frame so dropped properties keep their data.
        """
        with self.lock:
            self.schema.entity_type(namespace, type_name)
            return self._base_for((namespace, type_name))

    def row_counts(self) -> dict[str, int]:
        """Rows per non-empty type, keyed ``"Namespace.Type"`` (derived types included)."""
        with self.lock:
            refs = sorted(set(self._base) | set(self._derived))
            counts = {f"{ns}.{name}": self._base_for((ns, name)).height for ns, name in refs}
        return {name: n for name, n in counts.items() if n}

    # -- writing ----------------------------------------------------------------------
    def set_frame(self, namespace: str, type_name: str, df: pl.DataFrame) -> None:
        """Replace all rows of a stored type; bumps :attr:`version`.

        The frame is sorted by the type's key if it is not already. Columns the schema does
        not declare are kept in the base frame (and hidden by :meth:`frame`).

        Raises:
            KeyError: If the type is unknown.
            ValueError: If the type is derived, or ``df`` lacks a key column.
        """
        ref = (namespace, type_name)
        with self.lock:
            entity_type = self.schema.entity_type(namespace, type_name)
            if ref in self._derived:
                raise ValueError(f"{namespace}.{type_name} is derived from other data")
            missing = [k for k in entity_type.key if k not in df.columns]
            if missing:
                raise ValueError(f"{namespace}.{type_name}: frame lacks key {missing}")
            self._base[ref] = sort_by_key(df, entity_type.key)
            self._data_version += 1
            self._base_version[ref] = self._data_version
            # Drop caches built on the old frame now, so its memory can be released before
            # the next read (at scale 20 an orders frame is ~1 GB).
            self._views.pop(ref, None)
            for other, derived in self._derived.items():
                if ref in derived.depends_on:
                    self._derived_cache.pop(other, None)
                    self._views.pop(other, None)

    def set_default(self, namespace: str, type_name: str, name: str, value: Any) -> None:
        """Value :meth:`frame` shows for ``name`` where the base frame has no column."""
        with self.lock:
            self._defaults.setdefault((namespace, type_name), {})[name] = value
            self._views.pop((namespace, type_name), None)
            self._data_version += 1

    def register_derived(
        self,
        namespace: str,
        type_name: str,
        build: Derivation,
        depends_on: Iterable[TypeRef],
    ) -> None:
        """Declare a type computed by ``build(store)`` from the ``depends_on`` types.

        The result is cached until one of those types changes (or the schema does).
        """
        with self.lock:
            self.schema.entity_type(namespace, type_name)
            self._derived[(namespace, type_name)] = _Derived(build, tuple(depends_on))
            self._base.pop((namespace, type_name), None)

    # -- internals --------------------------------------------------------------------
    def _source_stamp(self, ref: TypeRef) -> int:
        derived = self._derived.get(ref)
        if derived is None:
            return self._base_version.get(ref, 0)
        return max((self._source_stamp(dep) for dep in derived.depends_on), default=0)

    def _base_for(self, ref: TypeRef) -> pl.DataFrame:
        derived = self._derived.get(ref)
        if derived is None:
            stored = self._base.get(ref)
            if stored is None:
                return empty_frame(self.schema.entity_type(*ref))
            return stored
        stamp = (self._source_stamp(ref), self.schema.version)
        cached = self._derived_cache.get(ref)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        key = self.schema.entity_type(*ref).key
        df = sort_by_key(derived.build(self), key)
        self._derived_cache[ref] = (stamp, df)
        return df


__all__ = [
    "Store",
    "TypeRef",
    "conform",
    "empty_frame",
    "frame_schema",
    "polars_dtype",
    "sort_by_key",
]

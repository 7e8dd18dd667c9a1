"""Reconcile a catalog entry with the service's ``$metadata`` into a load plan.

The catalog (:mod:`extract.schema.catalog`) says what we would like; ``$metadata`` says what this
tenant serves. :func:`reconcile` keeps what both agree on, applies the privacy policy
(dropped fields are never requested), and reports every difference as a one-line warning
instead of failing -- except a missing key, without which rows cannot be merged.

The plan (:mod:`extract.schema.plan`, re-exported here) fixes the raw-table columns (name,
JSON path, DuckDB and Arrow type) for the main table, one child table per collection
expand, and flattened ``<prefix><Property>`` columns for single-valued expands; the
request options (``$select``, ``$expand``) follow from it.
"""

from __future__ import annotations

from collections.abc import Mapping

import pyarrow as pa

from extract.errors import DataContractError
from extract.schema.catalog import ChildSpec, EntitySpec, FlattenSpec, PiiKind
from extract.schema.metadata import EdmEntityType, EdmProperty, EdmService
from extract.schema.plan import (
    LOADER_COLUMNS,
    PARENT,
    RENAMED_SUFFIX,
    Column,
    EntityPlan,
    TablePlan,
)
from extract.schema.privacy import PrivacyPolicy
from extract.schema.types import arrow_type, duckdb_type, is_supported

__all__ = ["PARENT", "Column", "EntityPlan", "TablePlan", "reconcile"]


def reconcile(spec: EntitySpec, service: EdmService, privacy: PrivacyPolicy) -> EntityPlan:
    """Build the load plan for ``spec`` against the service's ``$metadata``.

    Args:
        spec: The catalog entry.
        service: The namespace's parsed ``$metadata``.
        privacy: Decides drop/hash/keep per personal column.

    Returns:
        The plan. Catalog fields, expands and cursor fields the service does not declare
        are left out and listed in ``warnings``; declared properties the catalog does not
        mention are loaded.

    Raises:
        DataContractError: The set or its key (or a child table's key) is not declared,
            a key/cursor column is configured to be dropped or hashed, or two columns
            would get the same name.
    """
    return _Reconciler(spec, service, privacy).plan()


class _Reconciler:
    """Holds the inputs and the warning list while one plan is built."""

    def __init__(self, spec: EntitySpec, service: EdmService, privacy: PrivacyPolicy) -> None:
        self.spec = spec
        self.service = service
        self.privacy = privacy
        self.warnings: list[str] = []
        self.entity_type = service.set_type(spec.entity_set)

    def warn(self, text: str) -> None:
        self.warnings.append(f"{self.spec.path}: {text}")

    # -- the whole plan -------------------------------------------------------------
    def plan(self) -> EntityPlan:
        spec, et = self.spec, self.entity_type
        self.require_key(et, spec.key, spec.table)
        cursor = self.declared_cursor()
        forgotten = self.optional_field(spec.forgotten_field, "GDPR flag", "not purged")
        backfill = self.optional_field(spec.backfill_field, "backfill field", "unavailable")
        # Fields the loader itself relies on are requested even if the catalog's select
        # leaves them out, and must reach the table unchanged.
        structural = tuple(
            dict.fromkeys((*spec.key, *cursor, *(f for f in (forgotten, backfill) if f)))
        )
        main_props = self.selected(et, spec.select, structural, "field")
        main_columns, main_select = self.columns(
            main_props, spec.table, spec.personal, structural=structural
        )
        children: dict[str, TablePlan] = {}
        expands: list[str] = []
        for child in spec.children:
            built = self.child(child)
            if built is not None:
                children[child.table], nested = built
                expands.append(nested)
        flat_columns: list[Column] = []
        for flat in spec.flatten:
            built_flat = self.flatten(flat)
            if built_flat is not None:
                columns, nested = built_flat
                flat_columns.extend(columns)
                expands.append(nested)
        main = TablePlan(
            spec.table, spec.key, None, None, self.unique(spec.table, main_columns + flat_columns)
        )
        application_filter = spec.scope == "application" and et.prop("ApplicationId") is not None
        if spec.scope == "application" and not application_filter:
            self.warn("ApplicationId not declared by the service; loaded without the filter")
        return EntityPlan(
            spec=spec,
            entity_type=et,
            select=",".join(main_select),
            expand=",".join(expands) or None,
            tables={spec.table: main, **children},
            cursor=cursor,
            forgotten_field=forgotten,
            backfill_field=backfill,
            application_filter=application_filter,
            warnings=tuple(self.warnings),
        )

    # -- pieces -----------------------------------------------------------------------
    def require_key(self, et: EdmEntityType, key: tuple[str, ...], table: str) -> None:
        missing = [k for k in key if et.prop(k) is None]
        if missing:
            raise DataContractError(
                f"{self.spec.path}: key {', '.join(missing)} of raw.{table} is not declared "
                f"by the service (type {et.name} declares key {', '.join(et.key) or 'none'})",
                hint="the tenant's $metadata changed incompatibly; fix the catalog key",
                entity=self.spec.path,
            )

    def declared_cursor(self) -> tuple[str, ...]:
        declared = tuple(f for f in self.spec.cursor if self.entity_type.prop(f) is not None)
        missing = [f for f in self.spec.cursor if f not in declared]
        if missing and not declared:
            self.warn(
                f"cursor field {', '.join(missing)} not declared by the service; "
                "no cursor left, falling back to full loads"
            )
        elif missing:
            self.warn(f"cursor field {', '.join(missing)} not declared by the service; skipped")
        return declared

    def optional_field(self, name: str | None, what: str, consequence: str) -> str | None:
        if name is None:
            return None
        if self.entity_type.prop(name) is None:
            self.warn(f"{what} {name} not declared by the service; {consequence}")
            return None
        return name

    def selected(
        self,
        et: EdmEntityType,
        select: tuple[str, ...] | None,
        required: tuple[str, ...],
        label: str,
    ) -> list[EdmProperty]:
        """Declared properties named by ``select`` (all if ``None``) plus ``required``, in
        declaration order (the raw table mirrors the source)."""
        if select is None:
            return list(et.properties)
        for name in select:
            if et.prop(name) is None:
                self.warn(f"{label} {name} not declared by the service; skipped")
        wanted = set(select) | set(required)
        return [p for p in et.properties if p.name in wanted]

    def columns(
        self,
        props: list[EdmProperty],
        table: str,
        personal: Mapping[str, PiiKind],
        *,
        path: tuple[str, ...] = (),
        prefix: str = "",
        structural: tuple[str, ...] = (),
    ) -> tuple[list[Column], list[str]]:
        """Columns for ``props`` after the privacy policy, and the property names to
        request (drops excluded). ``path``/``prefix`` place flattened navigation columns."""
        columns: list[Column] = []
        requested: list[str] = []
        for prop in props:
            name = f"{prefix}{prop.name}"
            action = self.privacy.action(table, name, personal.get(prop.name))
            if prop.name in structural and action != "keep":
                raise DataContractError(
                    f"{self.spec.path}: {table}.{name} is a key or cursor column and cannot "
                    f"be {'dropped' if action == 'drop' else 'hashed'}",
                    hint=f"remove the privacy override for {table}.{name}",
                    entity=self.spec.path,
                )
            if action == "drop":
                continue
            requested.append(prop.name)
            if not is_supported(prop.edm_type):
                self.warn(f"{name} has unsupported type {prop.edm_type}; loaded as VARCHAR")
            source = (*path, prop.name)
            renamed = self.renamed(table, name)
            if action == "hash":
                hashed = (renamed or name) + self.privacy.hashed_suffix
                columns.append(Column(hashed, source, prop, "VARCHAR", pa.string(), "hash"))
            else:
                columns.append(
                    Column(
                        renamed or name,
                        source,
                        prop,
                        duckdb_type(prop),
                        arrow_type(prop),
                        "keep",
                        name if renamed else None,
                    )
                )
        return columns, requested

    def renamed(self, table: str, name: str) -> str | None:
        """The raw name of a source property named like a loader column, else ``None``."""
        if name not in LOADER_COLUMNS:
            return None
        renamed = name + RENAMED_SUFFIX
        self.warn(
            f"property {name} is loaded as raw.{table}.{renamed}: {name} is the loader's own column"
        )
        return renamed

    def child(self, child: ChildSpec) -> tuple[TablePlan, str] | None:
        target = self.navigation_target(child.navigation, collection=True)
        if target is None:
            return None
        parent_key = self.spec.key
        if len(child.parent_key) != len(parent_key):
            raise DataContractError(
                f"{self.spec.path}: raw.{child.table} parent key {child.parent_key} does not "
                f"match the parent key {parent_key}",
                hint="fix ChildSpec.parent_key in the catalog",
                entity=self.spec.path,
            )
        # Parent-key columns the child type lacks are copied from the parent row.
        from_parent = {
            name: parent
            for name, parent in zip(child.parent_key, parent_key, strict=True)
            if target.prop(name) is None
        }
        own_key = tuple(k for k in child.key if k not in from_parent)
        self.require_key(target, own_key, child.table)
        structural = tuple(dict.fromkeys((*own_key, *child.parent_key)))
        props = self.selected(target, child.select, structural, f"{child.navigation} field")
        columns, requested = self.columns(props, child.table, child.personal, structural=structural)
        parent_columns = []
        for name, parent in from_parent.items():
            prop = self.entity_type.prop(parent)
            assert prop is not None  # the parent key was checked first
            parent_columns.append(
                Column(name, (PARENT, parent), prop, duckdb_type(prop), arrow_type(prop), "keep")
            )
        plan = TablePlan(
            child.table,
            child.key,
            child.parent_key,
            child.navigation,
            self.unique(child.table, parent_columns + columns),
        )
        return plan, _expand(child.navigation, requested, target)

    def flatten(self, flat: FlattenSpec) -> tuple[list[Column], str] | None:
        target = self.navigation_target(flat.navigation, collection=False)
        if target is None:
            return None
        props = self.selected(target, flat.select, (), f"{flat.navigation} field")
        columns, requested = self.columns(
            props, self.spec.table, flat.personal, path=(flat.navigation,), prefix=flat.prefix
        )
        if not requested:
            self.warn(f"expand {flat.navigation}: every field is dropped; not requested")
            return None
        return columns, _expand(flat.navigation, requested, target)

    def navigation_target(self, name: str, *, collection: bool) -> EdmEntityType | None:
        nav = self.entity_type.nav(name)
        if nav is None:
            self.warn(f"expand {name} not declared by the service; skipped")
            return None
        if nav.collection != collection:
            shape = "a collection" if nav.collection else "single-valued"
            self.warn(f"expand {name} is {shape} in the service, unlike the catalog; skipped")
            return None
        target = self.service.types.get(nav.target)
        if target is None:
            self.warn(f"expand {name}: target type {nav.target} not declared; skipped")
            return None
        return target

    def unique(self, table: str, columns: list[Column]) -> tuple[Column, ...]:
        seen: set[str] = set()
        for column in columns:
            if column.name in seen:
                raise DataContractError(
                    f"{self.spec.path}: two columns of raw.{table} are named {column.name}",
                    hint="change a FlattenSpec prefix in the catalog",
                    entity=self.spec.path,
                )
            seen.add(column.name)
        return tuple(columns)


def _expand(navigation: str, requested: list[str], target: EdmEntityType) -> str:
    """``Nav($select=...)``, or just ``Nav`` when every declared property is requested:
    the URL stays short (IIS rejects query strings past 2,048 bytes by default, and the
    Orders request with every nested ``$select`` spelled out comes close)."""
    if requested == [p.name for p in target.properties]:
        return navigation
    return f"{navigation}($select={','.join(requested)})"

"""The load plan of one entity set: raw tables, their columns and the request options.

Built by :func:`extract.schema.reconcile.reconcile` from the catalog and ``$metadata``; read by the
decoder (:mod:`extract.decode.pages`), the warehouse (column types) and a run (``$select``,
``$expand``, cursor, filters).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

from extract.schema.catalog import EntitySpec
from extract.schema.metadata import EdmEntityType, EdmProperty

__all__ = ["LOADER_COLUMNS", "PARENT", "RENAMED_SUFFIX", "Column", "EntityPlan", "TablePlan"]

PARENT = ".."
"""First element of :attr:`Column.source` for a child column taken from the parent row:
``("..", "Id")`` is the parent's ``Id`` (used when the child type lacks its parent key)."""


LOADER_COLUMNS = ("_load_id", "_extracted_at", "_deleted_at")
"""Columns the loader adds to every raw table (typed in :mod:`extract.load.tables`)."""
RENAMED_SUFFIX = "_source"
"""A source property named like a loader column is loaded as ``<name>_source``."""


@dataclass(frozen=True, slots=True)
class Column:
    """One raw-table column.

    Attributes:
        name: Raw column name: ``Id``, ``Buyer_City``, ``Buyer_EmailAddressHash``.
        source: JSON path within a row: ``("Id",)``, ``("Buyer", "EmailAddress")``, or
            ``(PARENT, "Id")`` for a value copied from the parent row.
        edm: The source property (for a hashed column, the property that is hashed).
        duckdb_type: Column type (``VARCHAR`` for hashed columns).
        arrow_type: Matching Arrow type.
        action: ``keep`` (as sent) or ``hash`` (salted SHA-256 of the value).
        renamed_from: The source name, when the column had to be renamed because it is a
            loader column's (:data:`LOADER_COLUMNS`).
    """

    name: str
    source: tuple[str, ...]
    edm: EdmProperty
    duckdb_type: str
    arrow_type: pa.DataType
    action: Literal["keep", "hash"]
    renamed_from: str | None = None


@dataclass(frozen=True, slots=True)
class TablePlan:
    """Columns of one raw table and where its rows come from.

    Attributes:
        table: Raw table name (without the ``raw.`` schema).
        key: Merge key columns.
        parent_key: Child tables: columns holding the parent's key; ``None`` for the main
            table.
        navigation: Child tables: the collection navigation; ``None`` for the main table.
        columns: Columns in table order.
    """

    table: str
    key: tuple[str, ...]
    parent_key: tuple[str, ...] | None
    navigation: str | None
    columns: tuple[Column, ...]


@dataclass(frozen=True, slots=True)
class EntityPlan:
    """Everything needed to request, decode and load one entity set.

    Attributes:
        spec: The catalog entry.
        entity_type: The set's type as the service declares it.
        select: ``$select`` for the main type.
        expand: ``$expand`` with nested ``$select`` per navigation, or ``None``.
        tables: Main table first, then child tables in catalog order.
        cursor: The spec's cursor fields that the service declares (may be empty: the
            set then falls back to full loads).
        forgotten_field: The GDPR flag, if declared.
        backfill_field: The business date for ``--since`` backfills, if declared.
        application_filter: Filter ``ApplicationId eq N`` per application.
        warnings: One line per difference between the catalog and the service.
    """

    spec: EntitySpec
    entity_type: EdmEntityType
    select: str
    expand: str | None
    tables: dict[str, TablePlan]
    cursor: tuple[str, ...]
    forgotten_field: str | None
    backfill_field: str | None
    application_filter: bool
    warnings: tuple[str, ...]

    @property
    def main(self) -> TablePlan:
        """The main table's plan."""
        return self.tables[self.spec.table]

    @property
    def full_refresh(self) -> bool:
        """True when the set must be reloaded in full (a lookup, or no cursor declared)."""
        return self.spec.mode == "full" or not self.cursor

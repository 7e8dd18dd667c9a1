"""The fast path of page decoding: the page's JSON parsed by Arrow straight into columns.

A page (``{"value": [...], "@odata.nextLink": ..., "@odata.count": ...}``) is read by
:func:`pyarrow.json.read_json` against a schema generated from the plan -- one struct per
object level, a list of structs per expanded collection -- so no Python object is made per
row or per value: the row's columns, each flattened navigation's columns and each
collection's rows come out as Arrow arrays. Unplanned properties are skipped by the parser.

Exactness is kept by what this path refuses, not by repairing values: Arrow's reader
parses decimals exactly from the number text (never through float) and refuses a value
with more fractional digits than the scale or more integer digits than the precision; a
value of another JSON type than planned, a ``null`` row or collection member, duplicate
properties or any column type without an exact Arrow reading here make the whole page
fall back (:class:`Unsupported`) to the ``msgspec`` path of :mod:`extract.decode.pages`,
which rounds and counts, or raises :class:`~extract.errors.BadPayload` for the one bad
record, exactly as before. Timestamps, dates and GUIDs are read as text and typed by the
same casts as that path (:mod:`extract.decode.columns`), so their precision and checks
are the same.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson

from extract.decode.structs import Path
from extract.schema.plan import PARENT, Column, EntityPlan

__all__ = ["ArrowPage", "ArrowPageReader", "Unsupported", "read_type"]

# Columns read as text by Arrow and typed afterwards, like the msgspec path does.
_AS_TEXT = frozenset({"Edm.String", "Edm.DateTimeOffset", "Edm.Date", "Edm.Guid"})
# Read with their own Arrow type: the reader's conversion is exact or refuses.
_AS_TYPED = frozenset(
    {
        "Edm.Int16",
        "Edm.Int32",
        "Edm.Int64",
        "Edm.Byte",
        "Edm.SByte",
        "Edm.Double",
        "Edm.Single",
        "Edm.Boolean",
        "Edm.Decimal",
    }
)
_NEXT_LINK = "@odata.nextLink"
_COUNT = "@odata.count"


class Unsupported(Exception):
    """The page (or the plan) needs the exact ``msgspec`` path."""


def read_type(column: Column) -> pa.DataType | None:
    """The Arrow type a column's JSON values are read as, or ``None`` when this path
    cannot read it exactly (the plan then always takes the ``msgspec`` path)."""
    edm = column.edm.edm_type
    if column.action == "hash" or edm in _AS_TEXT:
        return pa.string()
    if edm not in _AS_TYPED:
        return None
    if edm == "Edm.Decimal" and not pa.types.is_decimal128(column.arrow_type):
        return None
    return column.arrow_type


@dataclass(slots=True)
class ArrowPage:
    """One page read by Arrow.

    Attributes:
        row_count: Top-level rows.
        values: Main table: column source path -> array (flattened navigations included;
            a null navigation reads as nulls).
        children: Collection navigation -> (its column arrays by path, the position of each
            child row's parent row).
        next_link: ``@odata.nextLink``.
        count: ``@odata.count``.
    """

    row_count: int
    values: dict[Path, pa.Array]
    children: dict[str, tuple[dict[Path, pa.Array], np.ndarray]]
    next_link: str | None
    count: int | None


class ArrowPageReader:
    """Reads the pages of one plan with :func:`pyarrow.json.read_json`.

    Raises:
        Unsupported: (from the constructor) the plan has a column this path cannot read.
    """

    def __init__(self, plan: EntityPlan) -> None:
        main = plan.main
        scalars: dict[Path, pa.DataType] = {}
        flat: dict[str, dict[Path, pa.DataType]] = {}
        for column in main.columns:
            kind = _type_of(column)
            if len(column.source) == 1:
                scalars[column.source] = kind
            else:
                flat.setdefault(column.source[0], {})[column.source] = kind
        many: dict[str, dict[Path, pa.DataType]] = {}
        for child in plan.tables.values():
            if child.navigation is None:
                continue
            many[child.navigation] = {
                c.source: _type_of(c) for c in child.columns if c.source[0] != PARENT
            }
        fields = [pa.field(p[-1], t) for p, t in scalars.items()]
        fields += [pa.field(nav, _struct(cols)) for nav, cols in flat.items()]
        fields += [pa.field(nav, pa.list_(_struct(cols))) for nav, cols in many.items()]
        names = [f.name for f in fields]
        if len(set(names)) != len(names):
            raise Unsupported("a property is planned twice at one level")
        self._scalars = list(scalars)
        self._flat = {nav: list(cols) for nav, cols in flat.items()}
        self._many = {nav: list(cols) for nav, cols in many.items()}
        self._schema = pa.schema(
            [
                pa.field("value", pa.list_(pa.struct(fields))),
                pa.field(_NEXT_LINK, pa.string()),
                pa.field(_COUNT, pa.int64()),
            ]
        )
        self._parse = pajson.ParseOptions(
            explicit_schema=self._schema, unexpected_field_behavior="ignore"
        )

    def parse(self, body: bytes) -> pa.Table:
        """The page's JSON as one row of the plan's schema, checked (valid UTF-8 text).

        Raises:
            Unsupported: The reader refused the page.
        """
        try:
            table = pajson.read_json(
                io.BytesIO(body),
                read_options=pajson.ReadOptions(use_threads=False, block_size=len(body) + 64),
                parse_options=self._parse,
            )
            # the reader takes string bytes as sent: text that is not UTF-8 must not pass
            table.validate(full=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            raise Unsupported(str(exc)) from None
        return table

    def __call__(self, body: bytes) -> ArrowPage:
        """Read one page.

        Raises:
            Unsupported: Anything but a well-formed page whose every value reads exactly
                as planned (the caller decodes it the exact way instead).
        """
        table = self.parse(body)
        if table.num_rows != 1:
            raise Unsupported("not one JSON object")
        listed = table.column("value").chunk(0) if table.column("value").num_chunks == 1 else None
        if listed is None or listed.null_count:
            raise Unsupported("no value array")
        rows = listed.flatten()
        if rows.null_count:
            raise Unsupported("a null row")
        values = _columns(rows, self._scalars)
        for nav, paths in self._flat.items():
            values.update(_columns(rows.field(nav), paths))
        children = {nav: self._collection(rows, nav, paths) for nav, paths in self._many.items()}
        next_link = table.column(_NEXT_LINK)[0].as_py()
        count = table.column(_COUNT)[0].as_py()
        return ArrowPage(len(rows), values, children, next_link, count)

    @staticmethod
    def _collection(
        rows: pa.StructArray, nav: str, paths: list[Path]
    ) -> tuple[dict[Path, pa.Array], np.ndarray]:
        lists = rows.field(nav)
        members = lists.flatten()
        if members.null_count:
            raise Unsupported(f"a null member of {nav}")
        parents = pc.list_parent_indices(lists).to_numpy(zero_copy_only=False)
        return _columns(members, paths), parents.astype(np.int64, copy=False)


def _type_of(column: Column) -> pa.DataType:
    kind = read_type(column)
    if kind is None:
        raise Unsupported(f"{column.name}: {column.edm.edm_type} is read the exact way")
    return kind


def _struct(columns: dict[Path, pa.DataType]) -> pa.StructType:
    return pa.struct([pa.field(p[-1], t) for p, t in columns.items()])


def _columns(struct: pa.Array, paths: list[Path]) -> dict[Path, pa.Array]:
    """The first ``len(paths)`` fields of a struct array by path (the planned scalars come
    first); a null struct reads as null fields."""
    fields = struct.flatten()  # merges the struct's own nulls into each field
    return dict(zip(paths, fields[: len(paths)], strict=True))

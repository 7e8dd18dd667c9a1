"""Render :class:`~simulator.odata.query.Rows` as OData v4 JSON (minimal metadata).

The output matches what the real (.NET) service writes: PascalCase names in schema order,
integers as numbers, decimals as exact number literals without exponent or trailing zeros
(``129.5``, ``0``), ``DateTimeOffset`` as RFC 3339 UTC with ``Z`` and a fraction only when
it is non-zero, GUIDs in lower case, nulls written out, single-valued expands as nested
objects (or null) and collection expands as arrays. With ``IEEE754Compatible=true`` in the
request's ``Accept``, ``Int64`` and ``Decimal`` values are JSON strings.

Each value is turned into its JSON text by a polars expression and each row into one string
by ``concat_str``; Python only joins whole rows. That keeps a 500-order page with its lines
and customer snapshots at a few milliseconds.
"""

from __future__ import annotations

import functools

import numpy as np
import orjson
import polars as pl

from simulator.odata.rows import Expanded, Rows

_NAV_COLUMN = "\x00nav{}"


@functools.lru_cache(maxsize=4096)
def _fragment(name: str, dtype: pl.DataType, edm_type: str, ieee754: bool) -> pl.Expr:
    """An expression rendering column ``name`` as JSON value text (``null`` for nulls)."""
    col = pl.col(name)
    quote = ieee754 and edm_type in ("Edm.Int64", "Edm.Decimal")
    if isinstance(dtype, pl.Decimal):
        text = col.cast(pl.String)
        if dtype.scale:
            # polars prints every digit of the scale (129.5000); .NET trims them (129.5).
            # With a scale there is always a point, so stripping stops there at the latest.
            text = text.str.strip_chars_end("0").str.strip_suffix(".")
        return _quoted(text) if quote else text.fill_null("null")
    if dtype.is_integer():
        text = col.cast(pl.String)
        return _quoted(text) if quote else text.fill_null("null")
    if dtype == pl.Boolean:
        return col.cast(pl.String).fill_null("null")
    if dtype.is_float():
        # JSON has no NaN/Infinity; OData writes them as the strings "NaN", "INF", "-INF"
        return (
            pl.when(col.is_nan())
            .then(pl.lit('"NaN"'))
            .when(col == float("inf"))
            .then(pl.lit('"INF"'))
            .when(col == float("-inf"))
            .then(pl.lit('"-INF"'))
            .otherwise(col.cast(pl.String))
            .fill_null("null")
        )
    if isinstance(dtype, pl.Datetime):
        instant = col if dtype.time_zone is None else col.dt.convert_time_zone("UTC")
        text = (
            instant.dt.to_string("%Y-%m-%dT%H:%M:%S%.6f")
            .str.strip_chars_end("0")
            .str.strip_suffix(".")
        )
        return pl.concat_str([pl.lit('"'), text, pl.lit('Z"')]).fill_null("null")
    if dtype == pl.Date:
        return _quoted(col.dt.to_string("%Y-%m-%d"))
    if dtype == pl.Null:
        return pl.lit("null", dtype=pl.String)
    if dtype == pl.String and edm_type == "Edm.Guid":
        # GUIDs are hex and dashes, nothing to escape
        return _quoted(col.str.to_lowercase())
    # Strings (and anything unusual): let polars' JSON encoder escape them, then cut the
    # value out of the one-field object it produces: {"Name":<value>}
    prefix = len(orjson.dumps(name)) + 2
    return pl.struct(col).struct.json_encode().str.slice(prefix).str.strip_suffix("}")


def _quoted(text: pl.Expr) -> pl.Expr:
    return pl.concat_str([pl.lit('"'), text, pl.lit('"')]).fill_null("null")


def render_rows(rows: Rows, *, ieee754: bool = False) -> list[str]:
    """Render each row of ``rows`` (with its expands) as one JSON object string."""
    return render_series(rows, ieee754=ieee754).to_list()


def render_array(rows: Rows, *, ieee754: bool = False) -> bytes:
    """Render ``rows`` as the UTF-8 text of a JSON array's items (without the brackets)."""
    if rows.frame.height == 0:
        return b""
    # straight to bytes: a 2 MB page is not decoded into a Python str and encoded back
    joined = render_series(rows, ieee754=ieee754).str.join(",").cast(pl.Binary).item()
    return bytes(joined)


def render_series(rows: Rows, *, ieee754: bool = False) -> pl.Series:
    """Each row of ``rows`` as JSON object text, aligned with ``rows.frame``."""
    frame = rows.frame
    height = frame.height
    if height == 0:
        return pl.Series("json", [], dtype=pl.String)
    edm = {p.name: p.edm_type for p in rows.entity_type.properties}
    schema = frame.schema
    names = [n for n in rows.select if n in schema]
    # A third of the columns of a typical page are entirely null: their text is the
    # constant "null", folded into the literal between columns instead of an expression.
    # (Series.null_count is metadata; DataFrame.null_count would run a query)
    rendered = {n for n in names if frame.get_column(n).null_count() < height}
    values = frame.select(
        [_fragment(n, schema[n], edm[n], ieee754).alias(n) for n in names if n in rendered]
    ).hstack(
        [
            text.alias(_NAV_COLUMN.format(i))
            for i, text in enumerate(_render_expands(rows.expands, height, ieee754))
        ]
    )
    members = [(n, n if n in rendered else None) for n in names] + [
        (e.navigation.name, _NAV_COLUMN.format(i)) for i, e in enumerate(rows.expands)
    ]
    parts: list[pl.Expr] = []
    pending = "{"
    for i, (name, column) in enumerate(members):
        pending += ("," if i else "") + f'"{name}":'
        if column is None:
            pending += "null"
            continue
        parts += [pl.lit(pending), pl.col(column)]
        pending = ""
    pending += "}"
    if not parts:
        return pl.Series("json", [pending] * height, dtype=pl.String)
    parts.append(pl.lit(pending))
    return values.select(pl.concat_str(parts).alias("json")).to_series()


def _render_expands(expands: tuple[Expanded, ...], parents: int, ieee754: bool) -> list[pl.Series]:
    """One JSON value per parent and expand: an array of children, an object, or null.

    Single-valued expands of the same type and shape (``Buyer``, ``Payer``, ``ShipTo``)
    are rendered in one pass: each render has a fixed cost of about a millisecond.
    """
    batches: dict[tuple[int, tuple[str, ...]], list[int]] = {}
    for i, expand in enumerate(expands):
        if expand.offsets is None and not expand.rows.expands:
            key = (id(expand.rows.entity_type), expand.rows.select)
            batches.setdefault(key, []).append(i)
    texts: dict[int, pl.Series] = {}
    for members in batches.values():
        if len(members) < 2:
            continue
        first = expands[members[0]].rows
        frames = [expands[i].rows.frame for i in members]
        combined = render_series(
            Rows(first.entity_type, pl.concat(frames, how="vertical"), first.select),
            ieee754=ieee754,
        )
        offset = 0
        for i, part in zip(members, frames, strict=True):
            texts[i] = combined.slice(offset, part.height)
            offset += part.height
    return [_place(expand, texts.get(i), parents, ieee754) for i, expand in enumerate(expands)]


def _place(expand: Expanded, children: pl.Series | None, parents: int, ieee754: bool) -> pl.Series:
    """Arrange rendered children (rendered here if not given) by parent."""
    if children is None:
        children = render_series(expand.rows, ieee754=ieee754)
    if expand.offsets is not None:
        # grouping 500 parents in Python beats a polars group_by + join at this size
        texts = children.to_list()
        o = expand.offsets.tolist()
        return pl.Series(
            "j", ["[" + ",".join(texts[o[i] : o[i + 1]]) + "]" for i in range(parents)]
        )
    present = expand.present if expand.present is not None else np.zeros(parents, dtype=bool)
    out = pl.Series("j", [None] * parents, dtype=pl.String)
    if len(children):
        out = out.scatter(np.flatnonzero(present), children)
    return out.fill_null("null")


def collection_body(
    context: str,
    items: bytes | list[str],
    count: int | None,
    next_link: str | None,
    *,
    ieee754: bool = False,
) -> bytes:
    """The ``{"@odata.context", ["@odata.count"], "value", ["@odata.nextLink"]}`` envelope.

    ``items`` is the text between the brackets of ``value`` (see :func:`render_array`) or
    a list of row objects. With ``ieee754`` the count is a string, like other Int64s.
    """
    parts = [b'{"@odata.context":', orjson.dumps(context)]
    if count is not None:
        parts.append((b',"@odata.count":"%d"' if ieee754 else b',"@odata.count":%d') % count)
    parts.append(b',"value":[')
    parts.append(items if isinstance(items, bytes) else ",".join(items).encode())
    parts.append(b"]")
    if next_link is not None:
        parts.append(b',"@odata.nextLink":')
        parts.append(orjson.dumps(next_link))
    parts.append(b"}")
    return b"".join(parts)


def entity_body(context: str, row_json: str) -> bytes:
    """A single entity: the bare object with its ``@odata.context`` first."""
    head = '{"@odata.context":' + orjson.dumps(context).decode()
    rest = row_json[1:]
    return (head + ("," + rest if rest != "}" else "}")).encode()

"""Independent expectations for raw tables, computed from the simulator's own data.

This does not reuse the loader's code: it re-derives, from the simulator's frames, what a
faithful raw table must hold (forgotten rows gone, emails hashed with the configured salt,
dropped personal fields absent, single navigations flattened, children per parent), so a
test can compare the warehouse with the source row by row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import duckdb
import polars as pl

SALT = "test-salt"

FLATTEN = {
    "Buyer_": "BuyerCustomerInfoId",
    "Payer_": "PayerCustomerInfoId",
    "ShipTo_": "ShipToCustomerInfoId",
}


def sha(value: str | None, salt: str = SALT) -> str | None:
    if value is None or not value.strip():
        return None
    return hashlib.sha256((salt + "\x00" + value.strip().lower()).encode()).hexdigest()


@dataclass(frozen=True)
class TableTruth:
    table: str
    namespace: str
    type_name: str
    key: tuple[str, ...]
    parent: tuple[str, str, str] | None = None  # (parent table, parent key, child fk)
    forgotten: str | None = None


CHECKED: tuple[TableTruth, ...] = (
    TableTruth("orders", "Orders", "Order", ("Id",), forgotten="IsForgotten"),
    TableTruth("order_items", "Orders", "OrderItem", ("Id",), parent=("orders", "Id", "OrderId")),
    TableTruth(
        "order_infos",
        "Orders",
        "OrderInfo",
        ("OrderId", "TypeId"),
        parent=("orders", "Id", "OrderId"),
    ),
    TableTruth("products", "Products", "Product", ("Id",)),
    TableTruth(
        "product_categories",
        "Products",
        "ProductCategory",
        ("ProductId", "CategoryId"),
        parent=("products", "Id", "ProductId"),
    ),
    TableTruth("product_skus", "Products", "ProductSku", ("PartNo",)),
    # composite keys: keyset paging with the lexicographic or-chain, over several pages
    TableTruth(
        "product_sku_price_lists",
        "Products",
        "ProductSkuPricelist",
        ("PartNo", "PriceListId", "QtyBreak"),
    ),
    TableTruth("customer_companies", "Customers", "CustomerCompany", ("CustomerId", "CompanyId")),
    TableTruth("customers", "Customers", "Customer", ("Id",), forgotten="IsForgotten"),
    TableTruth(
        "customer_addresses",
        "Customers",
        "CustomerAddress",
        ("Id", "CustomerId"),
        parent=("customers", "Id", "CustomerId"),
    ),
    TableTruth("currencies", "Core", "Currency", ("Id",)),
    TableTruth("applications", "Core", "Application", ("Id",)),
)


def _main_frame(sim: object, t: TableTruth, exclude: Mapping[str, set[object]]) -> pl.DataFrame:
    df: pl.DataFrame = sim.store.frame(t.namespace, t.type_name)  # type: ignore[attr-defined]
    if t.forgotten and t.forgotten in df.columns:
        df = df.filter(~pl.col(t.forgotten))
    if t.table in exclude:
        df = df.filter(~pl.col(t.key[0]).is_in(list(exclude[t.table])))
    return df


def expected(
    sim: object,
    t: TableTruth,
    raw_columns: list[str],
    exclude: Mapping[str, set[object]] | None = None,
) -> pl.DataFrame:
    """The rows ``raw.<table>`` must hold, with exactly ``raw_columns`` (no ``_`` columns).

    ``exclude`` maps a parent table to keys known to be missing (quarantined records); their
    rows and their children are left out of the expectation.
    """
    exclude = exclude or {}
    df = _main_frame(sim, t, exclude)
    if t.parent is not None:
        parent = next(p for p in CHECKED if p.table == t.parent[0])
        keys = _main_frame(sim, parent, exclude).select(pl.col(t.parent[1]).alias(t.parent[2]))
        df = df.join(keys, on=t.parent[2], how="semi")
    infos: pl.DataFrame | None = None
    cols: list[pl.Series] = []
    for c in raw_columns:
        prefix = next((p for p in FLATTEN if c.startswith(p)), None)
        if prefix and t.type_name == "Order":
            if infos is None:
                infos = sim.store.frame("Orders", "OrderCustomerInfo")  # type: ignore[attr-defined]
            field = c[len(prefix) :]
            source = field[:-4] if field.endswith("Hash") else field
            joined = (
                df.select(pl.col(FLATTEN[prefix]).alias("Id"))
                .join(
                    infos.select(pl.col("Id"), pl.col(source).alias("_v")),
                    on="Id",
                    how="left",
                    maintain_order="left",
                )["_v"]
                .alias(c)
            )
            cols.append(_hashed(joined, c) if field.endswith("Hash") else joined.alias(c))
        elif c in df.columns:
            cols.append(df[c])
        elif c.endswith("Hash") and c[:-4] in df.columns:
            cols.append(_hashed(df[c[:-4]], c))
        else:
            cols.append(pl.Series(c, [None] * df.height))
    return pl.DataFrame(cols)


def _hashed(s: pl.Series, name: str) -> pl.Series:
    return pl.Series(name, [sha(v) for v in s.to_list()], dtype=pl.String)


def normalise(df: pl.DataFrame, key: tuple[str, ...]) -> pl.DataFrame:
    """Comparable form: every column as text, rows sorted by key."""
    out = []
    for c in df.columns:
        s = df[c]
        if s.dtype == pl.Datetime:
            s = s.dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S%.6f")
        elif isinstance(s.dtype, pl.Decimal):
            s = s.cast(pl.Float64).round(6)
        out.append(s.cast(pl.String))
    return pl.DataFrame(out).sort(list(key))


def raw_frame(con: duckdb.DuckDBPyConnection, table: str) -> pl.DataFrame:
    cols = [
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema='raw' "
            "and table_name=? and column_name not like '\\_%' escape '\\' "
            "order by ordinal_position",
            [table],
        ).fetchall()
    ]
    select = ", ".join(f'"{c}"' for c in cols)
    query = f'select {select} from raw."{table}" where _deleted_at is null'
    return pl.from_arrow(con.sql(query).to_arrow_table())  # type: ignore[return-value]


def compare_table(
    con: duckdb.DuckDBPyConnection,
    sim: object,
    t: TableTruth,
    exclude: Mapping[str, set[object]] | None = None,
) -> int:
    """Assert raw.<table> equals the simulator's truth; returns rows compared."""
    got = raw_frame(con, t.table)
    want = expected(sim, t, got.columns, exclude)
    g, w = normalise(got, t.key), normalise(want, t.key)
    assert g.height == w.height, f"raw.{t.table}: {g.height} rows, source has {w.height}"
    for c in g.columns:
        mask = g[c].ne_missing(w[c])
        if mask.any():
            key = t.key[0]
            got_rows = g.filter(mask).select(pl.col(key).alias("key"), pl.col(c).alias("raw"))
            want_rows = w.filter(mask).select(pl.col(c).alias("source"))
            sample = pl.concat([got_rows, want_rows], how="horizontal").head(3).to_dicts()
            raise AssertionError(
                f"raw.{t.table}.{c} differs from the source in {int(mask.sum())} rows, "
                f"e.g. {sample}"
            )
    return g.height

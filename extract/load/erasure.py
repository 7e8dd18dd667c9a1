"""Erasure of one person from the raw tables (``norce-wh erase`` and its re-application)."""

from __future__ import annotations

from typing import Any

import duckdb

from extract.load import meta
from extract.load.warehouse import Warehouse

__all__ = ["erase_from_raw"]

_ORDER_CHILDREN = (("order_items", "OrderId"), ("order_infos", "OrderId"))
_CUSTOMER_CHILDREN = ("customer_addresses", "customer_companies")


def erase_from_raw(wh: Warehouse, customer_id: int | None, email_hash: str | None) -> int:
    """Delete one person's rows from the raw tables that hold them, in one transaction.

    Their orders are matched by customer id or by the hashed e-mail that guest orders carry;
    lines and other children go with them, and the orders' figures are kept in
    ``meta.erased_orders`` for the reconciliation with Norce's own reporting. Quarantined
    records about them (``meta.quarantine``, by customer id or e-mail hash) go too.

    Returns:
        Rows removed from ``raw.orders`` and ``raw.customers`` (quarantined records are not
        counted).
    """
    present = wh.raw_tables()
    removed = 0
    with wh.transaction() as con:
        meta.erase_quarantined(con, customer_id, email_hash)
        if "orders" in present:
            removed += _erase_orders(con, wh, present, customer_id, email_hash)
        if "customers" in present and customer_id is not None:
            for child in _CUSTOMER_CHILDREN:
                if child in present:
                    _x(con, f'delete from raw."{child}" where CustomerId = ?', [customer_id])
            removed += len(
                con.execute(
                    "delete from raw.customers where Id = ? returning 1", [customer_id]
                ).fetchall()
            )
    return removed


def _erase_orders(
    con: duckdb.DuckDBPyConnection,
    wh: Warehouse,
    present: set[str],
    customer_id: int | None,
    email_hash: str | None,
) -> int:
    columns = wh.table_columns("orders")
    conds: list[str] = []
    params: list[Any] = []
    if customer_id is not None and "BuyerCustomerId" in columns:
        conds.append("BuyerCustomerId = ?")
        params.append(customer_id)
    if email_hash and "Buyer_EmailAddressHash" in columns:
        conds.append("Buyer_EmailAddressHash = ?")
        params.append(email_hash)
    if not conds:
        return 0
    ids = [
        r[0]
        for r in con.execute(
            f"select Id from raw.orders where {' or '.join(conds)}", params
        ).fetchall()
    ]
    if not ids:
        return 0
    if "order_items" in present:
        meta.keep_erased_orders(con, ids)
    for child, fk in _ORDER_CHILDREN:
        if child in present:
            _x(con, f'delete from raw."{child}" where "{fk}" in (select unnest(?))', [ids])
    return len(
        con.execute(
            "delete from raw.orders where Id in (select unnest(?)) returning 1", [ids]
        ).fetchall()
    )


def _x(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> None:
    con.execute(sql, params).fetchall()

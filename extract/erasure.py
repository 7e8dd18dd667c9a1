"""Erasure of one person from the raw tables (``norce-wh erase`` and its re-application)."""

from __future__ import annotations

from typing import Any

from extract.warehouse import Warehouse, _x, qi


def erase_from_raw(wh: Warehouse, customer_id: int | None, email_hash: str | None) -> int:
    """Delete one person's rows from the raw tables that hold them. Returns rows removed."""
    present = {
        t
        for (t,) in wh.execute(
            "select table_name from information_schema.tables where table_schema = 'raw'"
        )
    }
    removed = 0
    with wh.transaction() as con:
        if "orders" in present:
            cols = wh.table_columns("orders")
            conds = []
            params: list[Any] = []
            if customer_id is not None and "BuyerCustomerId" in cols:
                conds.append("BuyerCustomerId = ?")
                params.append(customer_id)
            if email_hash and "Buyer_EmailAddressHash" in cols:
                conds.append("Buyer_EmailAddressHash = ?")
                params.append(email_hash)
            if conds:
                where = " or ".join(conds)
                if "order_items" in present:
                    # Norce's own Reporting still counts these orders: keep their figures
                    # (once per order) so the reconciliation mart can account for them.
                    _x(
                        con,
                        "insert into meta.erased_orders "
                        "select o.Id, o.ApplicationId, o.CurrencyId, o.OrderDate, o.StatusId, "
                        "coalesce((select sum(i.LineAmount) from raw.order_items i "
                        "where i.OrderId = o.Id), 0), now() "
                        f"from raw.orders o where ({where}) and not exists "
                        "(select 1 from meta.erased_orders e where e.order_id = o.Id)",
                        params,
                    )
                for child, fk in (("order_items", "OrderId"), ("order_infos", "OrderId")):
                    if child in present:
                        _x(
                            con,
                            f"delete from raw.{qi(child)} where {qi(fk)} in "
                            f"(select Id from raw.orders where {where})",
                            params,
                        )
                removed += len(
                    con.execute(
                        f"delete from raw.orders where {where} returning 1", params
                    ).fetchall()
                )
        if "customers" in present and customer_id is not None:
            if "customer_addresses" in present:
                _x(con, "delete from raw.customer_addresses where CustomerId = ?", [customer_id])
            if "customer_companies" in present:
                _x(con, "delete from raw.customer_companies where CustomerId = ?", [customer_id])
            removed += len(
                con.execute(
                    "delete from raw.customers where Id = ? returning 1", [customer_id]
                ).fetchall()
            )
    return removed

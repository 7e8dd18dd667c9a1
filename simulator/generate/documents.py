"""Invoices and delivery notes, derived from the current orders.

Every order in status 4 (completed) or 5 (partly returned, invoiced) has one invoice whose
items mirror its lines, and one delivery note listing its product lines. The documents are
computed from the order frames (the store caches them until the orders change), so they
can never disagree with the orders: an order that completes gains its documents, a
forgotten order's documents lose the personal fields, a deleted order's disappear.

Document ids are the order's (or line's) id plus a fixed offset, so they are stable across
recomputation and never collide with order ids.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from simulator.generate.common import CLIENT_ID, SYSTEM_USER
from simulator.generate.order_lines import FREIGHT_PART_NO
from simulator.store import Store

INVOICE_ID_OFFSET = 5_000_000_000
DELIVERY_NOTE_ID_OFFSET = 6_000_000_000
DOCUMENT_STATUSES = (4, 5)
VAT_BANDS = (25, 12, 6)
"""``VatDutiable1..3`` / ``Vat1..3`` hold these rates."""


def _documented_orders(store: Store) -> pl.DataFrame:
    orders = store.base("Orders", "Order").filter(pl.col("StatusId").is_in(DOCUMENT_STATUSES))
    return orders.with_columns(
        pl.coalesce("DeliveryDate", "Updated", "Created").alias("_DocumentDate")
    )


def _person(store: Store, id_column: str, prefix: str) -> pl.DataFrame:
    infos = store.base("Orders", "OrderCustomerInfo")
    return infos.select(
        pl.col("Id").alias(id_column),
        pl.concat_str("FirstName", "LastName", separator=" ").alias(f"{prefix}Name"),
        pl.col("CareOf").alias(f"{prefix}CareOf"),
    )


def invoices(store: Store) -> pl.DataFrame:
    """One invoice per order in status 4 or 5."""
    orders = _documented_orders(store)
    items = store.base("Orders", "OrderItem")
    vat = pl.col("LineAmount") * pl.col("VatRate") / 100
    sums = items.group_by("OrderId").agg(
        pl.col("QtyOrdered").filter(pl.col("PartNo") != FREIGHT_PART_NO).sum().alias("Quantity"),
        pl.col("DiscountAmount").sum().alias("SumLineDiscount"),
        pl.col("LineAmount").sum().alias("SalesBalance"),
        (pl.col("CostUnit") * pl.col("QtyOrdered")).sum().alias("CostValue"),
        vat.sum().alias("Vat"),
        *[
            pl.col("LineAmount").filter(pl.col("VatRate") == rate).sum().alias(f"VatDutiable{i}")
            for i, rate in enumerate(VAT_BANDS, 1)
        ],
        *[
            vat.filter(pl.col("VatRate") == rate).sum().alias(f"Vat{i}")
            for i, rate in enumerate(VAT_BANDS, 1)
        ],
    )
    rates = store.base("Core", "Currency").select(
        pl.col("Id").alias("CurrencyId"), pl.col("ExchangeRate").alias("CurrencyRate")
    )
    joined = (
        orders.join(sums, left_on="Id", right_on="OrderId", how="left")
        .join(rates, on="CurrencyId", how="left")
        .join(
            _person(store, "PayerCustomerInfoId", "Invoice"), on="PayerCustomerInfoId", how="left"
        )
    )
    money = [
        "Quantity",
        "SumLineDiscount",
        "SalesBalance",
        "CostValue",
        "Vat",
        *[f"VatDutiable{i}" for i in (1, 2, 3)],
        *[f"Vat{i}" for i in (1, 2, 3)],
    ]
    return joined.select(
        (pl.col("Id") + INVOICE_ID_OFFSET).alias("Id"),
        pl.lit(CLIENT_ID).alias("ClientId"),
        pl.concat_str(pl.lit("INV"), "OrderNo").alias("InvoiceNo"),
        pl.lit(1).alias("TypeId"),
        pl.col("Id").alias("ReferenceOrderId"),
        "BuyerCompanyId",
        "BuyerCustomerId",
        "PayerCompanyId",
        "PayerCustomerId",
        "DeliveryDate",
        pl.col("_DocumentDate").alias("InvoiceDate"),
        (pl.col("_DocumentDate") + timedelta(days=14)).alias("InvoiceDueDate"),
        "CurrencyId",
        "CurrencyRate",
        "CashDiscount",
        pl.col("FreightCost"),
        pl.col("OrderFee").alias("InvoiceFee"),
        *[pl.col(c).fill_null(0) for c in money],
        (
            pl.col("SalesBalance").fill_null(0) + pl.col("Vat").fill_null(0) + pl.col("OrderFee")
        ).alias("InvoiceAmount"),
        pl.lit(0).alias("InvoiceRoundOff"),
        pl.lit(0).alias("VatRoundOff"),
        "InvoiceName",
        pl.col("DeliveryAttention").alias("InvoiceAttention"),
        "InvoiceCareOf",
        pl.col("_DocumentDate").alias("Created"),
        pl.lit(SYSTEM_USER).alias("CreatedBy"),
    )


def invoice_items(store: Store) -> pl.DataFrame:
    """The lines of every invoiced order, one invoice item each."""
    orders = _documented_orders(store).select("Id", "_DocumentDate")
    items = store.base("Orders", "OrderItem").join(
        orders, left_on="OrderId", right_on="Id", how="semi"
    )
    dates = orders.rename({"Id": "OrderId"})
    return items.join(dates, on="OrderId", how="left").select(
        (pl.col("Id") + INVOICE_ID_OFFSET).alias("Id"),
        (pl.col("OrderId") + INVOICE_ID_OFFSET).alias("InvoiceId"),
        "LineNumber",
        "StatusId",
        "PartNo",
        "ProductName",
        "StockUnitOfMeasurementCount",
        "PriceUnitOfMeasurementCount",
        "WarehouseId",
        pl.col("QtyOrdered").cast(pl.Int32).alias("Quantity"),
        "CurrencyId",
        "VatRate",
        "CostUnit",
        "PriceSale",
        "DiscountPercentage",
        "DiscountAmount",
        "LineAmount",
        "IsPartDelivery",
        pl.col("_DocumentDate").alias("DeliveryDate"),
        pl.col("_DocumentDate").alias("Created"),
        pl.lit(SYSTEM_USER).alias("CreatedBy"),
        "LineNumberString",
        "ClientId",
        "TransId",
        pl.col("Id").alias("OrderItemId"),
    )


def delivery_notes(store: Store) -> pl.DataFrame:
    """One delivery note per delivered (status 4 or 5) order."""
    orders = _documented_orders(store)
    quantity = (
        store.base("Orders", "OrderItem")
        .filter(pl.col("PartNo") != FREIGHT_PART_NO)
        .group_by("OrderId")
        .agg(pl.col("QtyOrdered").sum().alias("Quantity"))
    )
    joined = orders.join(quantity, left_on="Id", right_on="OrderId", how="left").join(
        _person(store, "ShipToCustomerInfoId", "Delivery"), on="ShipToCustomerInfoId", how="left"
    )
    return joined.select(
        (pl.col("Id") + DELIVERY_NOTE_ID_OFFSET).alias("Id"),
        pl.lit(CLIENT_ID).alias("ClientId"),
        pl.concat_str(pl.lit("DN"), "OrderNo").alias("NoteNo"),
        pl.lit(1).alias("TypeId"),
        pl.col("Id").alias("ReferenceOrderId"),
        "BuyerCompanyId",
        "BuyerCompanyCode",
        "BuyerCustomerId",
        "BuyerCustomerCode",
        "PayerCompanyId",
        "PayerCompanyCode",
        "PayerCustomerId",
        "PayerCustomerCode",
        "DeliveryName",
        "DeliveryAttention",
        "DeliveryCareOf",
        "DeliveryAddressLine1",
        "DeliveryAddressLine2",
        "DeliveryZipCode",
        "DeliveryCity",
        "DeliveryCountryId",
        pl.col("_DocumentDate").alias("DeliveryDate"),
        pl.col("Quantity").fill_null(0),
        pl.lit(True).alias("IsPrinted"),
        pl.concat_str(pl.lit("SHP"), "OrderNo").alias("ShippingNo"),
        pl.col("_DocumentDate").alias("Created"),
        pl.lit(SYSTEM_USER).alias("CreatedBy"),
    )


def delivery_note_items(store: Store) -> pl.DataFrame:
    """The product lines (no freight) of every delivered order."""
    orders = _documented_orders(store).select(pl.col("Id").alias("OrderId"), "_DocumentDate")
    items = store.base("Orders", "OrderItem").filter(pl.col("PartNo") != FREIGHT_PART_NO)
    return items.join(orders, on="OrderId", how="inner").select(
        (pl.col("Id") + DELIVERY_NOTE_ID_OFFSET).alias("Id"),
        (pl.col("OrderId") + DELIVERY_NOTE_ID_OFFSET).alias("DeliveryNoteId"),
        "LineNumber",
        "PartNo",
        "ProductName",
        "StockUnitOfMeasurementCount",
        "PriceUnitOfMeasurementCount",
        "QtyOrdered",
        pl.col("QtyOrdered").alias("Quantity"),
        pl.lit(0).alias("QtyBackOrdered"),
        "IsPartDelivery",
        "VatRate",
        pl.col("LineAmount").alias("ValueMst"),
        pl.col("TransId").cast(pl.Int32, strict=False),
        pl.col("_DocumentDate").alias("Created"),
        pl.lit(SYSTEM_USER).alias("CreatedBy"),
        pl.col("Id").alias("OrderItemId"),
    )

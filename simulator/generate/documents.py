"""Invoices, credit invoices and delivery notes, derived from the current orders.

Every order in status 4 (completed) or 5 (partly returned, invoiced) has one invoice whose
items mirror its lines, and one delivery note listing its product lines; an order with
returned units also has a credit invoice (see :mod:`simulator.generate.returns`). The documents are
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
from simulator.generate.rates import RateSchedule
from simulator.generate.returns import INVOICE_TYPE, credit_note_headers, credit_note_items
from simulator.store import Store

INVOICE_ID_OFFSET = 5_000_000_000
DELIVERY_NOTE_ID_OFFSET = 6_000_000_000
DOCUMENT_STATUSES = (4, 5)


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


def _invoice_headers(store: Store) -> pl.DataFrame:
    """Header fields of the invoice of every order in status 4 or 5."""
    orders = _documented_orders(store).join(
        _person(store, "PayerCustomerInfoId", "Invoice"), on="PayerCustomerInfoId", how="left"
    )
    return orders.select(
        (pl.col("Id") + INVOICE_ID_OFFSET).alias("Id"),
        pl.concat_str(pl.lit("INV"), "OrderNo").alias("InvoiceNo"),
        pl.lit(INVOICE_TYPE).alias("TypeId"),
        pl.col("Id").alias("ReferenceOrderId"),
        pl.col("_DocumentDate").alias("InvoiceDate"),
        (pl.col("_DocumentDate") + timedelta(days=14)).alias("InvoiceDueDate"),
        pl.col("OrderFee").alias("InvoiceFee"),
        "FreightCost",
        "InvoiceName",
        "InvoiceCareOf",
    )


def invoices(store: Store, rates: RateSchedule) -> pl.DataFrame:
    """Every invoice (status 4 and 5 orders) and credit invoice (returns), with totals.

    Totals come from the document's items; ``CurrencyRate`` is the rate card in force on
    the invoice date, ``InvoiceAmount`` = ``SalesBalance`` + ``Vat`` + ``InvoiceFee``.
    """
    items = invoice_items(store)
    vat = pl.col("LineAmount") * pl.col("VatRate") / 100
    # VatDutiable1..3 / Vat1..3: the document's VAT rates, highest first.
    band = pl.col("VatRate").rank("dense", descending=True).over("InvoiceId").clip(1, 3)
    sums = (
        items.with_columns(band.alias("_band"))
        .group_by("InvoiceId")
        .agg(
            pl.col("Quantity").filter(pl.col("PartNo") != FREIGHT_PART_NO).sum().alias("Quantity"),
            pl.col("DiscountAmount").sum().alias("SumLineDiscount"),
            pl.col("LineAmount").sum().alias("SalesBalance"),
            (pl.col("CostUnit") * pl.col("Quantity")).sum().alias("CostValue"),
            vat.sum().alias("Vat"),
            *[
                pl.col("LineAmount").filter(pl.col("_band") == i).sum().alias(f"VatDutiable{i}")
                for i in (1, 2, 3)
            ],
            *[vat.filter(pl.col("_band") == i).sum().alias(f"Vat{i}") for i in (1, 2, 3)],
        )
    )
    headers = pl.concat([_invoice_headers(store), credit_note_headers(store)], how="diagonal")
    orders = store.base("Orders", "Order").select(
        pl.col("Id").alias("ReferenceOrderId"),
        "BuyerCompanyId",
        "BuyerCustomerId",
        "PayerCompanyId",
        "PayerCustomerId",
        "DeliveryDate",
        "CurrencyId",
        "CashDiscount",
        pl.col("DeliveryAttention").alias("InvoiceAttention"),
    )
    joined = headers.join(orders, on="ReferenceOrderId").join(
        sums, left_on="Id", right_on="InvoiceId", how="left"
    )
    money_columns = [
        "Quantity",
        "SumLineDiscount",
        "SalesBalance",
        "CostValue",
        "Vat",
        *[f"VatDutiable{i}" for i in (1, 2, 3)],
        *[f"Vat{i}" for i in (1, 2, 3)],
    ]
    joined = joined.with_columns(
        *[pl.col(c).fill_null(0) for c in money_columns],
        rates.rate_at(joined["CurrencyId"], joined["InvoiceDate"]).alias("CurrencyRate"),
    )
    return joined.select(
        "Id",
        pl.lit(CLIENT_ID).alias("ClientId"),
        "InvoiceNo",
        "TypeId",
        "ReferenceOrderId",
        "BuyerCompanyId",
        "BuyerCustomerId",
        "PayerCompanyId",
        "PayerCustomerId",
        "DeliveryDate",
        "InvoiceDate",
        "InvoiceDueDate",
        "CurrencyId",
        "CurrencyRate",
        "CashDiscount",
        "FreightCost",
        "InvoiceFee",
        *money_columns,
        (pl.col("SalesBalance") + pl.col("Vat") + pl.col("InvoiceFee")).alias("InvoiceAmount"),
        pl.lit(0).alias("InvoiceRoundOff"),
        pl.lit(0).alias("VatRoundOff"),
        "InvoiceName",
        "InvoiceAttention",
        "InvoiceCareOf",
        pl.col("InvoiceDate").alias("Created"),
        pl.lit(SYSTEM_USER).alias("CreatedBy"),
    )


def invoice_items(store: Store) -> pl.DataFrame:
    """The lines of every invoiced order, one invoice item each, then credited lines."""
    orders = _documented_orders(store).select("Id", "_DocumentDate")
    items = store.base("Orders", "OrderItem").join(
        orders, left_on="OrderId", right_on="Id", how="semi"
    )
    dates = orders.rename({"Id": "OrderId"})
    invoiced = items.join(dates, on="OrderId", how="left").select(
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
    credited = credit_note_items(store)
    if credited.is_empty():
        return invoiced
    return pl.concat([invoiced, credited.cast(dict(invoiced.schema))])  # type: ignore[arg-type]


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

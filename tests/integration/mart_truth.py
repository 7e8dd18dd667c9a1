"""What the marts must say, computed from the simulator's own frames with polars.

Independent of the dbt project: nothing here reads the warehouse. Orders, lines, invoices
and credit invoices come from the simulator's truth; the customer is the buyer's normalised
email (the key the marts hash); rates come from the simulator's rate card history.
"""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl

from simulator.control import Simulator

FREIGHT = "FREIGHT"
CREDIT_NOTE = 2


def email_hash(email: str, salt: str) -> str:
    """The loader's privacy rule, re-derived: salted SHA-256 of the normalised email."""
    return hashlib.sha256((salt + "\x00" + email.strip().lower()).encode()).hexdigest()


def orders(sim: Simulator) -> pl.DataFrame:
    """Orders the warehouse must hold, one row each.

    Columns added: ``customer`` (normalised email, else ``order-<id>``), ``month`` (UTC),
    ``cancelled``, ``net_amount`` (every line amount), ``vat``, ``returned`` (credited
    line amounts, positive) and ``returned_units``.
    """
    frame = sim.truth("Orders", "Orders").filter(~pl.col("IsForgotten"))
    buyers = sim.store.frame("Orders", "OrderCustomerInfo").select(
        pl.col("Id").alias("BuyerCustomerInfoId"), pl.col("EmailAddress").alias("email")
    )
    items = sim.store.frame("Orders", "OrderItem")
    lines = items.group_by("OrderId").agg(
        pl.col("LineAmount").sum().alias("net_amount"),
        (pl.col("LineAmount") * pl.col("VatRate") / 100).sum().alias("vat"),
    )
    credited = (
        credit_lines(sim)
        .group_by("OrderId")
        .agg(
            (-pl.col("LineAmount")).sum().alias("returned"),
            (-pl.col("Quantity")).filter(pl.col("PartNo") != FREIGHT).sum().alias("returned_units"),
        )
    )
    return (
        frame.join(buyers, on="BuyerCustomerInfoId", how="left")
        .join(lines, left_on="Id", right_on="OrderId", how="left")
        .join(credited, left_on="Id", right_on="OrderId", how="left")
        .with_columns(
            customer=pl.coalesce(
                pl.col("email").str.strip_chars().str.to_lowercase(),
                pl.format("order-{}", pl.col("Id")),
            ),
            month=pl.col("OrderDate").dt.convert_time_zone("UTC").dt.truncate("1mo").dt.date(),
            cancelled=pl.col("StatusId") == 6,
            returned=pl.col("returned").fill_null(0),
            returned_units=pl.col("returned_units").fill_null(0),
        )
    )


def merchandise_lines(sim: Simulator, order_frame: pl.DataFrame) -> pl.DataFrame:
    """Merchandise lines of orders that count as revenue, with their product."""
    skus = sim.truth("Products", "ProductSkus").select("PartNo", "ProductId")
    return (
        sim.store.frame("Orders", "OrderItem")
        .filter(pl.col("PartNo") != FREIGHT)
        .join(
            order_frame.filter(~pl.col("cancelled")).select("Id"), left_on="OrderId", right_on="Id"
        )
        .join(skus, on="PartNo", how="left")
    )


def documents(sim: Simulator) -> pl.DataFrame:
    """Invoices and credit invoices of orders that are not forgotten."""
    kept = sim.truth("Orders", "Orders").filter(~pl.col("IsForgotten")).select("Id")
    return sim.truth("Orders", "Invoices").join(
        kept, left_on="ReferenceOrderId", right_on="Id", how="semi"
    )


def credit_lines(sim: Simulator) -> pl.DataFrame:
    """Lines of credit invoices, with the order they credit (``OrderId``)."""
    credit = sim.truth("Orders", "Invoices").filter(pl.col("TypeId") == CREDIT_NOTE)
    return sim.store.frame("Orders", "InvoiceItem").join(
        credit.select(pl.col("Id").alias("InvoiceId"), pl.col("ReferenceOrderId").alias("OrderId")),
        on="InvoiceId",
    )


def rate_at(sim: Simulator, currency_id: int, day: date) -> float:
    """The rate card's value of one unit in EUR in force at the end of ``day``."""
    rates = sim.exchange_rates().filter(
        (pl.col("CurrencyId") == currency_id) & (pl.col("ValidFrom").dt.date() <= day)
    )
    return float(rates.sort("ValidFrom")["ExchangeRate"][-1])


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)

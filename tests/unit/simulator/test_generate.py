"""Invariants of the generated tenant, checked with polars on the store's frames."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from simulator.control import DEFAULT_ANCHOR, Simulator
from simulator.generate.order_lines import FREIGHT_PART_NO

# The dtype contract of Store.frame, written out independently of simulator.store.
EXPECTED_DTYPES = {
    "Edm.Int32": pl.Int32(),
    "Edm.Int64": pl.Int64(),
    "Edm.Boolean": pl.Boolean(),
    "Edm.String": pl.String(),
    "Edm.Guid": pl.String(),
    "Edm.DateTimeOffset": pl.Datetime("us", "UTC"),
    "Edm.Double": pl.Float64(),
}


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator.create(seed=7, scale=0.1)


def frame(sim: Simulator, namespace: str, type_name: str) -> pl.DataFrame:
    return sim.store.frame(namespace, type_name)


def all_types(sim: Simulator) -> list[tuple[str, str]]:
    return [(ns.name, t) for ns in sim.schema.namespaces.values() for t in ns.types]


def test_scale_sets_volumes(sim: Simulator) -> None:
    stats = sim.stats()
    assert stats["Orders.Order"] == 6_000
    assert stats["Customers.Customer"] == 2_000
    assert stats["Products.Product"] == 500
    # Lookups do not scale.
    assert stats["Core.Application"] == 3
    assert stats["Application.Category"] == 40
    assert 1.5 < stats["Orders.OrderItem"] / stats["Orders.Order"] < 4.5
    assert stats["Orders.OrderCustomerInfo"] == 3 * stats["Orders.Order"]


def test_frames_follow_the_schema(sim: Simulator) -> None:
    for namespace, type_name in all_types(sim):
        entity_type = sim.schema.entity_type(namespace, type_name)
        df = frame(sim, namespace, type_name)
        assert df.columns == entity_type.property_names, type_name
        for prop in entity_type.properties:
            if prop.edm_type == "Edm.Decimal":
                assert df.schema[prop.name] == pl.Decimal(prop.precision, prop.scale)
            else:
                assert df.schema[prop.name] == EXPECTED_DTYPES[prop.edm_type], prop.name


def test_keys_unique_sorted_and_required_columns_filled(sim: Simulator) -> None:
    for namespace, type_name in all_types(sim):
        entity_type = sim.schema.entity_type(namespace, type_name)
        df = frame(sim, namespace, type_name)
        key = list(entity_type.key)
        assert df.select(key).is_unique().all(), f"{type_name} key not unique"
        assert df.equals(df.sort(key)), f"{type_name} not sorted by key"
        for prop in entity_type.properties:
            if not prop.nullable:
                assert df[prop.name].null_count() == 0, f"{type_name}.{prop.name} has nulls"


def test_every_lookup_and_catalogue_set_has_rows(sim: Simulator) -> None:
    stats = sim.stats()
    for name in (
        "Core.Country",
        "Core.Currency",
        "Core.PaymentMethod",
        "Core.DeliveryMethod",
        "Core.VatCode",
        "Core.SkuStatus",
        "Application.ManufacturerClient",
        "Application.PriceListClient",
        "Application.ApplicationCountry",
        "Application.ApplicationPriceList",
        "Application.CurrencyClient",
        "Application.ApplicationCulture",
        "Application.WarehouseClient",
        "Application.SalesAreaClient",
        "Application.CultureClient",
        "Products.ProductSku",
        "Products.ProductCategory",
        "Products.ProductSkuPricelist",
        "Products.SupplierProductSku",
        "Customers.CustomerAddress",
        "Customers.Company",
        "Customers.CustomerCompany",
        "Orders.OrderInfo",
        "Orders.Invoice",
        "Orders.InvoiceItem",
        "Orders.DeliveryNote",
        "Orders.DeliveryNoteItem",
    ):
        assert stats.get(name, 0) > 0, name


def test_exchange_rates_are_eur_based(sim: Simulator) -> None:
    currencies = frame(sim, "Core", "Currency")
    rates = dict(zip(currencies["Code"], currencies["ExchangeRate"], strict=True))
    assert set(rates) == {"SEK", "NOK", "EUR", "DKK", "USD"}
    assert rates["EUR"] == Decimal("1")
    assert Decimal("0.05") < rates["SEK"] < Decimal("0.2")


def test_order_references_exist(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order")
    items = frame(sim, "Orders", "OrderItem")
    assert items.join(orders, left_on="OrderId", right_on="Id", how="anti").height == 0
    skus = frame(sim, "Products", "ProductSku")
    products = items.filter(pl.col("PartNo") != FREIGHT_PART_NO)
    assert products.join(skus, on="PartNo", how="anti").height == 0
    customers = frame(sim, "Customers", "Customer")
    registered = orders.filter(pl.col("BuyerCustomerId").is_not_null())
    assert registered.join(
        customers, left_on="BuyerCustomerId", right_on="Id", how="anti"
    ).is_empty()
    infos = frame(sim, "Orders", "OrderCustomerInfo")
    for column in ("BuyerCustomerInfoId", "PayerCustomerInfoId", "ShipToCustomerInfoId"):
        assert orders[column].null_count() == 0
        assert orders.join(infos, left_on=column, right_on="Id", how="anti").is_empty()
    apps = frame(sim, "Core", "Application")["Id"]
    assert orders["ApplicationId"].is_in(apps.implode()).all()
    app_currency = {1: 1, 2: 2, 3: 3}  # SE shop in SEK, NO in NOK, DE in EUR
    assert (orders["ApplicationId"].replace_strict(app_currency) == orders["CurrencyId"]).all()


def test_statuses_and_history_shape(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order")
    assert set(orders["StatusId"].unique()) == {2, 4, 5, 6}
    share = orders["StatusId"].value_counts(normalize=True)
    cancelled = share.filter(pl.col("StatusId") == 6)["proportion"][0]
    assert 0.015 < cancelled < 0.05
    in_flight = orders.filter(pl.col("StatusId") == 2)
    assert in_flight["OrderDate"].min() >= DEFAULT_ANCHOR - timedelta(days=2)
    assert orders["OrderDate"].max() < DEFAULT_ANCHOR
    assert orders["OrderDate"].min() >= DEFAULT_ANCHOR - timedelta(days=730)
    apps = orders["ApplicationId"].value_counts(normalize=True).sort("ApplicationId")
    assert apps["proportion"].to_list() == pytest.approx([0.5, 0.3, 0.2], abs=0.05)
    # Seasonality: the Nov+Dec months beat the spring months.
    monthly = orders.group_by(pl.col("OrderDate").dt.month().alias("m")).len()
    by_month = dict(zip(monthly["m"], monthly["len"], strict=True))
    assert by_month[11] + by_month[12] > 1.3 * (by_month[3] + by_month[4])


def test_created_and_updated_rules(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order")
    lag = (orders["Created"] - orders["OrderDate"]).dt.total_seconds()
    assert lag.min() >= 0 and lag.max() <= 5
    assert 0.15 < orders["Updated"].is_null().mean() < 0.3
    updated = orders.filter(pl.col("Updated").is_not_null())
    assert (updated["Updated"] >= updated["Created"]).all()
    assert (updated["Updated"] - updated["Created"]).max() <= timedelta(days=2)
    assert updated["Updated"].max() < DEFAULT_ANCHOR
    assert (
        orders.filter(pl.col("StatusId") == 2)["Updated"].null_count()
        == orders.filter(pl.col("StatusId") == 2).height
    )


def test_line_money_identities(sim: Simulator) -> None:
    items = frame(sim, "Orders", "OrderItem")
    expected = pl.col("QtyOrdered") * pl.col("PriceSale") - pl.col("DiscountAmount")
    assert items.filter(expected != pl.col("LineAmount")).is_empty()
    for column in ("LineAmount", "PriceSale", "DiscountAmount", "CostUnit"):
        assert (
            (items[column] * 100).cast(pl.Int64).cast(pl.Decimal(18, 4)).equals(items[column] * 100)
        ), f"{column} has more than 2 decimals"
    assert (items["CostUnit"] == 0).mean() > 0.7
    assert (items["CostUnit"] > 0).any()
    per_order = items.group_by("OrderId").agg(
        pl.len().alias("lines"),
        pl.col("DiscountAmount").sum().alias("discount"),
        pl.col("LineAmount").filter(pl.col("PartNo") == FREIGHT_PART_NO).sum().alias("freight"),
        (pl.col("PartNo") == FREIGHT_PART_NO).sum().alias("freight_lines"),
    )
    orders = frame(sim, "Orders", "Order").join(per_order, left_on="Id", right_on="OrderId")
    assert orders.filter(pl.col("discount") != pl.col("LineDiscount")).is_empty()
    assert orders.filter(pl.col("freight") != pl.col("FreightCost")).is_empty()
    assert orders["freight_lines"].max() == 1
    assert (orders.filter(pl.col("FreightCost") > 0)["freight_lines"] == 1).all()
    assert (orders["lines"] - orders["freight_lines"]).is_between(1, 6).all()
    assert (orders["VatRate"] == 0).all()


def test_buyers_registered_and_guests(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order")
    assert 0.55 < orders["BuyerCustomerId"].is_not_null().mean() < 0.65
    infos = frame(sim, "Orders", "OrderCustomerInfo").select(
        pl.col("Id").alias("BuyerCustomerInfoId"), "EmailAddress"
    )
    buyers = orders.filter(~pl.col("IsForgotten")).join(infos, on="BuyerCustomerInfoId")
    assert buyers["EmailAddress"].null_count() == 0
    customers = frame(sim, "Customers", "Customer").select(
        pl.col("Id").alias("BuyerCustomerId"), pl.col("EmailAddress").alias("CustomerEmail")
    )
    registered = buyers.join(customers, on="BuyerCustomerId")
    assert (registered["EmailAddress"] == registered["CustomerEmail"]).all()
    repeat = registered.group_by("BuyerCustomerId").len()
    assert repeat["len"].max() >= 5 and (repeat["len"] == 1).any()
    guests = buyers.filter(pl.col("BuyerCustomerId").is_null()).group_by("EmailAddress").len()
    assert (guests["len"] >= 2).any()
    # Guest emails never collide with customer emails.
    assert guests.join(customers, left_on="EmailAddress", right_on="CustomerEmail").is_empty()


def test_customers_exist_before_their_first_order(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order").filter(pl.col("BuyerCustomerId").is_not_null())
    first = orders.group_by("BuyerCustomerId").agg(pl.col("Created").min().alias("first"))
    customers = frame(sim, "Customers", "Customer").join(
        first, left_on="Id", right_on="BuyerCustomerId"
    )
    assert (customers["Created"] < customers["first"]).all()


def test_forgotten_rows_are_anonymised(sim: Simulator) -> None:
    customers = frame(sim, "Customers", "Customer")
    forgotten = customers.filter(pl.col("IsForgotten"))
    assert 0 < forgotten.height < customers.height * 0.01
    assert forgotten["EmailAddress"].null_count() == forgotten.height
    orders = frame(sim, "Orders", "Order")
    theirs = orders.filter(pl.col("BuyerCustomerId").is_in(forgotten["Id"].implode()))
    assert theirs["IsForgotten"].all()
    gone = orders.filter(pl.col("IsForgotten"))
    assert gone.height >= 3 and gone["DeliveryAddressLine1"].null_count() == gone.height
    infos = frame(sim, "Orders", "OrderCustomerInfo").join(
        gone.select(pl.col("BuyerCustomerInfoId").alias("Id")), on="Id"
    )
    assert infos["EmailAddress"].null_count() == infos.height
    assert infos["ZipCode"].null_count() == 0  # not personal: kept for geography


def test_products_prices_and_categories(sim: Simulator) -> None:
    categories = frame(sim, "Products", "ProductCategory")
    primary = categories.group_by("ProductId").agg(pl.col("IsPrimary").sum())
    assert (primary["IsPrimary"] == 1).all()
    assert primary.height == frame(sim, "Products", "Product").height
    skus = frame(sim, "Products", "ProductSku")
    per_product = skus.group_by("ProductId").len()["len"]
    assert per_product.min() >= 1 and per_product.max() <= 4
    prices = frame(sim, "Products", "ProductSkuPricelist")
    assert prices.height == skus.height * 3
    assert (prices["QtyBreak"] == 1).all()
    assert 0.6 < (prices["CostPurchase"] > 0).mean() < 0.8
    assert (prices["PriceSale"] > 0).all()
    products = frame(sim, "Products", "Product")
    assert 0.1 < products["Updated"].is_null().mean() < 0.5


def test_reporting_equals_the_orders(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order").filter(
        (pl.col("StatusId") != 6) & ~pl.col("IsForgotten")
    )
    items = frame(sim, "Orders", "OrderItem").join(
        orders.select(pl.col("Id").alias("OrderId"), "ApplicationId", "CurrencyId", "OrderDate"),
        on="OrderId",
    )
    expected = (
        items.group_by(
            "ApplicationId",
            pl.col("OrderDate").dt.year().alias("Year"),
            pl.col("OrderDate").dt.month().alias("Month"),
            "CurrencyId",
        )
        .agg(
            pl.col("LineAmount").sum().alias("net"),
            pl.col("OrderId").n_unique().alias("count"),
        )
        .sort("ApplicationId", "Year", "Month", "CurrencyId")
    )
    summary = frame(sim, "Reporting", "OrderSummaryByMonth")
    assert summary["OrderCount"].to_list() == expected["count"].to_list()
    assert summary["NetAmount"].to_list() == expected["net"].to_list()
    assert summary["OrderCount"].sum() == orders.height
    freight = orders["FreightCost"].sum()
    assert summary["FreightAmount"].sum() == freight
    vat = (items["LineAmount"] * items["VatRate"] / 100).sum()
    assert summary["VatAmount"].sum() == vat

    kpi = frame(sim, "Core", "KpiOrder")
    assert kpi["OrderCount"].sum() == orders.height
    assert kpi["Date"].dt.hour().max() == 0
    rates = dict(frame(sim, "Core", "Currency").select("Id", "ExchangeRate").iter_rows())
    per_app = expected.group_by("ApplicationId", "CurrencyId").agg(pl.col("net").sum())
    eur = sum(net * rates[currency] for _, currency, net in per_app.iter_rows())
    assert abs(kpi["NetAmountEur"].sum() - eur) < Decimal("0.01") * kpi.height


def test_documents_mirror_orders(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order")
    documents = frame(sim, "Orders", "Invoice")
    invoices = documents.filter(pl.col("TypeId") == 1)
    done = orders.filter(pl.col("StatusId").is_in([4, 5]))
    assert sorted(invoices["ReferenceOrderId"]) == sorted(done["Id"])
    items = frame(sim, "Orders", "OrderItem").filter(pl.col("OrderId").is_in(done["Id"].implode()))
    invoice_items = frame(sim, "Orders", "InvoiceItem").filter(
        pl.col("InvoiceId").is_in(invoices["Id"].implode())
    )
    assert sorted(invoice_items["OrderItemId"]) == sorted(items["Id"])
    assert (
        documents["InvoiceAmount"]
        == documents["SalesBalance"] + documents["Vat"] + documents["InvoiceFee"]
    ).all()
    totals = invoice_items.group_by("InvoiceId").agg(pl.col("LineAmount").sum())
    checked = invoices.join(totals, left_on="Id", right_on="InvoiceId")
    assert (checked["SalesBalance"] == checked["LineAmount"]).all()
    notes = frame(sim, "Orders", "DeliveryNote")
    assert notes.height == done.height
    note_items = frame(sim, "Orders", "DeliveryNoteItem")
    assert (note_items["PartNo"] != FREIGHT_PART_NO).all()
    assert note_items.height == items.filter(pl.col("PartNo") != FREIGHT_PART_NO).height


# VAT the shop must charge, written out from the countries' published rates (percent):
# (standard, food, books) per delivery country, Finland by date.
VAT = {
    1: (25, 12, 6),
    2: (25, 15, 0),
    3: (25, 25, 25),
    5: (19, 7, 7),
    6: (20, 10, 10),
    7: (21, 9, 9),
    8: (20, Decimal("5.5"), Decimal("5.5")),
}
FINLAND = (  # from, (standard, food, books)
    (date(2024, 9, 1), (Decimal("25.5"), 14, 10)),
    (date(2025, 1, 1), (Decimal("25.5"), 14, 14)),
    (date(2026, 1, 1), (Decimal("25.5"), Decimal("13.5"), 14)),
)


def test_lines_carry_the_vat_of_the_delivery_country(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order").select(
        pl.col("Id").alias("OrderId"),
        "DeliveryCountryId",
        pl.col("OrderDate").dt.date().alias("day"),
    )
    lines = frame(sim, "Orders", "OrderItem").join(orders, on="OrderId")
    seen = lines.group_by("DeliveryCountryId").agg(pl.col("VatRate").unique())
    for country, rates in seen.iter_rows():
        if country == 4:
            allowed = {Decimal(r) for _, period in FINLAND for r in period}
        else:
            allowed = {Decimal(r) for r in VAT[country]}
        assert set(rates) <= allowed, country
    germany = set(lines.filter(pl.col("DeliveryCountryId") == 5)["VatRate"])
    assert germany == {Decimal(19), Decimal(7)}  # not Sweden's 25/12/6
    freight = lines.filter(pl.col("PartNo") == FREIGHT_PART_NO)
    standard = {c: Decimal(r[0]) for c, r in VAT.items()}
    for country, rate in freight.select("DeliveryCountryId", "VatRate").iter_rows():
        if country != 4:
            assert rate == standard[country], country
    finland = lines.filter(pl.col("DeliveryCountryId") == 4)
    in_2024 = set(finland.filter(pl.col("day") < date(2025, 1, 1))["VatRate"])
    assert in_2024 <= {Decimal("25.5"), Decimal(14), Decimal(10)}
    assert Decimal(10) not in set(finland.filter(pl.col("day") >= date(2025, 1, 1))["VatRate"])
    assert Decimal("13.5") in set(finland.filter(pl.col("day") >= date(2026, 1, 1))["VatRate"])
    assert Decimal("13.5") not in set(finland.filter(pl.col("day") < date(2026, 1, 1))["VatRate"])


def test_exchange_rates_change_monthly_and_invoices_carry_the_rate_of_their_date(
    sim: Simulator,
) -> None:
    invoices = frame(sim, "Orders", "Invoice").with_columns(
        pl.col("InvoiceDate").dt.truncate("1mo").alias("month")
    )
    per_month = invoices.group_by("CurrencyId", "month").agg(pl.col("CurrencyRate").n_unique())
    assert (per_month["CurrencyRate"] == 1).all()  # the card changes on the first
    sek = invoices.filter(pl.col("CurrencyId") == 1)["CurrencyRate"].unique()
    assert sek.len() > 12  # it does change
    assert (invoices.filter(pl.col("CurrencyId") == 3)["CurrencyRate"] == 1).all()  # EUR
    card = frame(sim, "Core", "Currency")
    current = dict(card.select("Id", "ExchangeRate").iter_rows())
    sek_october = invoices.filter(
        (pl.col("CurrencyId") == 1) & (pl.col("month") == datetime(2026, 10, 1, tzinfo=UTC))
    )["CurrencyRate"]
    assert sek_october.n_unique() == 1 and sek_october[0] != current[1]  # the card moved on
    sek_card = card.filter(pl.col("Code") == "SEK").row(0, named=True)
    assert sek_card["Updated"] == datetime(2026, 11, 1, tzinfo=UTC)


def test_partly_returned_orders_have_a_credit_invoice(sim: Simulator) -> None:
    orders = frame(sim, "Orders", "Order")
    documents = frame(sim, "Orders", "Invoice")
    credit = documents.filter(pl.col("TypeId") == 2)
    returned = orders.filter(pl.col("StatusId") == 5)
    assert sorted(credit["ReferenceOrderId"]) == sorted(returned["Id"])
    assert (credit["SalesBalance"] < 0).all() and (credit["Quantity"] < 0).all()
    delivered = credit.join(
        orders.select(pl.col("Id").alias("ReferenceOrderId"), pl.col("DeliveryDate").alias("d")),
        on="ReferenceOrderId",
    )
    assert (delivered["InvoiceDate"] > delivered["d"]).all()
    assert (delivered["InvoiceDate"] < DEFAULT_ANCHOR).all()
    items = frame(sim, "Orders", "InvoiceItem").filter(
        pl.col("InvoiceId").is_in(credit["Id"].implode())
    )
    lines = frame(sim, "Orders", "OrderItem").select(
        pl.col("Id").alias("OrderItemId"), pl.col("QtyOrdered").alias("ordered")
    )
    credited = items.join(lines, on="OrderItemId")
    assert credited.height == items.height
    assert (-credited["Quantity"] <= credited["ordered"]).all()
    assert (credited["PartNo"] != FREIGHT_PART_NO).all()


def test_same_seed_same_data_other_seed_other_data() -> None:
    anchor = datetime(2025, 6, 1, tzinfo=UTC)
    a = Simulator.create(seed=3, scale=0.02, anchor=anchor)
    b = Simulator.create(seed=3, scale=0.02, anchor=anchor)
    c = Simulator.create(seed=4, scale=0.02, anchor=anchor)
    for namespace, type_name in all_types(a):
        if namespace in ("Reporting",) or type_name == "KpiOrder":
            continue  # carry the computation time in Updated
        assert a.store.frame(namespace, type_name).equals(b.store.frame(namespace, type_name))
    assert not a.store.frame("Orders", "Order").equals(c.store.frame("Orders", "Order"))
    assert not a.store.frame("Customers", "Customer").equals(c.store.frame("Customers", "Customer"))
    assert a.store.frame("Orders", "Order")["OrderDate"].max() < anchor
    summary_a = a.store.frame("Reporting", "OrderSummaryByMonth").drop("Updated")
    assert summary_a.equals(b.store.frame("Reporting", "OrderSummaryByMonth").drop("Updated"))


def test_scale_must_be_positive() -> None:
    with pytest.raises(ValueError, match="scale"):
        Simulator.create(scale=0)
    with pytest.raises(ValueError, match="timezone"):
        Simulator.create(scale=0.01, anchor=datetime(2026, 1, 1))

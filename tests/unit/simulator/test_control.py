"""Every Simulator control method: effects, invariants kept, version bumps."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import polars as pl
import pytest

from simulator.control import Simulator
from simulator.generate.order_lines import FREIGHT_PART_NO


@pytest.fixture
def sim() -> Simulator:
    # Function scope: every test mutates its own tenant.
    return Simulator.create(seed=11, scale=0.03)


def orders(sim: Simulator) -> pl.DataFrame:
    return sim.truth("Orders", "Orders")


def rows(df: pl.DataFrame, ids: list[int], column: str = "Id") -> pl.DataFrame:
    return df.filter(pl.col(column).is_in(ids))


def assert_lines_consistent(sim: Simulator) -> None:
    items = sim.store.frame("Orders", "OrderItem")
    amount = pl.col("QtyOrdered") * pl.col("PriceSale") - pl.col("DiscountAmount")
    assert items.filter(amount != pl.col("LineAmount")).is_empty()
    per_order = items.group_by("OrderId").agg(
        pl.col("DiscountAmount").sum().alias("discount"),
        pl.col("LineAmount").filter(pl.col("PartNo") == FREIGHT_PART_NO).sum().alias("freight"),
    )
    joined = orders(sim).join(per_order, left_on="Id", right_on="OrderId")
    assert joined.filter(pl.col("discount") != pl.col("LineDiscount")).is_empty()
    assert joined.filter(pl.col("freight") != pl.col("FreightCost")).is_empty()
    summary = sim.store.frame("Reporting", "OrderSummaryByMonth")
    live = orders(sim).filter((pl.col("StatusId") != 6) & ~pl.col("IsForgotten"))
    assert summary["OrderCount"].sum() == live.height
    net = items.filter(pl.col("OrderId").is_in(live["Id"].implode()))["LineAmount"].sum()
    assert summary["NetAmount"].sum() == net


def test_advance_moves_the_clock(sim: Simulator) -> None:
    before = sim.clock.now()
    after = sim.advance(3600)
    assert after - before >= timedelta(seconds=3600)
    with pytest.raises(ValueError):
        sim.advance(-1)


def test_create_orders_appends_new_in_flight_orders(sim: Simulator) -> None:
    before = orders(sim)
    version = sim.store.version
    ids = sim.create_orders(25, application_id=2)
    assert sim.store.version > version
    assert len(ids) == 25 and min(ids) > before["Id"].max()
    new = rows(orders(sim), ids)
    assert new.height == 25
    assert (new["StatusId"] == 2).all() and (new["ApplicationId"] == 2).all()
    assert (new["CurrencyId"] == 2).all()
    assert new["Updated"].null_count() == 25
    now = sim.clock.now()
    assert ((now - new["Created"]).dt.total_seconds() < 60).all()
    items = rows(sim.store.frame("Orders", "OrderItem"), ids, "OrderId")
    products = items.filter(pl.col("PartNo") != FREIGHT_PART_NO).group_by("OrderId").len()
    assert products["len"].is_between(1, 6).all() and products.height == 25
    skus = sim.store.frame("Products", "ProductSku")
    assert (
        items.filter(pl.col("PartNo") != FREIGHT_PART_NO)
        .join(skus, on="PartNo", how="anti")
        .is_empty()
    )
    infos = sim.store.frame("Orders", "OrderCustomerInfo")
    buyers = infos.join(new.select(pl.col("BuyerCustomerInfoId").alias("Id")), on="Id")
    assert buyers.height == 25 and buyers["EmailAddress"].null_count() == 0
    assert (
        sim.store.frame("Orders", "Invoice")
        .filter(pl.col("ReferenceOrderId").is_in(ids))
        .is_empty()
    )
    assert_lines_consistent(sim)


def test_create_orders_by_share_and_unknown_application(sim: Simulator) -> None:
    ids = sim.create_orders(60)
    assert set(rows(orders(sim), ids)["ApplicationId"]) <= {1, 2, 3}
    with pytest.raises(ValueError, match="unknown application id 9"):
        sim.create_orders(1, application_id=9)


def test_update_orders_moves_status_and_stamps_updated(sim: Simulator) -> None:
    new = sim.create_orders(3)
    sim.advance(120)
    updated = sim.update_orders(ids=new)
    now = sim.clock.now()
    assert updated == new
    changed = rows(orders(sim), new)
    assert (changed["StatusId"] == 4).all()
    assert ((now - changed["Updated"]).dt.total_seconds().abs() < 5).all()
    assert (changed["UpdatedBy"] == 2).all()
    lines = rows(sim.store.frame("Orders", "OrderItem"), new, "OrderId")
    assert (lines["StatusId"] == 4).all() and lines["Updated"].null_count() == 0
    invoiced = sim.store.frame("Orders", "Invoice").filter(pl.col("ReferenceOrderId").is_in(new))
    assert invoiced.height == 3  # completed orders gain their invoice
    assert_lines_consistent(sim)


def test_a_part_return_issues_a_credit_invoice_and_keeps_the_order_as_ordered(
    sim: Simulator,
) -> None:
    items = sim.store.frame("Orders", "OrderItem")
    completed = orders(sim).filter(pl.col("StatusId") == 4)
    target = completed["Id"].head(5).to_list()
    lines_before = rows(items, target, "OrderId")
    sim.advance(600)
    sim.update_orders(ids=target)
    now = sim.clock.now()
    assert (rows(orders(sim), target)["StatusId"] == 5).all()
    after = rows(sim.store.frame("Orders", "OrderItem"), target, "OrderId")
    assert after.drop("StatusId", "Updated", "UpdatedBy").equals(
        lines_before.drop("StatusId", "Updated", "UpdatedBy")
    )  # the order keeps its lines as ordered

    invoices = sim.store.frame("Orders", "Invoice").filter(pl.col("ReferenceOrderId").is_in(target))
    credit = invoices.filter(pl.col("TypeId") == 2)
    assert sorted(credit["ReferenceOrderId"]) == sorted(target)
    assert ((now - credit["InvoiceDate"]).dt.total_seconds().abs() < 5).all()
    assert (credit["Quantity"] == -1).all()
    assert (credit["SalesBalance"] < 0).all() and (credit["InvoiceFee"] == 0).all()
    assert (credit["InvoiceAmount"] == credit["SalesBalance"] + credit["Vat"]).all()
    credit_items = sim.store.frame("Orders", "InvoiceItem").filter(
        pl.col("InvoiceId").is_in(credit["Id"].implode())
    )
    assert credit_items.height == len(target) and (credit_items["Quantity"] == -1).all()
    returned = credit_items.join(
        after.select(pl.col("Id").alias("OrderItemId"), "QtyOrdered", "PriceSale", "LineAmount"),
        on="OrderItemId",
    )
    assert (returned["PartNo"] != FREIGHT_PART_NO).all()
    # one unit's share of the line, to the cent
    share = returned["LineAmount_right"].cast(pl.Float64) / returned["QtyOrdered"].cast(pl.Float64)
    assert ((returned["LineAmount"].cast(pl.Float64) + share).abs() <= 0.005001).all()
    assert_lines_consistent(sim)


def test_rename_cost_and_rate_changes_are_stamped(sim: Simulator) -> None:
    sim.advance(60)
    assert sim.rename("Products", "Products", 3, "Renamed sweater") == 1
    assert sim.rename("Core", "PaymentMethods", 1, "Kort") == 1
    assert sim.rename("Core", "PaymentMethods", 999, "Nobody") == 0
    now = sim.clock.now()
    product = rows(sim.truth("Products", "Products"), [3]).row(0, named=True)
    assert product["DefaultName"] == "Renamed sweater"
    assert abs((now - product["Updated"]).total_seconds()) < 5
    assert rows(sim.truth("Core", "PaymentMethods"), [1])["DefaultName"][0] == "Kort"

    price = sim.truth("Products", "ProductSkuPriceLists").row(0, named=True)
    assert sim.set_cost(price["PartNo"], price["PriceListId"], Decimal("12.50")) == 1
    changed = sim.truth("Products", "ProductSkuPriceLists").filter(
        (pl.col("PartNo") == price["PartNo"]) & (pl.col("PriceListId") == price["PriceListId"])
    )
    assert changed["CostUnit"][0] == Decimal("12.50") and changed["Updated"][0] >= now

    old_invoices = sim.truth("Orders", "Invoices").select("Id", "CurrencyRate")
    sim.set_exchange_rate("sek", Decimal("0.09"))
    sek = sim.truth("Core", "Currencies").filter(pl.col("Code") == "SEK").row(0, named=True)
    assert sek["ExchangeRate"] == Decimal("0.09") and sek["Updated"] >= now
    client = sim.truth("Application", "ClientCurrencies").filter(pl.col("CurrencyId") == sek["Id"])
    assert client["ExchangeRate"][0] == Decimal("0.09")
    # issued invoices keep their rate; one issued now carries the new one
    assert (
        sim.truth("Orders", "Invoices")
        .select("Id", "CurrencyRate")
        .join(old_invoices, on="Id")
        .filter(pl.col("CurrencyRate") != pl.col("CurrencyRate_right"))
        .is_empty()
    )
    new = sim.create_orders(2, application_id=1)
    sim.update_orders(ids=new)
    invoiced = sim.truth("Orders", "Invoices").filter(pl.col("ReferenceOrderId").is_in(new))
    assert (invoiced["CurrencyRate"] == Decimal("0.09")).all() and invoiced.height == 2
    nok = sim.truth("Core", "Currencies").filter(pl.col("Code") == "NOK")["ExchangeRate"][0]
    norway = sim.create_orders(1, application_id=2)
    sim.update_orders(ids=norway)
    issued = sim.truth("Orders", "Invoices").filter(pl.col("ReferenceOrderId").is_in(norway))
    assert issued["CurrencyRate"].to_list() == [nok]  # an unchanged card: today's rate
    with pytest.raises(KeyError, match="XXX"):
        sim.set_exchange_rate("XXX", Decimal(1))
    with pytest.raises(ValueError, match="positive"):
        sim.set_exchange_rate("SEK", Decimal(0))


def test_update_orders_random_prefers_in_flight(sim: Simulator) -> None:
    in_flight = orders(sim).filter(pl.col("StatusId") == 2)["Id"].to_list()
    picked = sim.update_orders(3)
    assert len(picked) == 3
    assert set(picked) & set(in_flight)


def test_update_customers_stamps_updated(sim: Simulator) -> None:
    before = sim.truth("Customers", "Customers")
    sim.advance(60)
    ids = sim.update_customers(10)
    now = sim.clock.now()
    after = rows(sim.truth("Customers", "Customers"), ids)
    assert len(ids) == 10
    assert ((now - after["Updated"]).dt.total_seconds().abs() < 5).all()
    old = rows(before, ids)
    assert (after["CellPhoneNumber"] != old["CellPhoneNumber"]).any()
    assert (after["EmailAddress"] == old["EmailAddress"]).all()  # identity key stays


def test_forget_orders_keeps_updated(sim: Simulator) -> None:
    before = orders(sim)
    version = sim.store.version
    ids = sim.forget_orders(4)
    assert len(ids) == 4 and sim.store.version > version
    after = rows(orders(sim), ids)
    assert after["IsForgotten"].all()
    assert after["DeliveryAttention"].null_count() == 4
    assert after["Updated"].equals(rows(before, ids)["Updated"])
    infos = sim.store.frame("Orders", "OrderCustomerInfo").filter(
        pl.col("Id").is_in(after["BuyerCustomerInfoId"].implode())
    )
    assert infos["EmailAddress"].null_count() == 4 and infos["LastName"].null_count() == 4
    assert not set(ids) & set(sim.forget_orders(10_000))  # already forgotten are not picked


def test_forget_customers_forgets_their_orders(sim: Simulator) -> None:
    buyers = orders(sim).filter(pl.col("BuyerCustomerId").is_not_null() & ~pl.col("IsForgotten"))
    customer = int(buyers["BuyerCustomerId"][0])
    before = sim.truth("Customers", "Customers")
    assert sim.forget_customers(ids=[customer]) == [customer]
    row = rows(sim.truth("Customers", "Customers"), [customer])
    assert row["IsForgotten"].all() and row["EmailAddress"].null_count() == 1
    assert row["Updated"].equals(rows(before, [customer])["Updated"])
    theirs = orders(sim).filter(pl.col("BuyerCustomerId") == customer)
    assert theirs.height >= 1 and theirs["IsForgotten"].all()
    addresses = sim.store.frame("Customers", "CustomerAddress").filter(
        pl.col("CustomerId") == customer
    )
    assert addresses["AddressLine1"].null_count() == addresses.height
    # A forgotten customer is no longer picked as a buyer or edited.
    assert customer not in sim.update_customers(ids=[customer])


def test_delete_orders_leaves_no_trace(sim: Simulator) -> None:
    ids = sim.delete_orders(3)
    assert len(ids) == 3
    assert rows(orders(sim), ids).is_empty()
    for type_name in ("OrderItem", "OrderInfo"):
        assert rows(sim.store.frame("Orders", type_name), ids, "OrderId").is_empty()
    assert (
        sim.store.frame("Orders", "Invoice")
        .filter(pl.col("ReferenceOrderId").is_in(ids))
        .is_empty()
    )
    assert sim.delete_orders(ids=[ids[0], 1]) == []  # unknown ids are skipped
    assert_lines_consistent(sim)


def test_deleted_ids_are_never_reused(sim: Simulator) -> None:
    newest = int(orders(sim)["Id"].max())
    newest_item = int(sim.store.frame("Orders", "OrderItem")["Id"].max())
    assert sim.delete_orders(ids=[newest]) == [newest]
    first = sim.create_orders(1)
    assert first[0] > newest
    new_items = rows(sim.store.frame("Orders", "OrderItem"), first, "OrderId")
    assert new_items["Id"].min() > newest_item
    assert sim.delete_orders(ids=first) == first
    assert sim.create_orders(1)[0] > first[0]


def test_frames_taken_before_a_change_do_not_change(sim: Simulator) -> None:
    snapshot = orders(sim)
    copy = snapshot.clone()
    sim.forget_orders(5)
    sim.update_orders(5)
    sim.create_orders(5)
    assert snapshot.equals(copy)


def test_add_property_adds_a_column_with_default(sim: Simulator) -> None:
    version = sim.store.version
    sim.add_property("Orders", "Order", "Channel", default="web")
    assert sim.store.version > version
    df = orders(sim)
    assert df.columns[-1] == "Channel" and (df["Channel"] == "web").all()
    ids = sim.create_orders(2)
    assert (rows(orders(sim), ids)["Channel"] == "web").all()
    sim.add_property("Orders", "OrderItem", "Margin", "Edm.Decimal")
    items = sim.store.frame("Orders", "OrderItem")
    assert (
        items.schema["Margin"] == pl.Decimal(18, 4) and items["Margin"].null_count() == items.height
    )
    with pytest.raises(ValueError):
        sim.add_property("Orders", "Order", "Channel")


def test_remove_property_hides_the_column(sim: Simulator) -> None:
    sim.remove_property("Orders", "Order", "OrderNo")
    assert "OrderNo" not in orders(sim).columns
    sim.update_orders(2)  # changes still work without the column
    with pytest.raises(ValueError):
        sim.remove_property("Orders", "Order", "Id")
    with pytest.raises(KeyError):
        sim.remove_property("Orders", "Order", "NoSuchProperty")


def test_change_type_converts_values(sim: Simulator) -> None:
    ids = orders(sim)["StatusId"].head(3).to_list()
    sim.change_type("Orders", "Order", "StatusId", "Edm.Int64")
    assert (
        orders(sim).schema["StatusId"] == pl.Int64
        and orders(sim)["StatusId"].head(3).to_list() == ids
    )
    sim.change_type("Orders", "Order", "OrderNo", "Edm.Int64")
    assert orders(sim)["OrderNo"].null_count() == 0
    sim.change_type("Orders", "Order", "Created", "Edm.String")
    assert orders(sim)["Created"].str.ends_with("Z").all()
    prop = sim.schema.entity_type("Orders", "Order").prop("FreightCost")
    sim.change_type("Orders", "Order", "FreightCost", "Edm.Double")
    assert orders(sim).schema["FreightCost"] == pl.Float64
    assert sim.schema.entity_type("Orders", "Order").prop("FreightCost").precision is None
    assert prop.precision == 18


def test_truth_and_stats(sim: Simulator) -> None:
    assert sim.truth("Orders", "Orders").equals(sim.store.frame("Orders", "Order"))
    with pytest.raises(KeyError):
        sim.truth("Orders", "OrderItems")  # expand-only: no entity set
    stats = sim.stats()
    assert stats["Orders.Order"] == orders(sim).height
    assert all(isinstance(v, int) and v > 0 for v in stats.values())


def test_random_selection_is_deterministic() -> None:
    a = Simulator.create(seed=5, scale=0.01)
    b = Simulator.create(seed=5, scale=0.01)
    assert a.forget_orders(3) == b.forget_orders(3)
    assert a.update_customers(3) == b.update_customers(3)
    assert a.delete_orders(2) == b.delete_orders(2)

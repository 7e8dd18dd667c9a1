"""Reconciling catalog entries with $metadata: columns, $select/$expand, privacy, warnings."""

from __future__ import annotations

import functools

import pyarrow as pa
import pytest

from extract.errors import DataContractError
from extract.schema.catalog import CATALOG, ChildSpec, EntitySpec, FlattenSpec, by_path
from extract.schema.metadata import (
    EdmEntityType,
    EdmNavigation,
    EdmProperty,
    EdmService,
    parse_edmx,
)
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import PARENT, reconcile


def P(name: str, edm_type: str = "Edm.String", nullable: bool = True) -> EdmProperty:
    if edm_type == "Edm.Decimal":
        return EdmProperty(name, edm_type, nullable, precision=18, scale=4)
    return EdmProperty(name, edm_type, nullable)


def entity(
    name: str,
    key: tuple[str, ...],
    props: list[EdmProperty],
    navs: tuple[EdmNavigation, ...] = (),
) -> EdmEntityType:
    return EdmEntityType("Orders", name, key, tuple(props), navs)


ORDER_PROPS = [
    P("Id", "Edm.Int64", False),
    P("ApplicationId", "Edm.Int32"),
    P("OrderNo"),
    P("OrderDate", "Edm.DateTimeOffset", False),
    P("DeliveryAttention"),
    P("DeliveryAddressLine1"),
    P("DeliveryCity"),
    P("FreightCost", "Edm.Decimal", False),
    P("Created", "Edm.DateTimeOffset", False),
    P("Updated", "Edm.DateTimeOffset"),
    P("IsForgotten", "Edm.Boolean", False),
    P("LoyaltyTier"),  # not in the catalog: a new property the tenant added
]
ITEM_PROPS = [
    P("Id", "Edm.Int64", False),
    P("OrderId", "Edm.Int64", False),
    P("LineAmount", "Edm.Decimal"),
]
INFO_PROPS = [
    P("Id", "Edm.Int64", False),
    P("FirstName"),
    P("LastName"),
    P("PhoneNumber"),
    P("City"),
    P("EmailAddress"),
]


def orders_service(
    order_props: list[EdmProperty] | None = None,
    navs: tuple[EdmNavigation, ...] | None = None,
    item_props: list[EdmProperty] | None = None,
) -> EdmService:
    """An Orders namespace with Items, Buyer and Payer (no Infos, no ShipTo)."""
    if navs is None:
        navs = (
            EdmNavigation("Items", "OrderItem", True),
            EdmNavigation("Buyer", "OrderCustomerInfo", False),
            EdmNavigation("Payer", "OrderCustomerInfo", False),
        )
    types = {
        "Order": entity("Order", ("Id",), order_props or ORDER_PROPS, navs),
        "OrderItem": entity("OrderItem", ("Id",), item_props or ITEM_PROPS),
        "OrderCustomerInfo": entity("OrderCustomerInfo", ("Id",), INFO_PROPS),
    }
    return EdmService("Orders", types, {"Orders": "Order"})


ORDERS = by_path()["Orders/Orders"]
POLICY = PrivacyPolicy("salt")


def test_orders_plan_request_options() -> None:
    plan = reconcile(ORDERS, orders_service(), POLICY)

    assert plan.select == (
        "Id,ApplicationId,OrderNo,OrderDate,DeliveryCity,FreightCost,Created,Updated,"
        "IsForgotten,LoyaltyTier"
    )
    # Items requests every declared property: no nested $select, a shorter URL.
    assert plan.expand == (
        "Items,Buyer($select=Id,City,EmailAddress),Payer($select=Id,City,EmailAddress)"
    )
    assert plan.cursor == ("Updated", "Created")
    assert plan.forgotten_field == "IsForgotten"
    assert plan.backfill_field == "OrderDate"
    assert plan.application_filter is True
    assert not plan.full_refresh
    assert plan.entity_type.name == "Order"


def test_orders_plan_tables_and_columns() -> None:
    plan = reconcile(ORDERS, orders_service(), POLICY)

    assert list(plan.tables) == ["orders", "order_items"]
    main = plan.tables["orders"]
    assert (main.key, main.parent_key, main.navigation) == (("Id",), None, None)
    assert [c.name for c in main.columns][-6:] == [
        "Buyer_Id",
        "Buyer_City",
        "Buyer_EmailAddressHash",
        "Payer_Id",
        "Payer_City",
        "Payer_EmailAddressHash",
    ]
    by_name = {c.name: c for c in main.columns}
    assert by_name["Id"].duckdb_type == "BIGINT"
    assert by_name["Id"].arrow_type == pa.int64()
    assert by_name["FreightCost"].duckdb_type == "DECIMAL(18,4)"
    assert by_name["Buyer_City"].source == ("Buyer", "City")
    items = plan.tables["order_items"]
    assert (items.key, items.parent_key, items.navigation) == (("Id",), ("OrderId",), "Items")
    assert [c.name for c in items.columns] == ["Id", "OrderId", "LineAmount"]
    assert [c.source for c in items.columns] == [("Id",), ("OrderId",), ("LineAmount",)]


def test_dropped_personal_fields_are_never_requested() -> None:
    plan = reconcile(ORDERS, orders_service(), POLICY)

    requested = f"{plan.select},{plan.expand}"
    for field in ("DeliveryAttention", "DeliveryAddressLine1", "FirstName", "LastName", "Phone"):
        assert field not in requested
    names = {c.name for t in plan.tables.values() for c in t.columns}
    assert not {"DeliveryAttention", "Buyer_FirstName", "Buyer_PhoneNumber"} & names


def test_hashed_fields_are_requested_and_stored_as_hash_columns() -> None:
    plan = reconcile(ORDERS, orders_service(), POLICY)

    column = next(c for c in plan.main.columns if c.name == "Buyer_EmailAddressHash")
    assert column.action == "hash"
    assert column.source == ("Buyer", "EmailAddress")
    assert column.edm.name == "EmailAddress"
    assert (column.duckdb_type, column.arrow_type) == ("VARCHAR", pa.string())
    assert "Buyer_EmailAddress" not in {c.name for c in plan.main.columns}


def test_overrides_keep_and_drop() -> None:
    policy = PrivacyPolicy(
        "salt",
        {
            "orders.Buyer_EmailAddress": "keep",
            "orders.Buyer_City": "drop",
            "orders.DeliveryAttention": "keep",
            "orders.OrderNo": "hash",
        },
    )

    plan = reconcile(ORDERS, orders_service(), policy)

    names = [c.name for c in plan.main.columns]
    assert "Buyer_EmailAddress" in names and "Buyer_EmailAddressHash" not in names
    assert "Buyer_City" not in names and "Payer_City" in names
    assert "DeliveryAttention" in names and "DeliveryAttention" in plan.select.split(",")
    assert "OrderNoHash" in names and "OrderNo" in plan.select.split(",")
    assert "Buyer($select=Id,EmailAddress)" in (plan.expand or "")


def test_undeclared_expands_are_skipped_with_a_warning() -> None:
    plan = reconcile(ORDERS, orders_service(), POLICY)

    assert plan.warnings == (
        "Orders/Orders: expand Infos not declared by the service; left out",
        "Orders/Orders: expand ShipTo not declared by the service; left out",
    )


def test_undeclared_selected_field_is_skipped_with_a_warning() -> None:
    spec = EntitySpec(
        "Orders",
        "Orders",
        "orders",
        key=("Id",),
        select=("OrderNo", "Shipped"),
        children=(ChildSpec("Items", "order_items", ("Id",), ("OrderId",), select=("Qty",)),),
    )

    plan = reconcile(spec, orders_service(), POLICY)

    # Keys and cursor fields are requested even when the select leaves them out.
    assert plan.select == "Id,OrderNo,Created,Updated"
    assert plan.expand == "Items($select=Id,OrderId)"
    assert plan.warnings == (
        "Orders/Orders: field Shipped not declared by the service; left out",
        "Orders/Orders: Items field Qty not declared by the service; left out",
    )


def test_missing_cursor_falls_back_to_full_loads() -> None:
    props = [p for p in ORDER_PROPS if p.name not in ("Created", "Updated")]

    plan = reconcile(ORDERS, orders_service(order_props=props), POLICY)

    assert plan.cursor == ()
    assert plan.full_refresh
    assert (
        "Orders/Orders: cursor field Updated, Created not declared by the service; "
        "no cursor left, falling back to full loads"
    ) in plan.warnings


def test_partly_missing_cursor_keeps_the_rest() -> None:
    props = [p for p in ORDER_PROPS if p.name != "Updated"]

    plan = reconcile(ORDERS, orders_service(order_props=props), POLICY)

    assert plan.cursor == ("Created",)
    assert (
        "Orders/Orders: cursor field Updated not declared by the service; "
        "incremental loads use Created"
    ) in plan.warnings


def test_missing_optional_fields_are_warned_and_left_out() -> None:
    props = [p for p in ORDER_PROPS if p.name not in ("IsForgotten", "OrderDate", "ApplicationId")]

    plan = reconcile(ORDERS, orders_service(order_props=props), POLICY)

    assert plan.forgotten_field is None
    assert plan.backfill_field is None
    assert plan.application_filter is False
    assert any("GDPR flag IsForgotten not declared" in w for w in plan.warnings)
    assert any("backfill field OrderDate not declared" in w for w in plan.warnings)
    assert any("ApplicationId not declared" in w for w in plan.warnings)


def test_missing_key_is_a_data_contract_error() -> None:
    props = [P("Number", "Edm.Int64", False), P("Updated", "Edm.DateTimeOffset")]
    service = orders_service(order_props=props, navs=())

    with pytest.raises(DataContractError, match=r"Orders/Orders: key Id of raw.orders"):
        reconcile(ORDERS, service, POLICY)


def test_missing_set_is_a_data_contract_error() -> None:
    spec = EntitySpec("Orders", "Invoices", "invoices", key=("Id",))

    with pytest.raises(DataContractError, match="no entity set 'Invoices'"):
        reconcile(spec, orders_service(), POLICY)


def test_child_without_parent_key_gets_it_from_the_parent_row() -> None:
    items = [P("Id", "Edm.Int64", False), P("LineAmount", "Edm.Decimal")]

    plan = reconcile(ORDERS, orders_service(item_props=items), POLICY)

    table = plan.tables["order_items"]
    assert [c.name for c in table.columns] == ["OrderId", "Id", "LineAmount"]
    parent = table.columns[0]
    assert parent.source == (PARENT, "Id")
    assert (parent.duckdb_type, parent.arrow_type) == ("BIGINT", pa.int64())
    assert plan.expand is not None and plan.expand.startswith("Items,")


def test_child_key_missing_is_a_data_contract_error() -> None:
    items = [P("OrderId", "Edm.Int64", False), P("LineAmount", "Edm.Decimal")]

    with pytest.raises(DataContractError, match=r"key Id of raw\.order_items"):
        reconcile(ORDERS, orders_service(item_props=items), POLICY)


@pytest.mark.parametrize("column", ["orders.Id", "orders.Updated", "order_items.OrderId"])
def test_key_and_cursor_columns_cannot_be_dropped(column: str) -> None:
    policy = PrivacyPolicy("salt", {column: "drop"})

    with pytest.raises(DataContractError, match="cannot be dropped"):
        reconcile(ORDERS, orders_service(), policy)


def test_navigation_of_the_wrong_shape_is_skipped() -> None:
    navs = (
        EdmNavigation("Items", "OrderItem", False),
        EdmNavigation("Buyer", "OrderCustomerInfo", True),
    )

    plan = reconcile(ORDERS, orders_service(navs=navs), POLICY)

    assert list(plan.tables) == ["orders"]
    assert "Orders/Orders: expand Items is single-valued in the service, unlike the catalog; " in (
        "\n".join(plan.warnings)
    )
    assert "expand Buyer is a collection in the service" in "\n".join(plan.warnings)


def test_unsupported_type_is_loaded_as_varchar_with_a_warning() -> None:
    props = [*ORDER_PROPS, P("Location", "Edm.GeographyPoint")]

    plan = reconcile(ORDERS, orders_service(order_props=props), POLICY)

    column = next(c for c in plan.main.columns if c.name == "Location")
    assert column.duckdb_type == "VARCHAR"
    assert "Orders/Orders: Location has unsupported type Edm.GeographyPoint; loaded as VARCHAR" in (
        plan.warnings
    )


def test_flattened_navigation_with_only_dropped_fields_is_not_requested() -> None:
    spec = EntitySpec(
        "Orders",
        "Orders",
        "orders",
        key=("Id",),
        flatten=(
            FlattenSpec("Buyer", "Buyer_", select=("FirstName",), personal={"FirstName": "name"}),
        ),
    )

    plan = reconcile(spec, orders_service(), POLICY)

    assert plan.expand is None
    assert plan.warnings == ("Orders/Orders: expand Buyer: every field is dropped; not requested",)


def test_column_name_clash_is_a_data_contract_error() -> None:
    props = [*ORDER_PROPS, P("Buyer_City")]

    with pytest.raises(DataContractError, match=r"two columns of raw\.orders are named Buyer_City"):
        reconcile(ORDERS, orders_service(order_props=props), POLICY)


@functools.cache
def _simulator_service(namespace: str) -> EdmService:
    """The namespace as the bundled simulator's $metadata declares it."""
    from simulator.edmx import render_metadata
    from simulator.schema import build_schema

    return parse_edmx(render_metadata(build_schema(), namespace))


@pytest.mark.parametrize("spec", CATALOG, ids=lambda s: s.path)
def test_whole_catalog_reconciles_with_the_reference_schema(spec: EntitySpec) -> None:
    plan = reconcile(spec, _simulator_service(spec.namespace), POLICY)

    assert plan.warnings == ()
    assert list(plan.tables) == list(spec.tables)
    for table in plan.tables.values():
        names = [c.name for c in table.columns]
        assert set(table.key) <= set(names)
        assert set(table.parent_key or ()) <= set(names)

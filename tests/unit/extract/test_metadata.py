"""Parsing OData v4 CSDL ($metadata) into the service model."""

from __future__ import annotations

import pytest

from extract.errors import DataContractError
from extract.schema.metadata import EdmNavigation, EdmProperty, parse_edmx

EDMX = b"""<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Orders" Alias="O" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="Order">
        <Key><PropertyRef Name="Id" /></Key>
        <Property Name="Id" Type="Edm.Int64" Nullable="false" />
        <Property Name="OrderNo" Type="Edm.String" MaxLength="50" />
        <Property Name="Note" Type="Edm.String" MaxLength="max" />
        <Property Name="FreightCost" Type="Edm.Decimal" Nullable="false" Precision="18"
                  Scale="4" />
        <Property Name="Rate" Type="Edm.Decimal" Precision="38" Scale="variable" />
        <Property Name="Updated" Type="Edm.DateTimeOffset" Nullable="true" />
        <Property Name="BuyerCustomerInfoId" Type="Edm.Int64" />
        <NavigationProperty Name="Items" Type="Collection(Orders.OrderItem)" />
        <NavigationProperty Name="Buyer" Type="O.OrderCustomerInfo" />
      </EntityType>
      <EntityType Name="OrderItem">
        <Key><PropertyRef Name="Id" /></Key>
        <Property Name="Id" Type="Edm.Int64" Nullable="false" />
        <Property Name="OrderId" Type="Edm.Int64" Nullable="false" />
        <Property Name="LineAmount" Type="Edm.Decimal" Precision="18" Scale="4" />
      </EntityType>
      <EntityType Name="OrderCustomerInfo">
        <Key><PropertyRef Name="Id" /></Key>
        <Property Name="Id" Type="Edm.Int64" Nullable="false" />
        <Property Name="EmailAddress" Type="Edm.String" MaxLength="255" />
      </EntityType>
      <EntityType Name="OrderInfo">
        <Key><PropertyRef Name="OrderId" /><PropertyRef Name="TypeId" /></Key>
        <Property Name="OrderId" Type="Edm.Int64" Nullable="false" />
        <Property Name="TypeId" Type="Edm.Int32" Nullable="false" />
      </EntityType>
      <EntityType Name="SpecialOrder" BaseType="Orders.Order">
        <Property Name="Special" Type="Edm.Boolean" Nullable="false" />
      </EntityType>
    </Schema>
    <Schema Namespace="Default" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityContainer Name="Container">
        <EntitySet Name="Orders" EntityType="Orders.Order">
          <NavigationPropertyBinding Path="Items" Target="OrderItems" />
        </EntitySet>
        <EntitySet Name="OrderInfos" EntityType="O.OrderInfo" />
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
"""


def test_types_keys_and_sets() -> None:
    service = parse_edmx(EDMX)

    assert service.namespace == "Orders"
    assert set(service.types) == {
        "Order",
        "OrderItem",
        "OrderCustomerInfo",
        "OrderInfo",
        "SpecialOrder",
    }
    assert service.sets == {"Orders": "Order", "OrderInfos": "OrderInfo"}
    assert service.set_type("Orders").key == ("Id",)
    assert service.set_type("OrderInfos").key == ("OrderId", "TypeId")
    assert service.types["Order"].namespace == "Orders"


def test_properties_keep_facets_and_defaults() -> None:
    order = parse_edmx(EDMX).types["Order"]

    assert [p.name for p in order.properties] == [
        "Id",
        "OrderNo",
        "Note",
        "FreightCost",
        "Rate",
        "Updated",
        "BuyerCustomerInfoId",
    ]
    assert order.prop("Id") == EdmProperty("Id", "Edm.Int64", nullable=False)
    # Nullable defaults to true when absent, as CSDL says.
    assert order.prop("OrderNo") == EdmProperty("OrderNo", "Edm.String", True, max_length=50)
    assert order.prop("Note") == EdmProperty("Note", "Edm.String", True, max_length=None)
    assert order.prop("FreightCost") == EdmProperty(
        "FreightCost", "Edm.Decimal", False, precision=18, scale=4
    )
    assert order.prop("Rate") == EdmProperty("Rate", "Edm.Decimal", True, precision=38)
    assert order.prop("Missing") is None


def test_navigations_single_and_collection_with_alias() -> None:
    order = parse_edmx(EDMX).types["Order"]

    assert order.navigations == (
        EdmNavigation("Items", "OrderItem", collection=True),
        EdmNavigation("Buyer", "OrderCustomerInfo", collection=False),
    )
    assert order.nav("Items") == EdmNavigation("Items", "OrderItem", True)
    assert order.nav("Infos") is None


def test_derived_type_inherits_key_and_properties() -> None:
    special = parse_edmx(EDMX).types["SpecialOrder"]

    assert special.key == ("Id",)
    assert special.prop("FreightCost") is not None
    assert special.prop("Special") == EdmProperty("Special", "Edm.Boolean", False)
    assert special.nav("Items") is not None


def test_unknown_set_is_a_data_contract_error() -> None:
    service = parse_edmx(EDMX)

    with pytest.raises(DataContractError, match=r"Orders/Invoices.*no entity set 'Invoices'"):
        service.set_type("Invoices")


@pytest.mark.parametrize(
    "body",
    [
        b"<edmx:Edmx xmlns:edmx='x'><unclosed>",
        b"",
        b'{"value": []}',
    ],
)
def test_malformed_xml_is_a_data_contract_error(body: bytes) -> None:
    with pytest.raises(DataContractError, match="not well-formed XML"):
        parse_edmx(body)


def test_xml_that_is_not_edmx_is_a_data_contract_error() -> None:
    with pytest.raises(DataContractError, match="not an EDMX document"):
        parse_edmx(b"<html><body>Service unavailable</body></html>")


@pytest.mark.parametrize(
    "namespace", ["Orders", "Products", "Customers", "Core", "Application", "Reporting"]
)
def test_reads_the_simulators_metadata(namespace: str) -> None:
    from simulator.edmx import render_metadata
    from simulator.schema import build_schema

    schema = build_schema()

    service = parse_edmx(render_metadata(schema, namespace))

    ns = schema.namespace(namespace)
    assert service.namespace == namespace
    assert service.sets == {name: s.entity_type for name, s in ns.sets.items()}
    for name, entity_type in ns.types.items():
        parsed = service.types[name]
        assert parsed.key == entity_type.key
        assert [p.name for p in parsed.properties] == entity_type.property_names
        for prop in entity_type.properties:
            assert parsed.prop(prop.name) == EdmProperty(
                prop.name,
                prop.edm_type,
                prop.nullable,
                prop.max_length if prop.edm_type == "Edm.String" else None,
                prop.precision,
                prop.scale,
            )
        assert parsed.navigations == tuple(
            EdmNavigation(n.name, n.target, n.collection) for n in entity_type.navigations
        )

"""$metadata rendering: parse the XML back and compare it with the schema."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from simulator.edmx import render_metadata
from simulator.schema import Property, Schema, build_schema

EDMX = "{http://docs.oasis-open.org/odata/ns/edmx}"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


@pytest.fixture
def schema() -> Schema:
    return build_schema()


def parse(schema: Schema, namespace: str) -> ET.Element:
    root = ET.fromstring(render_metadata(schema, namespace))
    assert root.tag == f"{EDMX}Edmx" and root.get("Version") == "4.0"
    schemas = root.findall(f"{EDMX}DataServices/{EDM}Schema")
    assert len(schemas) == 1
    assert schemas[0].get("Namespace") == namespace
    return schemas[0]


def entity_types(doc: ET.Element) -> dict[str, ET.Element]:
    return {e.get("Name", ""): e for e in doc.findall(f"{EDM}EntityType")}


@pytest.mark.parametrize(
    "namespace", ["Orders", "Products", "Customers", "Core", "Application", "Reporting"]
)
def test_every_standalone_set_and_type_is_declared(schema: Schema, namespace: str) -> None:
    doc = parse(schema, namespace)
    containers = doc.findall(f"{EDM}EntityContainer")
    assert len(containers) == 1
    declared = {
        s.get("Name"): s.get("EntityType") for s in containers[0].findall(f"{EDM}EntitySet")
    }
    ns = schema.namespace(namespace)
    assert declared == {name: f"{namespace}.{s.entity_type}" for name, s in ns.sets.items()}
    assert set(entity_types(doc)) == set(ns.types)


def test_expand_only_types_have_no_set(schema: Schema) -> None:
    doc = parse(schema, "Orders")
    sets = {s.get("Name") for s in doc.iter(f"{EDM}EntitySet")}
    assert "OrderItems" not in sets and "Orders" in sets
    assert "OrderItem" in entity_types(doc)


@pytest.mark.parametrize("namespace", ["Orders", "Products", "Customers", "Core", "Reporting"])
def test_keys_and_property_facets_match_the_schema(schema: Schema, namespace: str) -> None:
    types = entity_types(parse(schema, namespace))
    for name, et in schema.namespace(namespace).types.items():
        element = types[name]
        keys = [ref.get("Name") for ref in element.findall(f"{EDM}Key/{EDM}PropertyRef")]
        assert tuple(keys) == et.key
        props = element.findall(f"{EDM}Property")
        assert [p.get("Name") for p in props] == et.property_names
        for prop, xml in zip(et.properties, props, strict=True):
            assert xml.get("Type") == prop.edm_type
            assert (xml.get("Nullable", "true") == "true") == prop.nullable
            max_length = xml.get("MaxLength")
            assert (int(max_length) if max_length else None) == (
                prop.max_length if prop.edm_type == "Edm.String" else None
            )
            if prop.edm_type == "Edm.Decimal":
                assert (xml.get("Precision"), xml.get("Scale")) == (
                    str(prop.precision),
                    str(prop.scale),
                )
            else:
                assert xml.get("Precision") is None and xml.get("Scale") is None


def test_money_and_rate_facets(schema: Schema) -> None:
    order = entity_types(parse(schema, "Orders"))["Order"]
    freight = next(p for p in order.findall(f"{EDM}Property") if p.get("Name") == "FreightCost")
    assert (freight.get("Precision"), freight.get("Scale")) == ("18", "4")
    currency = entity_types(parse(schema, "Core"))["Currency"]
    rate = next(p for p in currency.findall(f"{EDM}Property") if p.get("Name") == "ExchangeRate")
    assert (rate.get("Precision"), rate.get("Scale")) == ("18", "6")


def test_navigation_types(schema: Schema) -> None:
    order = entity_types(parse(schema, "Orders"))["Order"]
    navs = {n.get("Name"): n for n in order.findall(f"{EDM}NavigationProperty")}
    assert navs["Items"].get("Type") == "Collection(Orders.OrderItem)"
    assert navs["Infos"].get("Type") == "Collection(Orders.OrderInfo)"
    for single in ("Buyer", "Payer", "ShipTo"):
        assert navs[single].get("Type") == "Orders.OrderCustomerInfo"
        constraint = navs[single].find(f"{EDM}ReferentialConstraint")
        assert constraint is not None
        assert constraint.get("Property") == f"{single}CustomerInfoId"
        assert constraint.get("ReferencedProperty") == "Id"
    product = entity_types(parse(schema, "Products"))["Product"]
    product_navs = {n.get("Name"): n.get("Type") for n in product.iter(f"{EDM}NavigationProperty")}
    assert product_navs == {
        "Skus": "Collection(Products.ProductSku)",
        "Categories": "Collection(Products.ProductCategory)",
    }


def test_output_follows_schema_drift(schema: Schema) -> None:
    before = render_metadata(schema, "Orders")
    schema.add_property("Orders", "Order", Property("Channel", "Edm.String", True, 20))
    after = render_metadata(schema, "Orders")
    assert after != before
    order = entity_types(parse(schema, "Orders"))["Order"]
    channel = [p for p in order.findall(f"{EDM}Property") if p.get("Name") == "Channel"]
    assert len(channel) == 1 and channel[0].get("MaxLength") == "20"
    schema.remove_property("Orders", "Order", "Channel")
    assert render_metadata(schema, "Orders") == before
    assert render_metadata(build_schema(), "Orders") == before


def test_unknown_namespace_raises(schema: Schema) -> None:
    with pytest.raises(KeyError):
        render_metadata(schema, "Nope")

"""``$metadata``: the live schema of one namespace as OData v4 CSDL XML (EDMX).

The document has the shape .NET OData services emit: one ``edmx:DataServices`` with one
``Schema`` whose ``Namespace`` is the Query namespace name (``Orders``), every entity type
of the namespace with its ``Key``, ``Property`` elements (``Nullable="false"`` only when
not nullable, ``MaxLength`` for bounded strings, ``Precision``/``Scale`` for decimals) and
``NavigationProperty`` elements (``Collection(Orders.OrderItem)`` for collections; a
``ReferentialConstraint`` on single-valued ones), and an ``EntityContainer`` listing the
standalone entity sets. Expand-only types are declared but have no entity set.

Rendering reads the schema as it is now, so schema drift shows up immediately.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from simulator.schema import EntityType, Navigation, Property, Schema

EDMX_NS = "http://docs.oasis-open.org/odata/ns/edmx"
EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
CONTAINER_NAME = "Container"


def _attrs(**values: object) -> str:
    return "".join(f" {name}={quoteattr(str(value))}" for name, value in values.items())


def _property(prop: Property) -> str:
    facets: dict[str, object] = {"Name": prop.name, "Type": prop.edm_type}
    if not prop.nullable:
        facets["Nullable"] = "false"
    if prop.edm_type == "Edm.String" and prop.max_length is not None:
        facets["MaxLength"] = prop.max_length
    if prop.edm_type == "Edm.Decimal":
        if prop.precision is not None:
            facets["Precision"] = prop.precision
        if prop.scale is not None:
            facets["Scale"] = prop.scale
    return f"<Property{_attrs(**facets)}/>"


def _navigation(namespace: str, nav: Navigation) -> str:
    target = f"{namespace}.{nav.target}"
    if nav.collection:
        return f"<NavigationProperty{_attrs(Name=nav.name, Type=f'Collection({target})')}/>"
    constraints = "".join(
        f"<ReferentialConstraint{_attrs(Property=local, ReferencedProperty=remote)}/>"
        for local, remote in zip(nav.local_keys, nav.remote_keys, strict=True)
    )
    opening = f"<NavigationProperty{_attrs(Name=nav.name, Type=target)}>"
    return f"{opening}{constraints}</NavigationProperty>"


def _entity_type(namespace: str, entity_type: EntityType) -> str:
    key = "".join(f"<PropertyRef{_attrs(Name=k)}/>" for k in entity_type.key)
    body = "".join(_property(p) for p in entity_type.properties)
    navs = "".join(_navigation(namespace, n) for n in entity_type.navigations)
    return f"<EntityType{_attrs(Name=entity_type.name)}><Key>{key}</Key>{body}{navs}</EntityType>"


def render_metadata(schema: Schema, namespace: str) -> bytes:
    """The ``$metadata`` document of one namespace.

    Args:
        schema: The live schema.
        namespace: A Query namespace, e.g. ``"Orders"``.

    Returns:
        UTF-8 encoded CSDL XML with an XML declaration.

    Raises:
        KeyError: If the namespace is unknown.
    """
    ns = schema.namespace(namespace)
    types = "".join(_entity_type(namespace, et) for et in ns.types.values())
    sets = "".join(
        f"<EntitySet{_attrs(Name=s.name, EntityType=f'{namespace}.{s.entity_type}')}/>"
        for s in ns.sets.values()
        if s.standalone
    )
    document = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<edmx:Edmx Version="4.0" xmlns:edmx="{EDMX_NS}">'
        "<edmx:DataServices>"
        f'<Schema{_attrs(Namespace=namespace)} xmlns="{EDM_NS}">'
        f"{types}"
        f"<EntityContainer{_attrs(Name=CONTAINER_NAME)}>{sets}</EntityContainer>"
        "</Schema>"
        "</edmx:DataServices>"
        "</edmx:Edmx>"
    )
    return document.encode("utf-8")

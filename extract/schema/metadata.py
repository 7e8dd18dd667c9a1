"""Read a namespace's ``$metadata`` (OData v4 CSDL XML) into a small typed model.

Only what the loader needs is kept: entity types with their keys, structural properties
(type and facets) and navigation properties, and the entity sets of the container. Tags
are matched by local name, so CSDL documents using either the OASIS v4 namespaces or an
older EDM namespace version parse the same way.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from extract.errors import DataContractError

__all__ = ["EdmEntityType", "EdmNavigation", "EdmProperty", "EdmService", "parse_edmx"]


@dataclass(frozen=True, slots=True)
class EdmProperty:
    """A structural property of an entity type.

    Attributes:
        name: Property name as sent in JSON (PascalCase).
        edm_type: Qualified primitive type, e.g. ``Edm.Int64``.
        nullable: CSDL ``Nullable`` facet (``True`` when absent, as the spec says).
        max_length: ``MaxLength`` facet; ``None`` when absent or ``max``.
        precision: ``Precision`` facet, if given.
        scale: ``Scale`` facet; ``None`` when absent, ``variable`` or ``floating``.
    """

    name: str
    edm_type: str
    nullable: bool = True
    max_length: int | None = None
    precision: int | None = None
    scale: int | None = None


@dataclass(frozen=True, slots=True)
class EdmNavigation:
    """A navigation property.

    Attributes:
        name: Navigation name as used in ``$expand``.
        target: Unqualified name of the target entity type.
        collection: ``True`` for ``Collection(...)`` navigations (child tables).
    """

    name: str
    target: str
    collection: bool


@dataclass(frozen=True, slots=True)
class EdmEntityType:
    """An entity type with its key, properties and navigations (base types merged in)."""

    namespace: str
    name: str
    key: tuple[str, ...]
    properties: tuple[EdmProperty, ...]
    navigations: tuple[EdmNavigation, ...] = ()
    _props: dict[str, EdmProperty] = field(init=False, repr=False, compare=False)
    _navs: dict[str, EdmNavigation] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Frozen dataclass: the lookup indexes are set once, through object.__setattr__.
        object.__setattr__(self, "_props", {p.name: p for p in self.properties})
        object.__setattr__(self, "_navs", {n.name: n for n in self.navigations})

    def prop(self, name: str) -> EdmProperty | None:
        """The structural property ``name``, or ``None`` if the type does not declare it."""
        return self._props.get(name)

    def nav(self, name: str) -> EdmNavigation | None:
        """The navigation property ``name``, or ``None`` if the type does not declare it."""
        return self._navs.get(name)


@dataclass(frozen=True, slots=True)
class EdmService:
    """One namespace's ``$metadata``.

    Attributes:
        namespace: The schema namespace declaring the entity types.
        types: Entity types by unqualified name.
        sets: Entity set name -> unqualified entity type name.
    """

    namespace: str
    types: dict[str, EdmEntityType]
    sets: dict[str, str]

    def set_type(self, set_name: str) -> EdmEntityType:
        """The entity type behind the entity set ``set_name``.

        Raises:
            DataContractError: The service declares no such set, or its type is missing.
        """
        type_name = self.sets.get(set_name)
        if type_name is None:
            known = ", ".join(sorted(self.sets)) or "none"
            raise DataContractError(
                f"{self.namespace}/{set_name}: the service's $metadata declares no entity set "
                f"{set_name!r} (declared: {known})",
                hint="drop it from NORCE_ENTITIES or check the tenant's API version",
            )
        entity_type = self.types.get(type_name)
        if entity_type is None:
            raise DataContractError(
                f"{self.namespace}/{set_name}: entity type {type_name!r} of the set is not "
                "declared in $metadata",
                hint="the service's $metadata is inconsistent; report it to Norce",
            )
        return entity_type


def parse_edmx(xml: bytes) -> EdmService:
    """Parse an OData v4 CSDL (EDMX) document.

    Args:
        xml: The body of ``<Namespace>/$metadata``.

    Returns:
        The service model. When several ``Schema`` elements exist, ``namespace`` is the
        one declaring the entity types (the first such, in document order).

    Raises:
        DataContractError: The document is not well-formed XML, or not an EDMX document.
    """
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise DataContractError(
            f"$metadata is not well-formed XML ({exc})",
            hint="the service returned a broken $metadata document; retry later",
        ) from None
    if _local(root.tag) != "Edmx":
        raise DataContractError(
            f"$metadata is not an EDMX document (root element <{_local(root.tag)}>)",
            hint="check NORCE_BASE_URL points at the tenant root",
        )
    schemas = [el for el in root.iter() if _local(el.tag) == "Schema"]
    raw_types: dict[str, tuple[str, ET.Element]] = {}
    sets: dict[str, str] = {}
    namespace = ""
    for schema in schemas:
        ns = schema.get("Namespace", "")
        for child in schema:
            tag = _local(child.tag)
            if tag == "EntityType":
                namespace = namespace or ns
                raw_types[child.get("Name", "")] = (ns, child)
            elif tag == "EntityContainer":
                for item in child:
                    if _local(item.tag) == "EntitySet":
                        sets[item.get("Name", "")] = _unqualified(item.get("EntityType", ""))
    types = {name: _build_type(name, raw_types, ()) for name in raw_types}
    return EdmService(
        namespace=namespace or (schemas[0].get("Namespace", "") if schemas else ""),
        types=types,
        sets=sets,
    )


def _build_type(
    name: str, raw_types: dict[str, tuple[str, ET.Element]], seen: tuple[str, ...]
) -> EdmEntityType:
    ns, element = raw_types[name]
    key: tuple[str, ...] = ()
    props: list[EdmProperty] = []
    navs: list[EdmNavigation] = []
    base = element.get("BaseType")
    base_name = _unqualified(base) if base else None
    # Inheritance: a derived type carries its base's key and properties first. ``seen``
    # guards against a (malformed) cycle of base types.
    if base_name and base_name in raw_types and base_name not in seen:
        parent = _build_type(base_name, raw_types, (*seen, name))
        key, props, navs = parent.key, list(parent.properties), list(parent.navigations)
    for child in element:
        tag = _local(child.tag)
        if tag == "Key":
            key = tuple(ref.get("Name", "") for ref in child if _local(ref.tag) == "PropertyRef")
        elif tag == "Property":
            props.append(
                EdmProperty(
                    name=child.get("Name", ""),
                    edm_type=child.get("Type", "Edm.String"),
                    nullable=child.get("Nullable", "true").lower() != "false",
                    max_length=_int_facet(child.get("MaxLength")),
                    precision=_int_facet(child.get("Precision")),
                    scale=_int_facet(child.get("Scale")),
                )
            )
        elif tag == "NavigationProperty":
            declared = child.get("Type", "")
            collection = declared.startswith("Collection(") and declared.endswith(")")
            target = declared[len("Collection(") : -1] if collection else declared
            navs.append(EdmNavigation(child.get("Name", ""), _unqualified(target), collection))
    return EdmEntityType(ns, name, key, tuple(props), tuple(navs))


def _local(tag: str) -> str:
    """``{urn}Name`` -> ``Name``."""
    return tag.rpartition("}")[2]


def _unqualified(name: str) -> str:
    """``Orders.OrderItem`` (or ``Alias.OrderItem``) -> ``OrderItem``."""
    return name.rpartition(".")[2]


def _int_facet(value: str | None) -> int | None:
    """A numeric facet; ``max``/``variable``/``floating`` and junk mean "not fixed"."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None

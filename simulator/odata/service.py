"""The Query API 2.0 resource layer: from a path and query string to a response body.

Paths below ``/commerce/query/2.0/``:

* ``<Ns>`` -- service document (the namespace's entity sets);
* ``<Ns>/$metadata`` -- EDMX;
* ``<Ns>/<Set>`` -- a page of the collection; ``<Ns>/<Set>/$count`` -- the count as text;
* ``<Ns>/<Set>(<key>)`` -- the bare entity, 404 if absent.

Unknown namespaces and sets (including the expand-only ``Orders/OrderItems`` and
``Products/ProductCategories``) are 404. HTTP concerns (auth, faults, headers) live in
:mod:`simulator.app`; this module is plain functions over the store.

The tenant :class:`~simulator.profiles.Profile` decides, after the path and options are
parsed: ``$count`` refused (400, ``no_count``), the ``applicationId`` header (500 where the
tenant needs it; everywhere under ``header_everywhere``), Reporting down (500,
``reporting_down``) -- in that order, as ASP.NET validates a query before it runs it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote_plus

import orjson
import polars as pl

from simulator.faults import REPORTING_SETS
from simulator.odata.errors import ODataError, bad_request, not_found, query_not_valid
from simulator.odata.filter import referenced_properties, unknown_property
from simulator.odata.parse import QueryOptions, parse_key_predicate, parse_options, split_query
from simulator.odata.query import QueryEngine
from simulator.odata.rows import Rows, StoreLike
from simulator.odata.serialize import collection_body, entity_body, render_array, render_rows
from simulator.profiles import DEFAULT, Profile
from simulator.schema import Schema

QUERY_PREFIX = "/commerce/query/2.0/"
JSON_CONTENT_TYPE = "application/json; odata.metadata=minimal"
XML_CONTENT_TYPE = "application/xml"
TEXT_CONTENT_TYPE = "text/plain"

_SET_PATH = re.compile(r"([A-Za-z_]\w*)(?:\((.*)\))?(/\$count)?", re.DOTALL)

MetadataRenderer = Callable[[Schema, str], bytes]
TargetKind = Literal["service", "metadata", "collection", "entity", "count"]


@dataclass(frozen=True, slots=True)
class Target:
    """What a Query path addresses."""

    kind: TargetKind
    namespace: str
    set_name: str = ""
    key_text: str = ""

    @property
    def set_path(self) -> str:
        """``Namespace/Set`` (or just the namespace for service document and metadata)."""
        return f"{self.namespace}/{self.set_name}" if self.set_name else self.namespace


@dataclass(frozen=True, slots=True)
class Prepared:
    """A resolved, parsed request, ready for fault checks and execution."""

    target: Target
    options: QueryOptions
    raw_path: str
    raw_query: str


@dataclass(slots=True)
class Result:
    """A successful answer. ``keys``: first key column of the rows served (poison check)."""

    status: int
    body: bytes
    content_type: str
    keys: pl.Series | None = None


class QueryService:
    """Answers Query API requests over a store.

    Args:
        store: the data.
        metadata: renders a namespace's EDMX (``simulator.edmx.render_metadata``).
        require_app_header: sets flagged ``header_required`` answer 500 without an
            ``applicationId`` header (observed); False switches that off (but not the
            profile's ``header_everywhere``).
        profile: the tenant's request rules (``no_count``, ``header_everywhere``,
            ``reporting_down``).
    """

    def __init__(
        self,
        store: StoreLike,
        metadata: MetadataRenderer,
        *,
        require_app_header: bool = True,
        profile: Profile = DEFAULT,
    ) -> None:
        self.store = store
        self.engine = QueryEngine(store)
        self.require_app_header = require_app_header
        self.profile = profile
        self._metadata = metadata
        self._metadata_cache: dict[tuple[str, int], bytes] = {}
        self._metadata_lock = threading.Lock()

    def prepare(self, path: str, raw_path: str, raw_query: str) -> Prepared:
        """Resolve ``path`` (after :data:`QUERY_PREFIX`) and parse the query options.

        Raises:
            ODataError: 404 for unknown namespaces/sets, 400 for bad options.
        """
        target = resolve(self.store.schema, path)
        options = parse_options(split_query(raw_query))
        if target.kind in ("collection", "entity", "count"):
            entity_set = self.store.schema.entity_set(target.namespace, target.set_name)
            if (
                options.filter is not None
                and entity_set.app_filter == "forbidden"
                and "ApplicationId" in referenced_properties(options.filter.node)
            ):
                et = self.store.schema.set_type(target.namespace, target.set_name)
                raise unknown_property("ApplicationId", et)
        if target.kind == "entity" and (
            options.filter is not None
            or options.orderby
            or options.top is not None
            or options.skip is not None
            or options.count
        ):
            raise bad_request(
                "$filter, $orderby, $top, $skip and $count do not apply to an entity."
            )
        return Prepared(target, options, raw_path, raw_query)

    def execute(self, prepared: Prepared, *, base_url: str, headers: Mapping[str, str]) -> Result:
        """Run a prepared request.

        Args:
            prepared: from :meth:`prepare`.
            base_url: scheme and authority the client used, for context URLs and links.
            headers: request headers, lower-cased names.

        Raises:
            ODataError: 400/404/500 as the real service answers.
        """
        target = prepared.target
        ns_url = f"{base_url}{QUERY_PREFIX}{target.namespace}"
        self._check_tenant_rules(prepared, headers)
        if target.kind == "metadata":
            return Result(200, self.metadata(target.namespace), XML_CONTENT_TYPE)
        if target.kind == "service":
            return Result(200, self._service_document(target.namespace, ns_url), JSON_CONTENT_TYPE)
        ieee754 = "ieee754compatible=true" in headers.get("accept", "").replace(" ", "").lower()
        content_type = JSON_CONTENT_TYPE + ("; IEEE754Compatible=true" if ieee754 else "")
        context = f"{ns_url}/$metadata#{target.set_name}"
        if target.kind == "count":
            count = self.engine.count(target.namespace, target.set_name, prepared.options)
            return Result(200, str(count).encode(), TEXT_CONTENT_TYPE)
        if target.kind == "entity":
            key = parse_key_predicate(target.key_text)
            rows = self.engine.entity(target.namespace, target.set_name, key, prepared.options)
            if rows is None:
                raise not_found(f"No {target.set_name} entity has the key ({target.key_text}).")
            body = entity_body(context + "/$entity", render_rows(rows, ieee754=ieee754)[0])
            return Result(200, body, content_type, _first_key(rows))
        page = self.engine.page(target.namespace, target.set_name, prepared.options)
        next_link = None
        if page.next_skip is not None:
            next_link = build_next_link(
                base_url, prepared.raw_path, prepared.raw_query, page.next_skip, page.next_top
            )
        body = collection_body(
            context,
            render_array(page.rows, ieee754=ieee754),
            page.count if prepared.options.count else None,
            next_link,
            ieee754=ieee754,
        )
        return Result(200, body, content_type, _first_key(page.rows))

    def metadata(self, namespace: str) -> bytes:
        """The namespace's EDMX, cached per schema version (data changes do not touch it)."""
        key = (namespace, self.store.schema.version)
        with self._metadata_lock:
            cached = self._metadata_cache.get(key)
        if cached is None:
            with self.store.lock:
                cached = self._metadata(self.store.schema, namespace)
            with self._metadata_lock:
                # one schema version at a time: older renderings are stale for good
                stale = [k for k in self._metadata_cache if k[1] != key[1]]
                for k in stale:
                    del self._metadata_cache[k]
                self._metadata_cache[key] = cached
        return cached

    def _service_document(self, namespace: str, ns_url: str) -> bytes:
        sets = self.store.schema.namespace(namespace).sets.values()
        return orjson.dumps(
            {
                "@odata.context": f"{ns_url}/$metadata",
                "value": [
                    {"name": s.name, "kind": "EntitySet", "url": s.name}
                    for s in sets
                    if s.standalone
                ],
            }
        )

    def _check_tenant_rules(self, prepared: Prepared, headers: Mapping[str, str]) -> None:
        """400/500 for what this tenant refuses, in the order the service would."""
        target, profile = prepared.target, self.profile
        if profile.no_count and (target.kind == "count" or _asks_count(prepared.raw_query)):
            raise query_not_valid(COUNT_NOT_ALLOWED)
        if target.set_name or profile.header_everywhere:
            self._check_app_header(target, headers)
        if profile.reporting_down and (
            target.namespace == "Reporting" or target.set_path in REPORTING_SETS
        ):
            raise ODataError(
                500,
                "InternalServerError",
                f"An error occurred while executing the query for {target.set_path}.",
            )

    def _check_app_header(self, target: Target, headers: Mapping[str, str]) -> None:
        value = headers.get("applicationid") or headers.get("application-id")
        if value is not None and not value.strip().lstrip("-").isdigit():
            raise bad_request(f"The applicationId header must be an integer, not '{value}'.")
        if value is None and self._header_required(target):
            # what the tenant does: an unhandled error, not a helpful 400
            raise ODataError(
                500,
                "InternalServerError",
                "An error has occurred. (no application context: applicationId header missing)",
            )

    def _header_required(self, target: Target) -> bool:
        if self.profile.header_everywhere:
            return True
        if not self.require_app_header:
            return False
        return self.store.schema.entity_set(target.namespace, target.set_name).header_required


COUNT_NOT_ALLOWED = (
    "Query option 'Count' is not allowed. To allow it, set the 'AllowedQueryOptions' "
    "property on EnableQueryAttribute or QueryValidationSettings."
)
"""ASP.NET OData's words (``SRResources.NotAllowedQueryOption`` with ``AllowedQueryOptions.Count``)
for ``$count`` on a service that does not allow it; ``$count=false`` and ``/$count`` too."""


def _asks_count(raw_query: str) -> bool:
    return any(name.lower() == "$count" for name, _ in split_query(raw_query))


def resolve(schema: Schema, path: str) -> Target:
    """Map a path below :data:`QUERY_PREFIX` to a :class:`Target`.

    Raises:
        ODataError: 404 for anything that is not a namespace, its metadata or a set.
    """
    namespace, _, rest = path.partition("/")
    if namespace not in schema.namespaces:
        raise not_found(f"No Query namespace is named '{namespace}'.")
    if rest in ("", "/"):
        return Target("service", namespace)
    if rest == "$metadata":
        return Target("metadata", namespace)
    match = _SET_PATH.fullmatch(rest)
    sets = schema.namespace(namespace).sets
    if match is None or match.group(1) not in sets or not sets[match.group(1)].standalone:
        raise not_found(f"No resource found for the segment '{rest}' in {namespace}.")
    set_name, key_text, count = match.group(1), match.group(2), match.group(3)
    if key_text is not None:
        if count:
            raise not_found(f"$count does not apply to a single {set_name} entity.")
        return Target("entity", namespace, set_name, key_text)
    return Target("count" if count else "collection", namespace, set_name)


def build_next_link(
    base_url: str, raw_path: str, raw_query: str, next_skip: int, next_top: int | None
) -> str:
    """The request URL with every original option, ``$skip`` moved on and ``$top`` reduced."""
    parts = []
    saw_skip = False
    for part in raw_query.split("&"):
        if not part:
            continue
        name = unquote_plus(part.partition("=")[0]).lower()
        if name == "$skip":
            parts.append(f"$skip={next_skip}")
            saw_skip = True
        elif name == "$top" and next_top is not None:
            parts.append(f"$top={next_top}")
        else:
            parts.append(part)
    if not saw_skip:
        parts.append(f"$skip={next_skip}")
    return f"{base_url}{raw_path}?{'&'.join(parts)}"


def _first_key(rows: Rows) -> pl.Series:
    return rows.frame.get_column(rows.entity_type.key[0])


def error_result(error: ODataError) -> Result:
    """An :class:`ODataError` as a :class:`Result`."""
    return Result(error.status, error.body(), JSON_CONTENT_TYPE)

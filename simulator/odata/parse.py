"""Parse OData v4 query options into a small, typed syntax tree.

Only what the Query API 2.0 is known to accept is understood: ``$select``, ``$filter``,
``$expand`` (with nested ``$select;$filter;$orderby;$top;$skip;$expand``, at most
:data:`MAX_EXPAND_DEPTH` levels), ``$orderby``, ``$top``, ``$skip`` and ``$count``.
Anything else starting with ``$`` is a 400, as on an ASP.NET OData service; custom
options without ``$`` are ignored.

``$filter`` text goes through the ``odata-query`` grammar; the AST it returns is kept as is
and compiled to polars in :mod:`simulator.odata.filter`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_plus

from odata_query import ast
from odata_query.exceptions import ODataException
from odata_query.grammar import ODataLexer, ODataParser

from simulator.odata.errors import bad_request

MAX_EXPAND_DEPTH = 3
"""``$expand`` nesting limit (``Items($expand=Infos)`` is depth 2), as documented."""

_SUPPORTED = ("$select", "$filter", "$expand", "$orderby", "$top", "$skip", "$count")
_NESTED_SUPPORTED = ("$select", "$filter", "$expand", "$orderby", "$top", "$skip")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_INT = re.compile(r"\d{1,18}")
_ORDER_ITEM = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\s+(asc|desc))?", re.IGNORECASE)
_EXPAND_ITEM = re.compile(r"(\*|[A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?", re.DOTALL)

# One pass over the $filter text that leaves quoted strings, GUIDs and timestamps alone and
# (a) drops the type suffix of numeric literals (``1.5m``, ``10L``): the grammar does not
# know them, .NET clients send them; (b) puts back a ``+`` in a timestamp offset that form
# decoding turned into a space (``...T10:00:00 01:00``) when a client forgot to escape it.
_FILTER_TOKENS = re.compile(
    r"(?P<str>'(?:[^']|'')*')"
    r"|(?P<guid>\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b)"
    r"|(?P<dto>\b\d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d(?:\.\d+)?)?)(?P<off> \d\d:\d\d\b)?"
    r"|(?<![\w.])(?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)[mMdDfFlL](?!\w)"
)


@dataclass(frozen=True, slots=True)
class FilterExpr:
    """A parsed ``$filter``: the source text (a cache key) and the ``odata_query`` AST."""

    text: str
    node: Any


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One ``$orderby`` item."""

    name: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ExpandItem:
    """One ``$expand`` item; ``navigation == "*"`` expands every navigation."""

    navigation: str
    options: QueryOptions


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """The query options of one request (or of one ``$expand`` item).

    Attributes:
        select: property names, or None for all (``$select=*`` is also None).
        filter: the parsed ``$filter`` or None.
        expand: ``$expand`` items in request order.
        orderby: ``$orderby`` keys; empty means the entity key, ascending.
        top: ``$top`` as given (clamping to the page size happens in the engine).
        skip: ``$skip`` as given.
        count: ``$count=true``.
    """

    select: tuple[str, ...] | None = None
    filter: FilterExpr | None = None
    expand: tuple[ExpandItem, ...] = ()
    orderby: tuple[OrderKey, ...] = ()
    top: int | None = None
    skip: int | None = None
    count: bool = False


def split_query(raw: str) -> list[tuple[str, str]]:
    """Split a raw query string into decoded ``(name, value)`` pairs, in order.

    ``+`` decodes to a space, as in ASP.NET Core; a literal plus must be sent as ``%2B``.
    """
    pairs = []
    for part in raw.split("&"):
        if part:
            name, _, value = part.partition("=")
            pairs.append((unquote_plus(name), unquote_plus(value)))
    return pairs


def parse_options(pairs: Iterable[tuple[str, str]]) -> QueryOptions:
    """Parse the system query options of a request.

    Args:
        pairs: decoded query parameters (see :func:`split_query`).

    Returns:
        The options; custom (non-``$``) parameters are ignored.

    Raises:
        ODataError: 400 for an unknown, repeated, malformed or unsupported option.
    """
    options: dict[str, str] = {}
    for name, value in pairs:
        if not name.startswith("$"):
            continue
        key = name.lower()
        if key == "$format":
            if value.lower() not in ("json", "application/json"):
                raise bad_request(f"The $format value '{value}' is not supported; use json.")
            continue
        if key not in _SUPPORTED:
            raise bad_request(f"The query parameter '{name}' is not supported.")
        if key in options:
            raise bad_request(f"The query parameter '{name}' is specified more than once.")
        options[key] = value
    return _build(options, depth=1)


def _build(options: dict[str, str], depth: int) -> QueryOptions:
    select = _parse_select(options["$select"]) if "$select" in options else None
    filt = parse_filter(options["$filter"]) if "$filter" in options else None
    expand = _parse_expand(options["$expand"], depth) if "$expand" in options else ()
    orderby = _parse_orderby(options["$orderby"]) if "$orderby" in options else ()
    top = _parse_int("$top", options["$top"]) if "$top" in options else None
    skip = _parse_int("$skip", options["$skip"]) if "$skip" in options else None
    count = _parse_bool("$count", options["$count"]) if "$count" in options else False
    return QueryOptions(select, filt, expand, orderby, top, skip, count)


def _parse_int(name: str, value: str) -> int:
    text = value.strip()
    if not _INT.fullmatch(text):
        raise bad_request(
            f"Invalid value '{value}' for {name}: a non-negative integer is required."
        )
    return int(text)


def _parse_bool(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise bad_request(f"Invalid value '{value}' for {name}: true or false is required.")
    return text == "true"


def _parse_select(value: str) -> tuple[str, ...] | None:
    items = [item.strip() for item in value.split(",")]
    if not value.strip() or any(not item for item in items):
        raise bad_request(f"Invalid $select '{value}': empty item.")
    if "*" in items:
        return None
    for item in items:
        if not _IDENT.fullmatch(item):
            raise bad_request(f"Invalid $select item '{item}': only property names are supported.")
    return tuple(dict.fromkeys(items))


def _parse_orderby(value: str) -> tuple[OrderKey, ...]:
    keys = []
    for item in split_top_level(value, ","):
        match = _ORDER_ITEM.fullmatch(item.strip())
        if match is None:
            raise bad_request(
                f"Invalid $orderby item '{item.strip()}': use 'Property' or 'Property desc'."
            )
        direction = (match.group(2) or "asc").lower()
        keys.append(OrderKey(match.group(1), direction == "desc"))
    if not keys:
        raise bad_request("Invalid $orderby: empty.")
    return tuple(keys)


def _parse_expand(value: str, depth: int) -> tuple[ExpandItem, ...]:
    if depth > MAX_EXPAND_DEPTH:
        raise bad_request(
            f"The $expand nesting depth exceeds the maximum of {MAX_EXPAND_DEPTH} levels."
        )
    items = []
    for raw in split_top_level(value, ","):
        text = raw.strip()
        match = _EXPAND_ITEM.fullmatch(text)
        if match is None or not _balanced_suffix(text):
            raise bad_request(f"Invalid $expand item '{text}'.")
        name, inner = match.group(1), match.group(2)
        nested: dict[str, str] = {}
        if inner is not None and inner.strip():
            if name == "*":
                raise bad_request("Options on $expand=* are not supported.")
            nested = _parse_nested(inner, name)
        items.append(ExpandItem(name, _build(nested, depth + 1)))
    if not items:
        raise bad_request("Invalid $expand: empty.")
    return tuple(items)


def _parse_nested(inner: str, navigation: str) -> dict[str, str]:
    nested: dict[str, str] = {}
    for part in split_top_level(inner, ";"):
        if not part.strip():
            continue
        name, sep, value = part.strip().partition("=")
        key = name.strip().lower()
        if not sep or key not in _NESTED_SUPPORTED:
            raise bad_request(
                f"The option '{name.strip()}' in $expand={navigation}(...) is not supported."
            )
        if key in nested:
            raise bad_request(
                f"The option '{name.strip()}' is repeated in $expand={navigation}(...)."
            )
        nested[key] = value
    return nested


def _balanced_suffix(text: str) -> bool:
    """True if a ``Name(...)`` item's first parenthesis closes at its very end."""
    start = text.find("(")
    if start < 0:
        return True
    depth = 0
    in_string = False
    for i, ch in enumerate(text[start:], start):
        if ch == "'":
            in_string = not in_string
        elif not in_string and ch == "(":
            depth += 1
        elif not in_string and ch == ")":
            depth -= 1
            if depth == 0:
                return i == len(text) - 1
    return False


def split_top_level(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside parentheses and single-quoted strings.

    Raises:
        ODataError: 400 on unbalanced parentheses or quotes.
    """
    parts: list[str] = []
    depth = 0
    in_string = False
    start = 0
    for i, ch in enumerate(text):
        if ch == "'":
            # a doubled quote inside a string toggles twice, which keeps the state right
            in_string = not in_string
        elif in_string:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise bad_request(f"Unbalanced parentheses in '{text}'.")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0 or in_string:
        raise bad_request(f"Unbalanced parentheses or quotes in '{text}'.")
    parts.append(text[start:])
    return parts


def _normalize_filter(text: str) -> str:
    def fix(match: re.Match[str]) -> str:
        if match.group("num") is not None:
            return match.group("num")
        if match.group("dto") is not None and match.group("off") is not None:
            return match.group("dto") + "+" + match.group("off")[1:]
        return match.group(0)

    return _FILTER_TOKENS.sub(fix, text)


@functools.lru_cache(maxsize=4096)
def parse_filter(text: str) -> FilterExpr:
    """Parse ``$filter`` text (cached: keyset paging repeats the same shapes).

    Raises:
        ODataError: 400 if the text is not a valid filter expression.
    """
    if not text.strip():
        raise bad_request("The $filter expression is empty.")
    try:
        # Parser objects keep state between calls, so each parse gets fresh ones.
        node = ODataParser().parse(ODataLexer().tokenize(_normalize_filter(text)))
    except ODataException as exc:
        raise bad_request(f"Invalid $filter '{text}': {exc}") from None
    if node is None:
        raise bad_request(f"Invalid $filter '{text}'.")
    return FilterExpr(text, node)


def parse_key_predicate(text: str) -> tuple[tuple[str | None, Any], ...]:
    """Parse the inside of ``Set(<key>)``: ``1234``, ``'100011'`` or ``A=1,B='x'``.

    Returns:
        ``(property name or None, literal AST node)`` per key part.

    Raises:
        ODataError: 400 if a part is not a literal.
    """
    parts = []
    for raw in split_top_level(text, ","):
        name, value = None, raw.strip()
        head, sep, tail = value.partition("=")
        if sep and _IDENT.fullmatch(head.strip()):
            name, value = head.strip(), tail.strip()
        try:
            tokens = list(ODataLexer().tokenize(_normalize_filter(value)))
        except ODataException:
            tokens = []
        if len(tokens) != 1 or not isinstance(tokens[0].value, ast._Literal):
            raise bad_request(f"Invalid key predicate '({text})'.")
        parts.append((name, tokens[0].value))
    if not parts:
        raise bad_request("Empty key predicate '()'.")
    return tuple(parts)

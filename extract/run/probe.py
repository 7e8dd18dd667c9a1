"""Probe what one entity set accepts: a few ``$top=1`` requests on first contact.

One request asks everything a load will: ``$select=<key>&$top=1&$orderby=<key>`` with
``$filter=<key> gt <literal>`` (a literal of the key's declared type: ``''`` for a text key),
the cursor filter, the ``ApplicationId`` filter and ``$count=true``. A 200 proves them all.
A 400 to a request carrying ``$count`` is asked again without it (a tenant with counting
switched off answers exactly that; the message text is never matched); a 400 that remains
is narrowed down option by option. Anything else -- a 5xx after retries, a 403 -- is not a
capability: it is raised, and planning skips the set for this run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import orjson

from extract.errors import RequestRejected
from extract.http.client import QueryClient, RequestContext
from extract.paging.odata import and_filters, odata_literal
from extract.schema.capabilities import INTEGER_TYPES, SetCapabilities
from extract.schema.plan import EntityPlan

__all__ = ["probe_set"]

_CURSOR_PROBE = datetime(2000, 1, 1, tzinfo=UTC)
"""Any timestamp does: the probe asks whether the filter is accepted, not for rows."""

_PROBE_LITERALS: dict[str, object] = {
    **dict.fromkeys(INTEGER_TYPES, 0),
    "Edm.Decimal": 0,
    "Edm.Double": 0,
    "Edm.Single": 0,
    "Edm.String": "",
    "Edm.Guid": UUID(int=0),
    "Edm.DateTimeOffset": _CURSOR_PROBE,
}


def probe_set(
    client: QueryClient,
    plan: EntityPlan,
    context: RequestContext,
    *,
    application_id: int | None,
    ask_count: bool,
) -> SetCapabilities:
    """Learn what ``plan``'s set accepts.

    Args:
        client: The run's client.
        plan: The reconciled plan (key, cursor, application filter).
        context: Entity, header, counters and retry policy of the probe requests.
        application_id: An application to filter on, for an application-scoped set.
        ask_count: Probe ``$count`` too (else it is left as not probed).

    Raises:
        RetryableError, FatalError: The set cannot be served (not a capability).
    """
    spec = plan.spec
    key_prop = plan.entity_type.prop(spec.key[0])
    key_type = ",".join(_type(plan, k) for k in spec.key)
    literal = _PROBE_LITERALS.get(key_prop.edm_type) if key_prop is not None else None
    clauses = {
        "key_order": None if literal is None else f"{spec.key[0]} gt {odata_literal(literal)}",
        "cursor_filter": (
            f"{plan.cursor[0]} ge {odata_literal(_CURSOR_PROBE)}" if plan.cursor else None
        ),
        "application_filter": (
            f"ApplicationId eq {odata_literal(application_id)}"
            if plan.application_filter and application_id
            else None
        ),
    }

    def accepted(parts: dict[str, str | None], count: bool) -> bool:
        params = {"$select": ",".join(spec.key), "$top": "1"}
        if "key_order" in parts:
            params["$orderby"] = ",".join(spec.key)
        flt = and_filters(*parts.values())
        if flt:
            params["$filter"] = flt
        if count:
            params["$count"] = "true"
        try:
            client.get(spec.path, params, parse=orjson.loads, context=context)
        except RequestRejected as exc:
            if exc.status == 400:
                return False
            raise
        return True

    found: dict[str, bool | None] = {name: None for name in clauses}
    found["count"] = None
    if accepted(clauses, ask_count):
        return _caps(plan, key_type, clauses, found, all_ok=True, count=ask_count)
    if ask_count and accepted(clauses, False):
        found["count"] = False
        return _caps(plan, key_type, clauses, found, all_ok=True, count=False)
    for name, clause in clauses.items():
        if clause is not None or name == "key_order":  # $orderby alone, for an odd key type
            found[name] = accepted({name: clause}, False)
    if ask_count:
        found["count"] = accepted({}, True)
    return _caps(plan, key_type, clauses, found, all_ok=False, count=False)


def _caps(
    plan: EntityPlan,
    key_type: str,
    clauses: dict[str, str | None],
    found: dict[str, bool | None],
    *,
    all_ok: bool,
    count: bool,
) -> SetCapabilities:
    if all_ok:
        for name, clause in clauses.items():
            found[name] = True if clause is not None or name == "key_order" else None
        if count:
            found["count"] = True
    return SetCapabilities(
        plan.spec.path,
        key_type,
        count=found["count"],
        key_order=found["key_order"],
        cursor_filter=found["cursor_filter"],
        application_filter=found["application_filter"],
    )


def _type(plan: EntityPlan, name: str) -> str:
    prop = plan.entity_type.prop(name)
    return prop.edm_type if prop is not None else "?"

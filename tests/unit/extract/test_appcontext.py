"""The application context: which applicationId header lists the applications and goes on
every later call, for a tenant that needs the header everywhere and for one that does not."""

from __future__ import annotations

import httpx
import orjson
import pytest

from extract.errors import ConfigError, ServerError
from extract.http.appcontext import DOCUMENTED_DEFAULT, discover_applications
from extract.http.client import RequestContext
from tests.unit.extract.transport_fakes import api_settings

APPS = {"value": [{"Id": 3}, {"Id": 1}, {"Id": 2}]}


def applications(*, header_required: bool, accepted: set[str] | None = None):
    """Core/Applications of a tenant: 500 without the header when it is required (as a
    docs-following tenant answers), optionally only for the given header values."""

    def handler(request: httpx.Request) -> httpx.Response:
        value = request.headers.get("applicationId")
        refused = (value is None and header_required) or (
            accepted is not None and value is not None and value not in accepted
        )
        if refused:
            return httpx.Response(500, json={"error": {"message": "An error has occurred."}})
        return httpx.Response(200, content=orjson.dumps(APPS))

    return handler


def headers_of(tenant) -> list[str | None]:
    return [r.headers.get("applicationId") for r in tenant.gets]


def test_a_tenant_that_answers_without_the_header(tenant, make_client):
    tenant.route("Core/Applications", applications(header_required=False))
    tenant.route("Core/Currencies", lambda r: httpx.Response(200, json={"value": []}))
    client = make_client()
    found = discover_applications(client)
    assert found.listed == (1, 2, 3)
    assert (found.listed_with, found.header_required, found.header) == (None, False, 1)
    # the docs ask for the header on every call: later calls carry the first application
    client.get("Core/Currencies", None, parse=orjson.loads, context=RequestContext("x"))
    assert headers_of(tenant) == [None, "1"]


def test_a_tenant_that_needs_the_header_everywhere(tenant, make_client):
    """Only the required settings: no header fails, the documented default works."""
    tenant.route("Core/Applications", applications(header_required=True))
    tenant.route("Core/Currencies", lambda r: httpx.Response(200, json={"value": []}))
    client = make_client(max_retries=6)
    found = discover_applications(client)
    assert found.listed_with == DOCUMENTED_DEFAULT
    assert found.header_required is True
    assert found.header == 1
    assert "refused it without the header" in found.describe()
    client.get("Core/Currencies", None, parse=orjson.loads, context=RequestContext("x"))
    # one quick retry without the header (not six), then 0, then the context on every call
    assert headers_of(tenant) == [None, None, "0", "1"]


def test_no_context_accepted_names_the_setting_to_add(tenant, make_client):
    tenant.route("Core/Applications", applications(header_required=True, accepted={"7"}))
    with pytest.raises(ConfigError) as info:
        discover_applications(make_client())
    text = str(info.value)
    assert info.value.exit_code == 2
    assert "NORCE_CONTEXT_APPLICATION_ID" in text and "Norce Admin" in text
    assert "\n" not in text


def test_a_configured_context_is_the_only_one_tried(tenant, make_client):
    tenant.route("Core/Applications", applications(header_required=True, accepted={"7"}))
    client = make_client(api=api_settings(context_application_id=7))
    found = discover_applications(client)
    assert (found.listed_with, found.header, found.header_required) == (7, 7, None)
    assert headers_of(tenant) == ["7"]


def test_configured_applications_send_the_first_one(tenant, make_client):
    tenant.route("Core/Applications", applications(header_required=True))
    client = make_client()
    found = discover_applications(client, configured=[2, 3])
    assert (found.listed_with, found.header) == (2, 2)
    assert headers_of(tenant) == ["2"]


def test_a_configured_context_that_fails_is_not_replaced(tenant, make_client):
    tenant.route("Core/Applications", applications(header_required=True, accepted={"1"}))
    client = make_client(api=api_settings(context_application_id=9))
    with pytest.raises(ServerError):
        discover_applications(client)
    assert set(headers_of(tenant)) == {"9"}

"""The error tree, the status policy table, transport mapping and redaction."""

from __future__ import annotations

import pickle
import re
from datetime import UTC, datetime

import httpx
import pytest

from extract.errors import (
    AuthError,
    BadPayload,
    BudgetExhausted,
    ConfigError,
    DataContractError,
    ExtractError,
    FatalError,
    NetworkError,
    PipelineError,
    RateLimited,
    RequestRejected,
    RetryableError,
    ServerError,
    StateError,
    WarehouseError,
)
from extract.http.status import (
    LONGEST_RETRY_AFTER_S,
    classify_response,
    map_transport_error,
    parse_retry_after,
)
from extract.redact import Secret, mask_url, register_secret, scrub

URL = "https://tenant.test/commerce/query/2.0/Orders/Orders?$top=5"


def response(status: int, *, json: object = None, headers: dict[str, str] | None = None):
    request = httpx.Request("GET", URL)
    if json is None:
        return httpx.Response(status, headers=headers, request=request)
    return httpx.Response(status, json=json, headers=headers, request=request)


def odata_error(message: str) -> dict[str, object]:
    return {"error": {"code": "x", "message": message}}


@pytest.mark.parametrize(
    ("status", "body", "exc", "pattern"),
    [
        (429, None, RateLimited, r"Orders/Orders: rate limited .*HTTP 429.* at https://tenant"),
        (500, odata_error("kaput"), ServerError, r"server error: kaput \(HTTP 500\)"),
        (502, None, ServerError, r"server error \(HTTP 502\)"),
        (503, None, ServerError, r"HTTP 503"),
        (504, None, ServerError, r"HTTP 504"),
        (401, None, AuthError, r"not authorized.*NORCE_CLIENT_ID"),
        (400, odata_error("Could not find a property named 'Foo'"), RequestRejected,
         r"request rejected: Could not find a property named 'Foo' \(HTTP 400\).*\$metadata"),
        (403, odata_error("Forbidden"), RequestRejected, r"HTTP 403.*lacks rights"),
        (404, odata_error("No set"), RequestRejected, r"HTTP 404.*reachable only via \$expand"),
        (405, None, RequestRejected, r"HTTP 405.*only GET"),
        (409, None, RequestRejected, r"HTTP 409"),
        (302, None, RequestRejected, r"redirect.*NORCE_BASE_URL"),
    ],
)  # fmt: skip
def test_status_policy(status, body, exc, pattern):
    with pytest.raises(exc) as info:
        classify_response(response(status, json=body), entity="Orders/Orders")
    text = str(info.value)
    assert re.search(pattern, text), text
    assert "\n" not in text
    assert type(info.value) is exc


@pytest.mark.parametrize("status", [200, 204])
def test_success_passes(status):
    assert classify_response(response(status), entity=None) is None


def test_rejected_keeps_odata_message_as_attribute():
    with pytest.raises(RequestRejected) as info:
        classify_response(response(400, json=odata_error("bad $filter")), entity="Core/Cultures")
    assert info.value.status == 400
    assert info.value.odata_message == "bad $filter"
    assert info.value.entity == "Core/Cultures"


def test_retry_after_seconds_on_429():
    with pytest.raises(RateLimited) as info:
        classify_response(response(429, headers={"Retry-After": "7"}), entity="Orders/Orders")
    assert info.value.retry_after == 7.0
    assert info.value.status == 429
    assert "asked to wait 7 s" in str(info.value)


def test_retry_after_http_date_measured_from_server_date():
    headers = {
        "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
        "Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT",
    }
    with pytest.raises(RateLimited) as info:
        classify_response(response(429, headers=headers), entity=None)
    assert info.value.retry_after == 30.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2026 07:28:10 GMT", 10.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),  # in the past: go now
        ("soon", None),
        ("", None),
        (None, None),
        # Absurd values read as at most ten years (beyond any cap) or as no advice, and
        # never overflow: found in issue 16 (a hang, and exit 1 "OverflowError").
        ("1000000000", LONGEST_RETRY_AFTER_S),
        ("9" * 400, LONGEST_RETRY_AFTER_S),
        ("Fri, 31 Dec 9999 23:59:59 GMT", LONGEST_RETRY_AFTER_S),
        ("inf", None),
        ("-inf", None),
        ("NaN", None),
        ("soon-ish, maybe", None),
        ("Fri, 31 Dec 99999 23:59:59 GMT", None),
    ],
)
def test_parse_retry_after(value, expected):
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)
    assert parse_retry_after(value, now=now) == expected


def test_server_error_keeps_retry_after():
    with pytest.raises(ServerError) as info:
        classify_response(response(503, headers={"Retry-After": "3"}), entity=None)
    assert info.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("exc", "expected", "pattern"),
    [
        (httpx.ConnectTimeout("t"), NetworkError, "timed out"),
        (httpx.ReadTimeout("t"), NetworkError, "timed out"),
        (httpx.ConnectError("refused"), NetworkError, "could not connect"),
        (httpx.RemoteProtocolError("eof"), NetworkError, "dropped mid-response"),
        (httpx.ReadError("reset"), NetworkError, "network failure"),
        (httpx.DecodingError("gzip"), BadPayload, "could not decode"),
        (httpx.UnsupportedProtocol("ftp"), FatalError, "NORCE_BASE_URL"),
    ],
)
def test_map_transport_error(exc, expected, pattern):
    exc.request = httpx.Request("GET", URL)
    err = map_transport_error(exc, entity="Orders/Orders")
    assert type(err) is expected
    assert pattern in str(err)
    assert "Orders/Orders" in str(err)
    assert "https://tenant.test/commerce/query/2.0/Orders/Orders" in str(err)


def test_tree_and_exit_codes():
    assert issubclass(ConfigError, ExtractError)
    for cls in (RateLimited, ServerError, NetworkError, BadPayload):
        assert issubclass(cls, RetryableError)
        assert cls.exit_code == 5
    for cls in (AuthError, RequestRejected):
        assert issubclass(cls, FatalError)
    assert not issubclass(AuthError, RetryableError)
    codes = {
        ConfigError: 2,
        AuthError: 3,
        FatalError: 4,
        RequestRejected: 4,
        RetryableError: 5,
        DataContractError: 6,
        StateError: 7,
        WarehouseError: 8,
        BudgetExhausted: 0,
    }
    for cls, code in codes.items():
        assert cls.exit_code == code, cls
        if cls not in (ConfigError, RequestRejected):
            assert cls("x").exit_code == code  # the instance says it too


def test_dbt_and_run_failures_are_pipeline_errors_not_extract_errors():
    from flows.errors import DbtFailed, RunFailed

    assert issubclass(ExtractError, PipelineError)
    for cls in (DbtFailed, RunFailed):
        assert issubclass(cls, PipelineError) and not issubclass(cls, ExtractError)


def test_an_instance_carries_its_own_exit_code():
    assert PipelineError("x", exit_code=10).exit_code == 10
    assert PipelineError("x").exit_code == 1
    err = pickle.loads(pickle.dumps(StateError("locked", exit_code=3)))
    assert err.exit_code == 3 and StateError.exit_code == 7


def test_message_is_one_actionable_line():
    err = ServerError(
        "server error", status=500, attempts=7, entity="Orders/Orders", url=URL + "&token=abc"
    )
    text = str(err)
    assert text.startswith("Orders/Orders: server error (HTTP 500, after 7 attempts) at https://")
    assert "token=***" in text and "abc" not in text
    assert "quarantined" in text  # the hint says what happens next
    assert repr(err) == f"ServerError({text!r})"


def test_config_error_lists_every_problem():
    err = ConfigError(["a is wrong", "b is missing"])
    assert err.problems == ["a is wrong", "b is missing"]
    assert "2 problems" in str(err) and "a is wrong" in str(err) and "b is missing" in str(err)


def test_errors_survive_pickling():
    err = RequestRejected("nope", status=404, odata_message="x", entity="A/B", url=URL)
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is RequestRejected
    assert (back.status, back.odata_message, back.entity, str(back)) == (
        404,
        "x",
        "A/B",
        str(err),
    )
    cfg = pickle.loads(pickle.dumps(ConfigError(["p1"])))
    assert cfg.problems == ["p1"]


# --- redaction ----------------------------------------------------------------------------


def test_registered_secret_is_scrubbed_from_every_message():
    secret = "hunter2-registered-secret"
    register_secret(secret)
    err = RequestRejected(f"echo {secret}", status=400, odata_message=secret, hint=secret)
    for text in (str(err), repr(err), err.message, err.hint, err.odata_message or ""):
        assert secret not in text
    assert secret not in str(ConfigError([f"bad {secret}"]))


def test_scrub_patterns():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
    text = scrub(f"Authorization: Bearer abc.def-123 and {jwt} client_secret=xyz&scope=prod")
    assert "abc.def-123" not in text and jwt not in text and "xyz" not in text
    assert "Bearer ***" in text and "client_secret=***" in text and "scope=prod" in text


def test_mask_url():
    masked = mask_url("https://user:pw@h.test/p?$filter=Id gt 5&access_token=t0k&apiKey=k")
    assert "pw" not in masked and "t0k" not in masked and "=k" not in masked
    assert masked.startswith("https://user:***@h.test/p?$filter=Id")
    assert mask_url(None) == ""
    plain = "https://h.test/commerce/query/2.0/Orders/Orders?$top=5"
    assert mask_url(plain) == plain


def test_secret_never_prints():
    secret = Secret("do-not-print-me")
    assert repr(secret) == "Secret('***')"
    assert str(secret) == "Secret('***')"
    assert f"{secret}" == "Secret('***')"
    assert secret.reveal() == "do-not-print-me"
    assert secret == Secret("do-not-print-me") and secret != Secret("other")
    with pytest.raises(AttributeError):
        secret._value = "x"  # type: ignore[misc]

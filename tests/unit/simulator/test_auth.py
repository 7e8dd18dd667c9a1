"""The token endpoint's answers, token lifetime, revocation and rate limit."""

from __future__ import annotations

import base64
from urllib.parse import urlencode

import pytest

from simulator.auth import TokenService


class FakeClock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def form(**fields):
    return urlencode(fields).encode()


GOOD = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": "demo-secret"}


def test_client_credentials_grant_issues_a_bearer_token():
    service = TokenService()
    reply = service.token_request(form(**GOOD, scope="prod"), "127.0.0.1")
    assert reply.status == 200
    assert reply.payload["token_type"] == "Bearer"
    assert reply.payload["expires_in"] == 3600
    assert reply.payload["scope"] == "prod"
    token = reply.payload["access_token"]
    assert len(token) >= 32
    assert service.validate(f"Bearer {token}")
    assert service.validate(f"bearer {token}")
    assert service.issued == 1


def test_scope_defaults_to_prod_and_echoes_the_environment():
    service = TokenService()
    assert service.token_request(form(**GOOD), "ip").payload["scope"] == "prod"
    assert service.token_request(form(**GOOD, scope="stage"), "ip").payload["scope"] == "stage"


@pytest.mark.parametrize(
    ("fields", "status", "error"),
    [
        ({**GOOD, "client_secret": "wrong"}, 401, "invalid_client"),
        ({**GOOD, "client_secret": "dém0"}, 401, "invalid_client"),
        ({**GOOD, "client_id": "nobody"}, 401, "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "demo"}, 401, "invalid_client"),
        ({**GOOD, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"client_id": "demo", "client_secret": "demo-secret"}, 400, "invalid_request"),
    ],
)
def test_bad_requests(fields, status, error):
    reply = TokenService().token_request(form(**fields), "127.0.0.1")
    assert (reply.status, reply.payload) == (status, {"error": error})


def test_several_configured_clients_and_basic_auth():
    service = TokenService({"a": "1", "b": "2"})
    assert (
        service.token_request(
            form(grant_type="client_credentials", client_id="b", client_secret="2"), "ip"
        ).status
        == 200
    )
    assert service.token_request(form(**GOOD), "ip").status == 401
    basic = "Basic " + base64.b64encode(b"a:1").decode()
    assert service.token_request(form(grant_type="client_credentials"), "ip", basic).status == 200


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer nope", "Basic abc", "token"])
def test_invalid_authorization_headers(header):
    service = TokenService()
    service.token_request(form(**GOOD), "ip")
    assert not service.validate(header)


def test_tokens_expire_after_ttl():
    clock = FakeClock()
    service = TokenService(ttl=1, clock=clock)
    token = service.token_request(form(**GOOD), "ip").payload["access_token"]
    clock.now += 0.9
    assert service.validate(f"Bearer {token}")
    clock.now += 0.2
    assert not service.validate(f"Bearer {token}")


def test_revoke_all():
    service = TokenService()
    tokens = [service.token_request(form(**GOOD), "ip").payload["access_token"] for _ in range(3)]
    assert service.revoke_all() == 3
    assert not any(service.validate(f"Bearer {t}") for t in tokens)
    fresh = service.token_request(form(**GOOD), "ip").payload["access_token"]
    assert service.validate(f"Bearer {fresh}")


def test_rate_limit_burst_then_per_minute_per_ip():
    clock = FakeClock()
    service = TokenService(burst=20, per_minute=3, clock=clock)
    statuses = [service.token_request(form(**GOOD), "10.0.0.1").status for _ in range(21)]
    assert statuses == [200] * 20 + [429]
    limited = service.token_request(form(**GOOD), "10.0.0.1")
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "20"
    # another IP has its own bucket
    assert service.token_request(form(**GOOD), "10.0.0.2").status == 200
    # 3 per minute: one request every 20 s
    clock.now += 20
    assert service.token_request(form(**GOOD), "10.0.0.1").status == 200
    assert service.token_request(form(**GOOD), "10.0.0.1").status == 429
    clock.now += 60
    statuses = [service.token_request(form(**GOOD), "10.0.0.1").status for _ in range(4)]
    assert statuses == [200, 200, 200, 429]

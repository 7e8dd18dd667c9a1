"""OAuth2 client-credentials token endpoint and bearer validation, as Norce Identity does it.

``POST /identity/1.0/connect/token`` with a form body (``grant_type=client_credentials``,
``client_id``, ``client_secret``, ``scope``; HTTP Basic client authentication also works)
returns an opaque bearer token. The endpoint has its own per-IP rate limit (a token bucket:
burst 20, then 3 per minute by default), as documented for the real one.

Token lifetimes run on the real monotonic clock, not the simulated one: moving the data
clock forward a day must not log every client out. Tests expire tokens with a short
``token_ttl`` or revoke them all at once (:meth:`TokenService.revoke_all`).
"""

from __future__ import annotations

import base64
import binascii
import math
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

DEFAULT_CREDENTIALS: dict[str, str] = {"demo": "demo-secret"}
DEFAULT_SCOPE = "prod"


@dataclass(frozen=True, slots=True)
class TokenReply:
    """An HTTP answer of the token endpoint: status, JSON payload, extra headers."""

    status: int
    payload: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


class _Bucket:
    """Token bucket: ``burst`` requests at once, refilled at ``per_minute``."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.stamp = now


class TokenService:
    """Issues, validates and revokes bearer tokens.

    Args:
        credentials: ``client_id -> client_secret``; default ``demo``/``demo-secret``.
        ttl: token lifetime in seconds (``expires_in``).
        burst: token requests a client IP may make at once.
        per_minute: sustained token requests per minute and client IP.
        clock: monotonic seconds (injectable for tests).
    """

    def __init__(
        self,
        credentials: Mapping[str, str] | None = None,
        *,
        ttl: int = 3600,
        burst: int = 20,
        per_minute: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if ttl <= 0:
            raise ValueError("token_ttl must be positive")
        self.credentials = dict(DEFAULT_CREDENTIALS if credentials is None else credentials)
        self.ttl = ttl
        self.burst = burst
        self.per_minute = per_minute
        self._clock = clock
        self._tokens: dict[str, float] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self.issued = 0

    def token_request(
        self, body: bytes, client_ip: str, authorization: str | None = None
    ) -> TokenReply:
        """Answer one ``POST .../connect/token``.

        Args:
            body: the ``application/x-www-form-urlencoded`` request body.
            client_ip: the caller's address, the unit of the rate limit.
            authorization: the ``Authorization`` header, for HTTP Basic client auth.

        Returns:
            200 with a token; 400 ``invalid_request``/``unsupported_grant_type``; 401
            ``invalid_client``; 429 ``Retry-After`` when the IP is over its budget.
        """
        wait = self._take(client_ip)
        if wait is not None:
            return TokenReply(
                429,
                {"error": "too_many_requests", "error_description": "Token rate limit exceeded."},
                {"Retry-After": str(wait)},
            )
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        basic = _basic_credentials(authorization)
        if basic is not None:
            client_id, client_secret = basic
        grant = form.get("grant_type")
        if not grant:
            return TokenReply(400, {"error": "invalid_request"})
        if grant != "client_credentials":
            return TokenReply(400, {"error": "unsupported_grant_type"})
        if (
            client_id is None
            or client_secret is None
            or client_id not in self.credentials
            or not secrets.compare_digest(
                self.credentials[client_id].encode(), client_secret.encode()
            )
        ):
            return TokenReply(401, {"error": "invalid_client"})
        token = secrets.token_urlsafe(32)
        with self._lock:
            now = self._clock()
            self._purge(now)
            self._tokens[token] = now + self.ttl
            self.issued += 1
        return TokenReply(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": self.ttl,
                "scope": form.get("scope") or DEFAULT_SCOPE,
            },
        )

    def validate(self, authorization: str | None) -> bool:
        """True if the ``Authorization`` header carries a live bearer token."""
        if not authorization:
            return False
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        with self._lock:
            expires = self._tokens.get(token.strip())
            if expires is None:
                return False
            if expires <= self._clock():
                del self._tokens[token.strip()]
                return False
            return True

    def revoke_all(self) -> int:
        """Invalidate every issued token; returns how many were live."""
        with self._lock:
            now = self._clock()
            live = sum(1 for expires in self._tokens.values() if expires > now)
            self._tokens.clear()
        return live

    def _take(self, client_ip: str) -> int | None:
        """Spend one request from the IP's bucket; seconds to wait if it is empty."""
        with self._lock:
            now = self._clock()
            bucket = self._buckets.get(client_ip)
            if bucket is None:
                bucket = self._buckets[client_ip] = _Bucket(self.burst, now)
            rate = self.per_minute / 60.0
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return None
            if rate <= 0:
                return 60
            return max(1, math.ceil((1 - bucket.tokens) / rate))

    def _purge(self, now: float) -> None:
        if len(self._tokens) > 1000:
            self._tokens = {t: e for t, e in self._tokens.items() if e > now}


def _basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    if not authorization:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 2.3.1: client id and secret are form-encoded before Basic encoding
    return unquote_plus(user), unquote_plus(password)

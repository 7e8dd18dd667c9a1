"""OAuth2 client-credentials tokens for the Query API: fetched once, cached, shared.

Norce's token endpoint allows about three requests a minute per IP, so a run asks for one
token and reuses it from every thread until it nears expiry. A 401 from the API lets the
client drop the token (:meth:`TokenProvider.invalidate`) and fetch exactly one new one.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable

import httpx
import orjson

from extract.errors import AuthError, BadPayload, ExtractError, RequestRejected, RetryableError
from extract.http.body import MIB, BodyLimits, read_body, with_body
from extract.http.stats import RequestStats
from extract.http.status import classify_response, map_transport_error
from extract.redact import register_secret, terminal_safe
from extract.settings import ApiSettings

__all__ = ["TOKEN_PATH", "TokenProvider", "believed_lifetime"]

log = logging.getLogger(__name__)

TOKEN_PATH = "/identity/1.0/connect/token"
"""Token endpoint, relative to the tenant root."""
REFRESH_MARGIN_S = 60.0
"""Refresh when fewer seconds than this remain ..."""
REFRESH_FRACTION = 0.1
"""... or than this fraction of the token's lifetime, whichever is smaller."""
DEFAULT_LIFETIME_S = 3600.0
"""Assumed lifetime when the endpoint omits ``expires_in`` (Norce tokens last an hour)."""
MIN_LIFETIME_S = 60.0
"""An ``expires_in`` below this (0, negative) or not a finite number (``"NaN"``) is not
believed: the token is kept for :data:`DEFAULT_LIFETIME_S` instead, with a warning. If it
really expires sooner, the API's 401 makes the client fetch one new token, so a run asks
for at most one token per real expiry -- never one per request."""
MAX_TOKEN_REPLY_BYTES = MIB
"""A token reply is a few hundred bytes; a bigger one is refused unread."""
TOKEN_RETRIES = 3
"""Retries of the token request on 429, 5xx and network errors."""
TOKEN_BACKOFF_S = 2.0
"""Wait before a token retry when the server gave no ``Retry-After`` (doubles each time)."""
MAX_TOKEN_WAIT_S = 120.0
"""Longest single wait for the token endpoint; its limit is per minute."""


class TokenProvider:
    """Fetches and caches the bearer token; thread-safe, one refresh at a time.

    Args:
        api: Tenant root and credentials.
        http: The pooled client (its transport is used for the token POST).
        clock: Monotonic seconds, for expiry (injectable for tests).
        sleep: Blocking wait, for ``Retry-After`` on the token endpoint.
        max_retries: Retries of the token request on 429/5xx/network errors.
    """

    def __init__(
        self,
        api: ApiSettings,
        http: httpx.Client,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int = TOKEN_RETRIES,
    ) -> None:
        self._api = api
        self._http = http
        self._clock = clock
        self._sleep = sleep
        self._max_retries = max_retries
        self._lock = threading.Lock()
        self._token: str | None = None
        self._refresh_at = float("-inf")
        self.token_requests = 0
        """Requests sent to the token endpoint (retries included)."""

    @property
    def url(self) -> str:
        """The token endpoint URL."""
        return self._api.base_url + TOKEN_PATH

    def token(self, stats: RequestStats | None = None) -> str:
        """The current bearer token, fetched first if missing or close to expiry.

        Args:
            stats: Where to count token requests, if this call makes any.

        Raises:
            AuthError: Credentials or scope refused (400/401/403 from the endpoint).
            RetryableError: The endpoint kept failing (429/5xx/network) after retries.
            RequestRejected: The endpoint does not exist at this base URL.
        """
        with self._lock:
            if self._token is not None and self._clock() < self._refresh_at:
                return self._token
            # Holding the lock while fetching makes other threads wait for this token
            # instead of each asking for their own.
            return self._fetch(stats)

    def invalidate(self, token: str | None = None) -> None:
        """Drop the cached token after a 401, so the next :meth:`token` fetches a new one.

        Args:
            token: The token the 401 answered. If another thread already replaced it, the
                newer token is kept (many threads hitting 401 together cause one refresh).
        """
        with self._lock:
            if token is None or token == self._token:
                self._token = None
                self._refresh_at = float("-inf")

    def _fetch(self, stats: RequestStats | None) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._api.client_id,
            "client_secret": self._api.client_secret.reveal(),
            "scope": self._api.scope,
        }
        attempt = 0
        while True:
            attempt += 1
            self.token_requests += 1
            if stats is not None:
                stats.add(token_requests=1)
            try:
                return self._request(form)
            except RetryableError as err:
                if attempt > self._max_retries:
                    err.attempts = attempt
                    raise
                wait = err.retry_after
                if wait is None:
                    wait = TOKEN_BACKOFF_S * 2 ** (attempt - 1)
                if wait > MAX_TOKEN_WAIT_S:
                    err.attempts = attempt
                    raise
                log.warning("token request failed (%s); retrying in %.1f s", err, wait)
                self._sleep(wait)

    def _request(self, form: dict[str, str]) -> str:
        started = self._clock()
        response = self._post(form, started)
        status = response.status_code
        if status in (400, 401, 403):
            detail = _oauth_error(response)
            raise AuthError(
                f"the token endpoint refused the credentials (HTTP {status}{detail})",
                hint=(
                    "check NORCE_CLIENT_ID/NORCE_CLIENT_SECRET and that the integration "
                    f"user may use scope {self._api.scope!r} (NORCE_SCOPE)"
                ),
                url=self.url,
            )
        try:
            classify_response(response, entity="token")
        except RequestRejected as err:
            raise RequestRejected(
                err.message,
                status=err.status,
                odata_message=err.odata_message,
                hint=f"check NORCE_BASE_URL: it must be the tenant root serving {TOKEN_PATH}",
                url=self.url,
            ) from None
        return self._accept(response, started)

    def _post(self, form: dict[str, str], started: float) -> httpx.Response:
        """POST the form; the reply is read within the API's deadline and a small cap."""
        limits = BodyLimits(
            self._api.deadline_s, MAX_TOKEN_REPLY_BYTES, "the token reply cap", "token reply"
        )
        request = self._http.build_request(
            "POST", self.url, data=form, headers={"Accept": "application/json"}
        )
        try:
            response = self._http.send(request, stream=True)
            try:
                body = read_body(response, limits, started=started, clock=self._clock)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise map_transport_error(exc, entity="token", url=self.url) from None
        except ExtractError as err:
            raise BadPayload(err.message, url=self.url) from None
        return with_body(response, body)

    def _accept(self, response: httpx.Response, started: float) -> str:
        try:
            doc = orjson.loads(response.content)
            token = doc["access_token"]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise BadPayload(
                "the token endpoint answered without a usable access_token", url=self.url
            ) from None
        if not isinstance(token, str) or not token:
            raise BadPayload("the token endpoint returned an empty access_token", url=self.url)
        lifetime = believed_lifetime(doc.get("expires_in", DEFAULT_LIFETIME_S))
        register_secret(token)
        margin = min(REFRESH_MARGIN_S, REFRESH_FRACTION * lifetime)
        # Measure from when the request was sent: the token's clock started no later.
        self._refresh_at = started + lifetime - margin
        self._token = token
        log.debug("fetched a bearer token valid for %.0f s", lifetime)
        return token


def believed_lifetime(expires_in: object) -> float:
    """The lifetime a token is kept for, from its ``expires_in`` (see :data:`MIN_LIFETIME_S`).

    Returns:
        ``expires_in`` as seconds when it is a finite number of at least
        :data:`MIN_LIFETIME_S`, else :data:`DEFAULT_LIFETIME_S` (with a warning).
    """
    seconds = math.nan
    if isinstance(expires_in, int | float | str) and not isinstance(expires_in, bool):
        with contextlib.suppress(ValueError):
            seconds = float(expires_in)
    if math.isfinite(seconds) and seconds >= MIN_LIFETIME_S:
        return seconds
    log.warning(
        "the token endpoint gave expires_in=%s; keeping the token for %.0f s instead (a 401 "
        "from the API still fetches a new one)",
        terminal_safe(str(expires_in))[:40],
        DEFAULT_LIFETIME_S,
    )
    return DEFAULT_LIFETIME_S


def _oauth_error(response: httpx.Response) -> str:
    """``": invalid_client - description"`` from an OAuth error body, else ``""``."""
    try:
        doc = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        return ""
    if not isinstance(doc, dict):
        return ""
    parts = [str(doc[k]) for k in ("error", "error_description") if isinstance(doc.get(k), str)]
    return f": {terminal_safe(' - '.join(parts)[:200])}" if parts else ""

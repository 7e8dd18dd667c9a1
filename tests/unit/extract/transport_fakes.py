"""Fakes for the transport tests: a fake clock, a fake tenant behind ``httpx.MockTransport``.

The tenant is a plain handler function object: it serves the token endpoint, checks bearer
tokens, and routes Query API paths to per-test handlers. ``RowsEndpoint`` is a tiny OData
list endpoint over integer ids (``$filter=Id gt N``, ``$orderby``, ``$top`` clamped to a
cap, ``$skip``, ``$count``, ``@odata.nextLink``) with switchable poison records.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlencode

import httpx
import orjson

from extract.errors import BadPayload
from extract.settings import ApiSettings, Secret, ThrottleSettings

BASE = "https://tenant.test"
QUERY = f"{BASE}/commerce/query/2.0"
TOKEN_PATH = "/identity/1.0/connect/token"
CLIENT_SECRET = "s3cr3t-client-value"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeClock:
    """Monotonic time that only moves when something sleeps; records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class Tenant:
    """A fake Norce tenant: token endpoint plus routed Query API paths; records requests."""

    def __init__(self, *, lifetime: int = 3600) -> None:
        self.lifetime = lifetime
        self.requests: list[httpx.Request] = []
        self.routes: dict[str, Handler] = {}
        self.token_handler: Handler | None = None
        self.issued: list[str] = []
        self.revoked: set[str] = set()
        self._lock = threading.Lock()

    def route(self, path: str, handler: Handler) -> None:
        """Serve ``<query root>/<path>`` with ``handler``."""
        self.routes[path] = handler

    def __call__(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append(request)
        if request.url.path == TOKEN_PATH:
            if self.token_handler is not None:
                return self.token_handler(request)
            return self.issue_token()
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ")
        if token not in self.issued or token in self.revoked:
            return httpx.Response(401, json={"error": {"code": "401", "message": "Unauthorized"}})
        path = request.url.path.removeprefix("/commerce/query/2.0/")
        handler = self.routes.get(path)
        if handler is None:
            return httpx.Response(
                404, json={"error": {"code": "404", "message": f"No set '{path}'"}}
            )
        return handler(request)

    def issue_token(self) -> httpx.Response:
        with self._lock:
            token = f"tok-{len(self.issued) + 1}-abcdef"
            self.issued.append(token)
        return httpx.Response(
            200,
            json={"access_token": token, "expires_in": self.lifetime, "token_type": "Bearer"},
        )

    @property
    def gets(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path != TOKEN_PATH]

    @property
    def token_posts(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == TOKEN_PATH]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def params_of(request: httpx.Request) -> dict[str, str]:
    """The decoded query options of a request."""
    return dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))


@dataclass
class RowsEndpoint:
    """An OData list endpoint over ids 1..n (or the given ids), ordered by ``Id``."""

    ids: list[int]
    cap: int = 500
    next_links: bool = False
    relative_links: bool = False
    poison: set[int] = field(default_factory=set)
    poison_mode: str = "500"  # "500" or "json": how a page holding a poison id fails
    ignore_filter: bool = False
    strict_top: bool = False  # OData reading: $top caps the whole link chain, not a page
    seen: list[dict[str, str]] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = params_of(request)
        self.seen.append(params)
        rows = self.ids
        match = re.search(r"\bId gt (\d+)", params.get("$filter", ""))
        if match and not self.ignore_filter:
            after = int(match.group(1))
            rows = [i for i in rows if i > after]
        total = len(rows)
        skip = int(params.get("$skip", "0"))
        top = min(int(params.get("$top", str(self.cap))), self.cap)
        page = rows[skip : skip + top]
        if self.poison & set(page):
            if self.poison_mode == "json":
                body = orjson.dumps({"value": [{"Id": i} for i in page]})
                return httpx.Response(200, content=body[:-2])  # truncated
            return httpx.Response(500, json={"error": {"code": "500", "message": "boom"}})
        doc: dict[str, object] = {"value": [{"Id": i} for i in page]}
        if params.get("$count") == "true":
            doc["@odata.count"] = total
        asked = int(params.get("$top", str(total)))
        more = skip + len(page) < total and (not self.strict_top or len(page) < asked)
        if self.next_links and more:
            rest = {k: v for k, v in params.items() if k != "$skip"}
            rest["$skip"] = str(skip + len(page))
            if self.strict_top:
                rest["$top"] = str(asked - len(page))
            query = urlencode(rest, quote_via=quote, safe="$,'()")
            path = request.url.path.rsplit("/", 1)[-1]
            link = f"{path}?{query}" if self.relative_links else f"{QUERY}/Test/{path}?{query}"
            doc["@odata.nextLink"] = link
        return httpx.Response(200, content=orjson.dumps(doc))


@dataclass
class SimplePage:
    """A decoded test page (satisfies ``extract.paging.DecodedPage``)."""

    row_count: int
    last_key: tuple[object, ...] | None
    next_link: str | None
    count: int | None
    ids: list[int]


def decode_page(body: bytes) -> SimplePage:
    """Decode a test page; unreadable JSON is a :class:`BadPayload`, like extract.decode.pages."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadPayload(f"invalid JSON: {exc}") from None
    ids = [row["Id"] for row in doc["value"]]
    return SimplePage(
        row_count=len(ids),
        last_key=(ids[-1],) if ids else None,
        next_link=doc.get("@odata.nextLink"),
        count=doc.get("@odata.count"),
        ids=ids,
    )


def api_settings(**overrides: object) -> ApiSettings:
    values: dict[str, object] = {
        "base_url": BASE,
        "client_id": "cid",
        "client_secret": Secret(CLIENT_SECRET),
    }
    values.update(overrides)
    return ApiSettings(**values)  # type: ignore[arg-type]


def throttle_settings(**overrides: object) -> ThrottleSettings:
    values: dict[str, object] = {
        "max_rps": 1000.0,
        "max_inflight": 4,
        "max_retries": 2,
        "backoff_base_s": 0.5,
        "backoff_max_s": 4.0,
    }
    values.update(overrides)
    return ThrottleSettings(**values)  # type: ignore[arg-type]

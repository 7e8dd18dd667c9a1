"""The simulator's ASGI app: token endpoint, Query API 2.0 paths, optional admin routes.

A plain ASGI callable rather than Starlette: with only three route prefixes a router buys
nothing, and the per-request overhead is lower (see ``bench/sim_pages.py``). Query work
(polars) runs in a worker thread so the event loop keeps serving other connections, token
requests and fault latencies meanwhile.

Order of checks on a Query path, outermost first -- gateway, then service:
the profile's request budget (429 without ``Retry-After``, ``$metadata`` included),
latency faults, rate limit (429), dropped connection, random 5xx, method (405), bearer
token (401), path and options (404/400), Reporting/deep-``$skip`` faults (500), the
profile's rules (``$count`` refused 400, the ``applicationId`` header 500 where the tenant
fails without it, Reporting down 500), the query itself, poisoned records (500), and finally
truncated or corrupted 200 bodies. ``$metadata`` skips the faults. Every response carries a
``Date`` header from the simulated clock.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from email.utils import format_datetime
from typing import Any

import orjson

from simulator.admin import AdminApi
from simulator.asgi import Receive, Scope, Send, drop_connection, lifespan, read_body
from simulator.auth import TokenService
from simulator.budget import GATEWAY_BODY, WindowBudget
from simulator.control import Simulator
from simulator.edmx import render_metadata
from simulator.faults import FaultConfig, FaultInjector
from simulator.odata.errors import ODataError, error_body
from simulator.odata.service import (
    JSON_CONTENT_TYPE,
    QUERY_PREFIX,
    QueryService,
    Result,
    error_result,
)
from simulator.profiles import Profile, resolve

TOKEN_PATH = "/identity/1.0/connect/token"
ADMIN_PREFIX = "/_sim/"


_ROUTE = re.compile(r"([^/(]+)(?:/([^/(]+))?")
_GATEWAY_TEXT = {
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class AppState:
    """Counters the app keeps (``app.state``): requests by status and route."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[int, str]] = Counter()

    def record(self, status: int, route: str) -> None:
        """Count one answered request (status 0: connection dropped by a fault)."""
        self.requests[(status, route)] += 1

    def snapshot(self) -> dict[str, Any]:
        """Totals by status and by path (``Namespace/Set``, ``token``, ``admin/...``)."""
        by_status: Counter[int] = Counter()
        by_route: dict[str, dict[str, int]] = {}
        for (status, route), n in sorted(self.requests.items()):
            by_status[status] += n
            by_route.setdefault(route, {})[str(status)] = n
        return {
            "total": sum(by_status.values()),
            "by_status": {str(k): v for k, v in sorted(by_status.items())},
            "by_path": by_route,
        }


class SimulatorApp:
    """The ASGI application. Build it with :func:`create_app`.

    Attributes:
        sim: the simulator whose store is served.
        state: request counters.
        tokens: the token service (issue, validate, revoke).
        faults: the active fault injector; replace it with :meth:`set_faults`.
        service: the Query API resource layer.
        profile: the tenant profile served.
        budget: the profile's request budget (None: unlimited).
    """

    def __init__(
        self,
        sim: Simulator,
        *,
        faults: FaultConfig | None,
        admin: bool,
        credentials: dict[str, str] | None,
        token_ttl: int,
        require_app_header: bool,
        token_burst: int,
        token_per_minute: float,
        profile: Profile,
    ) -> None:
        self.sim = sim
        self.state = AppState()
        self.tokens = TokenService(
            credentials, ttl=token_ttl, burst=token_burst, per_minute=token_per_minute
        )
        self.faults = FaultInjector(faults)
        self.profile = profile
        self.budget = (
            None
            if profile.minute_budget is None
            else WindowBudget(profile.minute_budget, profile.budget_window_s)
        )
        self.service = QueryService(
            sim.store, render_metadata, require_app_header=require_app_header, profile=profile
        )
        self.admin = AdminApi(self) if admin else None

    def set_faults(self, config: FaultConfig) -> None:
        """Switch to a new fault config (fresh RNG and rate-limit window)."""
        self.faults = FaultInjector(config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if path.startswith(QUERY_PREFIX):
            await self._query(scope, send)
        elif path == TOKEN_PATH:
            await self._token(scope, receive, send)
        elif self.admin is not None and path.startswith(ADMIN_PREFIX):
            await self._admin(scope, receive, send)
        else:
            body = error_body("NotFound", f"No route for {path}.")
            await self._respond(send, 404, body, JSON_CONTENT_TYPE, "other")

    # -- Query API ----------------------------------------------------------------
    async def _query(self, scope: Scope, send: Send) -> None:
        path: str = scope["path"]
        relative = path[len(QUERY_PREFIX) :]
        route = _route_label(relative)
        headers = _headers(scope)
        is_metadata = relative.endswith("/$metadata")
        if self.budget is not None and not self.budget.admit():
            await self._respond(send, 429, GATEWAY_BODY, "application/json", route)
            return
        faults = self.faults
        if not is_metadata:
            delay = faults.delay_seconds()
            if delay > 0:
                await asyncio.sleep(delay)
            wait = faults.retry_after()
            if wait is not None:
                body = error_body("TooManyRequests", "Rate limit exceeded. Retry later.")
                await self._respond(
                    send, 429, body, JSON_CONTENT_TYPE, route, {"retry-after": str(wait)}
                )
                return
            fault = faults.network_fault()
            if fault == "reset":
                self.state.record(0, route)
                await drop_connection(send)
                return
            if isinstance(fault, int):
                await self._respond(send, fault, *_gateway_error(fault), route)
                return
        if scope["method"] != "GET":
            body = error_body("MethodNotAllowed", "The Query API is read-only: only GET.")
            await self._respond(send, 405, body, JSON_CONTENT_TYPE, route, {"allow": "GET"})
            return
        if not self.tokens.validate(headers.get("authorization")):
            body = error_body("Unauthorized", "A valid bearer token is required.")
            extra = {"www-authenticate": 'Bearer error="invalid_token"'}
            await self._respond(send, 401, body, JSON_CONTENT_TYPE, route, extra)
            return
        result = await asyncio.to_thread(
            self._run_query, scope, relative, headers, faults, is_metadata
        )
        body = result.body
        if result.status == 200 and not is_metadata and result.content_type != "text/plain":
            body = faults.mangle(body)
        extra = {"odata-version": "4.0"}
        await self._respond(send, result.status, body, result.content_type, route, extra)

    def _run_query(
        self,
        scope: Scope,
        relative: str,
        headers: dict[str, str],
        faults: FaultInjector,
        is_metadata: bool,
    ) -> Result:
        raw_path = scope.get("raw_path")
        # URLs should be ASCII (percent-encoded); raw UTF-8 from a sloppy client still works
        query = scope.get("query_string", b"").decode("utf-8", "replace")
        try:
            prepared = self.service.prepare(
                relative,
                raw_path.decode("utf-8", "replace") if raw_path else scope["path"],
                query,
            )
            if not is_metadata and prepared.target.set_name:
                reason = faults.set_failure(prepared.target.set_path, prepared.options.skip)
                if reason is not None:
                    raise ODataError(500, "InternalServerError", reason)
            result = self.service.execute(
                prepared, base_url=_base_url(scope, headers), headers=headers
            )
            if result.keys is not None and faults.poisoned(prepared.target.set_path, result.keys):
                raise ODataError(
                    500, "InternalServerError", "An error has occurred while reading the data."
                )
            return result
        except ODataError as exc:
            return error_result(exc)

    # -- token endpoint -----------------------------------------------------------
    async def _token(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = "token"
        if scope["method"] != "POST":
            body = orjson.dumps({"error": "invalid_request"})
            await self._respond(send, 405, body, "application/json", route, {"allow": "POST"})
            return
        request_body = await read_body(receive)
        client = scope.get("client")
        client_ip = client[0] if client else "unknown"
        reply = self.tokens.token_request(
            request_body, client_ip, _headers(scope).get("authorization")
        )
        extra = {k.lower(): v for k, v in reply.headers.items()}
        extra["cache-control"] = "no-store"
        await self._respond(
            send, reply.status, orjson.dumps(reply.payload), "application/json", route, extra
        )

    # -- admin --------------------------------------------------------------------
    async def _admin(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.admin is not None
        request_body = await read_body(receive)
        sub_path = scope["path"][len(ADMIN_PREFIX) :]
        status, payload = await asyncio.to_thread(
            self.admin.handle, scope["method"], sub_path, request_body
        )
        await self._respond(
            send, status, orjson.dumps(payload), "application/json", "admin/" + sub_path
        )

    # -- plumbing -----------------------------------------------------------------
    async def _respond(
        self,
        send: Send,
        status: int,
        body: bytes,
        content_type: str,
        route: str,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.state.record(status, route)
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"date", format_datetime(self.sim.clock.now(), usegmt=True).encode("latin-1")),
        ]
        if extra:
            headers.extend((k.encode("latin-1"), v.encode("latin-1")) for k, v in extra.items())
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def create_app(
    sim: Simulator,
    *,
    faults: FaultConfig | None = None,
    admin: bool = False,
    credentials: dict[str, str] | None = None,
    token_ttl: int = 3600,
    require_app_header: bool = True,
    token_burst: int = 20,
    token_per_minute: float = 3.0,
    profile: Profile | str | None = None,
) -> SimulatorApp:
    """Build the simulator's ASGI app.

    Args:
        sim: the simulator to serve.
        faults: faults to inject on Query paths (none by default).
        admin: mount the ``/_sim/`` admin routes.
        credentials: ``client_id -> client_secret``; default ``demo``/``demo-secret``.
        token_ttl: bearer token lifetime in seconds.
        require_app_header: sets flagged ``header_required`` answer 500 without an
            ``applicationId`` header, as on the observed tenant.
        token_burst: token requests per client IP before the endpoint's rate limit.
        token_per_minute: sustained token requests per minute and client IP.
        profile: the tenant profile (or its spec, e.g. ``"docs-2.0"``); default: the one
            ``sim`` was created with. Its request switches (``no_count``,
            ``header_everywhere``, ``reporting_down``, the budget) may differ from
            ``sim.profile``; its data switches must not.

    Returns:
        The ASGI app; ``app.state`` holds request counters.

    Raises:
        ValueError: for an unknown profile, or one whose data switches differ from the
            simulator's (create the simulator with it instead).
    """
    tenant = sim.profile if profile is None else resolve(profile)
    if tenant.data_switches() != sim.profile.data_switches():
        raise ValueError(
            f"profile '{tenant.to_spec()}' shapes data differently from the simulator's "
            f"'{sim.profile.to_spec()}': create it with Simulator.create(profile=...)"
        )
    return SimulatorApp(
        sim,
        faults=faults,
        admin=admin,
        credentials=credentials,
        token_ttl=token_ttl,
        require_app_header=require_app_header,
        token_burst=token_burst,
        token_per_minute=token_per_minute,
        profile=tenant,
    )


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _base_url(scope: Scope, headers: dict[str, str]) -> str:
    host = headers.get("host")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


def _route_label(relative: str) -> str:
    match = _ROUTE.match(relative)
    if match is None:
        return "query"
    return match.group(1) + (f"/{match.group(2)}" if match.group(2) else "")


def _gateway_error(status: int) -> tuple[bytes, str]:
    if status == 500:
        return error_body("InternalServerError", "An error has occurred."), JSON_CONTENT_TYPE
    text = _GATEWAY_TEXT.get(status, "Error")
    title = f"{status} {text}"
    html = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return html.encode(), "text/html"

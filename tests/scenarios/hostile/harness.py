"""A hostile server for scenario tests: the real simulator behind an ASGI wrapper that
alters its replies per rule.

:class:`HostileApp` wraps the simulator's ASGI app. Each request is checked against the
active rules in order; the first rule that matches (and has uses left) answers it, usually
by calling the simulator (:meth:`Exchange.upstream`) and changing what it said (the rule
builders are in :mod:`tests.scenarios.hostile.rules`). Requests no rule matches go to the
simulator untouched.

Rules follow the *record*, not the request: the loader re-asks for a failing page in smaller
pieces until it isolates one bad record, so a rule that damages "the customer with Id 7"
damages it in every reply that carries it, whatever ``$top``/``$skip`` asked for.

Nothing here holds a large body in memory: big replies are async generators of chunks.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Body = bytes | AsyncIterator[bytes]

QUERY = "/commerce/query/2.0/"
TOKEN = "/identity/1.0/connect/token"
JSON = b"application/json; odata.metadata=minimal"
XML = b"application/xml"
MIB = 1 << 20


@dataclass
class Reply:
    """What the simulator answered (status, headers as ASGI pairs, whole body)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == key), None)


class Exchange:
    """One request a rule answers: its scope, the simulator, and the way back."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, inner: ASGIApp) -> None:
        self.scope = scope
        self._receive = receive
        self._send = send
        self._inner = inner
        self.disconnected = asyncio.Event()
        self._watcher: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        return str(self.scope["path"])

    @property
    def query(self) -> str:
        return bytes(self.scope.get("query_string", b"")).decode("latin-1")

    async def upstream(self) -> Reply:
        """Ask the simulator; returns its whole reply (small: a page or a token)."""
        start: Message = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        await self._inner(self.scope, self._receive, capture)
        headers = [(bytes(k), bytes(v)) for k, v in start.get("headers", [])]
        return Reply(int(start.get("status", 500)), headers, b"".join(chunks))

    async def reply(
        self, status: int, headers: list[tuple[bytes, bytes]], body: Body, *, length: bool = True
    ) -> None:
        """Send a reply; ``body`` may be an async iterator of chunks (sent as they come)."""
        headers = [(k, v) for k, v in headers if k.lower() not in (b"content-length",)]
        if isinstance(body, bytes) and length:
            headers.append((b"content-length", str(len(body)).encode()))
        await self._send({"type": "http.response.start", "status": status, "headers": headers})
        if isinstance(body, bytes):
            await self._send({"type": "http.response.body", "body": body})
            return
        self._watch()
        async for chunk in body:
            if self.disconnected.is_set():
                return
            await self._send({"type": "http.response.body", "body": chunk, "more_body": True})
        await self._send({"type": "http.response.body", "body": b""})

    async def forward(self, reply: Reply, body: bytes | None = None) -> None:
        """Send ``reply`` (with ``body`` instead of its own, if given)."""
        await self.reply(reply.status, reply.headers, reply.body if body is None else body)

    def _watch(self) -> None:
        """Notice the client hanging up, so endless bodies stop (uvicorn drops the writes
        silently after a disconnect)."""
        if self._watcher is not None:
            return

        async def watch() -> None:
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    self.disconnected.set()
                    return

        self._watcher = asyncio.get_running_loop().create_task(watch())

    def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()


Handler = Callable[[Exchange], Awaitable[None]]


@dataclass
class Rule:
    """Answer requests whose path matches ``path`` (a regex searched in the path) and whose
    query string contains ``query`` with ``handler``, at most ``times`` times (None: always).
    """

    path: str
    handler: Handler
    query: str = ""
    times: int | None = None
    hits: int = 0
    _pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path)

    def wants(self, scope: Scope) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if not self._pattern.search(str(scope["path"])):
            return False
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        return self.query in query


class HostileApp:
    """The simulator's ASGI app behind per-request rules (see the module docstring)."""

    def __init__(self, inner: ASGIApp) -> None:
        self.inner = inner
        self._rules: list[Rule] = []
        self._lock = threading.Lock()
        self.closing = False

    def use(self, *rules: Rule) -> list[Rule]:
        """Replace the active rules (an empty call clears them)."""
        with self._lock:
            self._rules = list(rules)
        return list(rules)

    def _pick(self, scope: Scope) -> Rule | None:
        with self._lock:
            for rule in self._rules:
                if rule.wants(scope):
                    rule.hits += 1
                    return rule
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = self._pick(scope) if scope["type"] == "http" else None
        if rule is None:
            await self.inner(scope, receive, send)
            return
        exchange = Exchange(scope, receive, send, self.inner)
        try:
            await rule.handler(exchange)
        finally:
            exchange.close()


# --- JSON with raw pieces ----------------------------------------------------------------------


class Raw:
    """A JSON value given as raw bytes (invalid UTF-8, NUL, 60 fraction digits, ...)."""

    _count = 0

    def __init__(self, data: bytes) -> None:
        Raw._count += 1
        self.data = data
        self.marker = f"@@hostile-raw-{Raw._count}@@"


def dumps(doc: Any) -> bytes:
    """``orjson.dumps`` that splices :class:`Raw` values in as their bytes."""
    raws: list[Raw] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            raws.append(value)
            return value.marker
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    body = orjson.dumps(swap(doc))
    for raw in raws:
        body = body.replace(orjson.dumps(raw.marker), raw.data)
    return body

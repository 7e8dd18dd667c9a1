"""A hostile server for scenario tests: the real simulator behind an ASGI wrapper that
alters its replies per rule.

:class:`HostileApp` wraps the simulator's ASGI app. Each request is checked against the
active rules in order; the first rule that matches (and has uses left) answers it, usually
by calling the simulator (:meth:`Exchange.upstream`) and changing what it said: a JSON body
rewritten record by record, headers replaced, a body dripped byte by byte, a gzip bomb, an
endless stream. Requests no rule matches go to the simulator untouched.

Rules follow the *record*, not the request: the loader re-asks for a failing page in smaller
pieces until it isolates one bad record, so a rule that damages "the customer with Id 7"
damages it in every reply that carries it, whatever ``$top``/``$skip`` asked for.

Nothing here holds a large body in memory: big replies are async generators of chunks.
"""

from __future__ import annotations

import asyncio
import re
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
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
GIB = 1 << 30
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


def records(doc: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``doc``, parents before their expanded children."""
    if isinstance(doc, dict):
        yield doc
        for value in doc.values():
            yield from records(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from records(value)


# --- rules -------------------------------------------------------------------------------------


def on_records(
    path: str,
    change: Callable[[dict[str, Any]], Any],
    *,
    where: Callable[[dict[str, Any]], bool],
    query: str = "",
) -> Rule:
    """Change every record ``where`` picks, in every successful JSON reply on ``path``.

    ``change`` edits the record in place (it may put :class:`Raw` values in it).
    """

    async def handle(ex: Exchange) -> None:
        reply = await ex.upstream()
        if reply.status != 200 or not reply.body.startswith(b"{"):
            await ex.forward(reply)
            return
        doc = reply.json()
        for record in list(records(doc.get("value", []))):
            if where(record):
                change(record)
        await ex.forward(reply, dumps(doc))

    return Rule(path, handle, query=query)


def on_page(path: str, change: Callable[[dict[str, Any]], Any], *, query: str = "") -> Rule:
    """Change the whole JSON document of every successful reply on ``path`` (in place,
    or return a new document / bytes)."""

    async def handle(ex: Exchange) -> None:
        reply = await ex.upstream()
        if reply.status != 200 or not reply.body.startswith(b"{"):
            await ex.forward(reply)
            return
        doc = reply.json()
        changed = change(doc)
        if isinstance(changed, bytes):
            await ex.forward(reply, changed)
        else:
            await ex.forward(reply, dumps(changed if changed is not None else doc))

    return Rule(path, handle, query=query)


def on_body(path: str, change: Callable[[bytes], bytes], *, times: int | None = None) -> Rule:
    """Change the raw body of every successful reply on ``path`` (e.g. ``$metadata``)."""

    async def handle(ex: Exchange) -> None:
        reply = await ex.upstream()
        await ex.forward(reply, change(reply.body) if reply.status == 200 else None)

    return Rule(path, handle, times=times)


def answer(
    path: str,
    status: int,
    body: bytes | Callable[[Exchange], Body],
    *,
    headers: dict[str, str] | None = None,
    content_type: bytes = JSON,
    times: int | None = None,
    query: str = "",
) -> Rule:
    """Answer without asking the simulator: a fixed status, headers and body."""

    async def handle(ex: Exchange) -> None:
        pairs = [(b"content-type", content_type)]
        pairs += [(k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items()]
        await ex.reply(status, pairs, body if isinstance(body, bytes) else body(ex))

    return Rule(path, handle, query=query, times=times)


def with_headers(path: str, headers: dict[str, str], *, times: int | None = None) -> Rule:
    """The simulator's reply with headers set (replacing any of the same name)."""

    async def handle(ex: Exchange) -> None:
        reply = await ex.upstream()
        names = {k.lower().encode() for k in headers}
        reply.headers = [(k, v) for k, v in reply.headers if k.lower() not in names]
        reply.headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in headers.items()]
        await ex.forward(reply)

    return Rule(path, handle, times=times)


def drip(
    path: str, prefix: bytes, every_s: float, *, times: int | None = None, limit_s: float = 600
) -> Rule:
    """A 200 JSON reply that sends ``prefix`` and then one byte every ``every_s`` seconds,
    forever (until the client hangs up, or ``limit_s``)."""

    async def body(ex: Exchange) -> AsyncIterator[bytes]:
        yield prefix
        loop = asyncio.get_running_loop()
        ends = loop.time() + limit_s
        while loop.time() < ends:
            try:
                await asyncio.wait_for(ex.disconnected.wait(), every_s)
                return
            except TimeoutError:
                yield b" "

    return answer(path, 200, body, headers={"odata-version": "4.0"}, times=times)


_BOMBS: dict[int, bytes] = {}


def gzip_bomb_body(inflated: int = GIB) -> bytes:
    """``{"value":[`` + ``inflated`` spaces + ``]}``, gzipped (about 1 MB for 1 GiB).

    Valid JSON once inflated: only a size cap can tell it from a page. Built once per
    size by streaming 1 MiB chunks through zlib, never holding the inflated text.
    """
    if inflated not in _BOMBS:
        gz = zlib.compressobj(9, zlib.DEFLATED, 31)
        parts = [gz.compress(b'{"value":[')]
        chunk = b" " * MIB
        for _ in range(inflated // MIB):
            parts.append(gz.compress(chunk))
        parts.append(gz.compress(b"]}"))
        parts.append(gz.flush())
        _BOMBS[inflated] = b"".join(parts)
    return _BOMBS[inflated]


def gzip_bomb(path: str, *, inflated: int = GIB, times: int | None = None) -> Rule:
    return answer(
        path,
        200,
        gzip_bomb_body(inflated),
        headers={"content-encoding": "gzip", "odata-version": "4.0"},
        times=times,
    )


async def chunks(head: bytes, filler: bytes, repeat: int, tail: bytes) -> AsyncIterator[bytes]:
    """``head`` + ``filler`` * ``repeat`` + ``tail``, as chunks (nothing big in memory)."""
    yield head
    for _ in range(repeat):
        yield filler
    yield tail


def huge_metadata(namespace: str, size: int) -> Rule:
    """``namespace``'s real ``$metadata`` with an XML comment making it ``size`` bytes."""

    async def handle(ex: Exchange) -> None:
        reply = await ex.upstream()
        head, sep, tail = reply.body.partition(b"?>")
        head, tail = (head + sep, tail) if sep else (b"", reply.body)
        pad = max(size - len(reply.body), 0) // MIB
        body = chunks(head + b"<!--", b"x" * MIB, pad, b"-->" + tail)
        await ex.reply(200, [(b"content-type", XML)], body)

    return Rule(f"^{QUERY}{namespace}/\\$metadata$", handle)


def rows_page(
    path: str, make_row: Callable[[int], dict[str, Any]], count: int, *, times: int | None = None
) -> Rule:
    """A 200 page of ``count`` generated rows, streamed 10,000 at a time."""

    async def body() -> AsyncIterator[bytes]:
        yield b'{"@odata.context":"hostile","value":['
        for start in range(0, count, 10_000):
            rows = (orjson.dumps(make_row(i)) for i in range(start, min(start + 10_000, count)))
            yield (b"," if start else b"") + b",".join(rows)
        yield b"]}"

    async def handle(ex: Exchange) -> None:
        await ex.reply(200, [(b"content-type", JSON), (b"odata-version", b"4.0")], body())

    return Rule(path, handle, times=times)


def on_token(change: Callable[[dict[str, Any]], None]) -> Rule:
    """Change the token endpoint's successful JSON replies."""

    async def handle(ex: Exchange) -> None:
        reply = await ex.upstream()
        if reply.status != 200:
            await ex.forward(reply)
            return
        doc = reply.json()
        change(doc)
        await ex.forward(reply, orjson.dumps(doc))

    return Rule(f"^{TOKEN}$", handle)

"""Rules for :class:`~tests.scenarios.hostile.harness.HostileApp`: what to do to a reply.

Each builder returns a :class:`~tests.scenarios.hostile.harness.Rule` for requests whose path
matches a regex: change the JSON document or the raw body the simulator sent, answer by
itself (any status, headers, body), drip a body, send a gzip bomb, a huge ``$metadata`` or a
page of generated rows. Big bodies are async generators of chunks, never held whole.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

import orjson

from tests.scenarios.hostile.harness import (
    JSON,
    MIB,
    QUERY,
    TOKEN,
    XML,
    Body,
    Exchange,
    Rule,
    dumps,
)

GIB = 1 << 30


def on_page(
    path: str, change: Callable[[dict[str, Any]], Any], *, query: str = "", unselect: str = ""
) -> Rule:
    """Change the whole JSON document of every successful reply on ``path`` (in place,
    or return a new document / bytes). ``unselect``: a property the simulator does not know
    (one ``change`` adds), taken out of ``$select`` before the simulator is asked."""

    async def handle(ex: Exchange) -> None:
        if unselect:
            ex.scope["query_string"] = _unselect(ex.query, unselect).encode("latin-1")
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


def _unselect(query: str, name: str) -> str:
    pairs = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key == "$select":
            value = ",".join(p for p in value.split(",") if p != name)
        pairs.append((key, value))
    return urlencode(pairs, safe="$,()", quote_via=quote)


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

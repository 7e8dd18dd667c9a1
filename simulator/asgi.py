"""ASGI plumbing of the simulator's app: reading a body, lifespan, dropping a connection."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from simulator.faults import SimulatedReset

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


async def drop_connection(send: Send) -> None:
    """Close the client's connection without any response.

    Under uvicorn the ``send`` callable is a bound method of the request cycle, which
    holds the asyncio transport; aborting it is what a crashed upstream looks like to the
    client (``Server disconnected without sending a response``). Other servers (and
    in-process transports) get :class:`SimulatedReset` raised instead.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if isinstance(transport, asyncio.BaseTransport) and hasattr(transport, "abort"):
        transport.abort()
        # let the server see the disconnect before the app returns, so it does not try
        # to send its own 500
        for _ in range(3):
            await asyncio.sleep(0)
        return
    raise SimulatedReset("connection dropped by the reset_rate fault")


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return

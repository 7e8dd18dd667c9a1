"""Benchmark: how fast the simulator serves 500-row Orders pages with expands.

Measures pages/s for ``Orders/Orders?$expand=Items`` and
``Orders/Orders?$expand=Items,Buyer,Payer,ShipTo`` (500 orders per page, following
``@odata.nextLink`` through the whole set) at three levels:

* ``engine``   -- QueryEngine + JSON rendering, no HTTP;
* ``asgi``     -- the ASGI app called in process (routing, auth, worker-thread hop);
* ``loopback`` -- ``httpx.Client`` against uvicorn on 127.0.0.1 in a separate process
  (``python -m simulator.cli``, as the demo runs it), one client and then two in parallel.
  Clients read the bytes and do not decode them, so the figure is the server's.

It also times the per-request overhead of the plain ASGI app against a one-route Starlette
app, the reason :mod:`simulator.app` does not use Starlette.

Run: ``.venv/bin/python bench/sim_pages.py [--scale 1] [--pages 40] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

from simulator.app import SimulatorApp, create_app
from simulator.control import Simulator
from simulator.odata.parse import parse_options, split_query
from simulator.odata.query import QueryEngine
from simulator.odata.serialize import collection_body, render_array
from simulator.server import bind_socket

QUERIES = {
    "Items": "$expand=Items",
    "Items,Buyer,Payer,ShipTo": "$expand=Items,Buyer,Payer,ShipTo",
}
PATH = "/commerce/query/2.0/Orders/Orders"
TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": "demo",
    "client_secret": "demo-secret",
}


def best_rate(run: Callable[[], tuple[int, int]], rounds: int) -> tuple[float, float]:
    """Best pages/s over ``rounds`` runs, and MB per page of that run."""
    rates = []
    size = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        pages, nbytes = run()
        elapsed = time.perf_counter() - started
        rates.append(pages / elapsed)
        size = nbytes / pages / 1e6
    return max(rates), size


def bench_engine(sim: Simulator, query: str, pages: int) -> tuple[int, int]:
    engine = QueryEngine(sim.store)
    nbytes = 0
    for i in range(pages):
        options = parse_options(split_query(f"{query}&$skip={i * 500}"))
        page = engine.page("Orders", "Orders", options)
        nbytes += len(collection_body("ctx", render_array(page.rows), None, None))
    return pages, nbytes


async def _asgi_get(app: SimulatorApp, path: str, query: str, token: str) -> bytes:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {token}".encode())],
        "scheme": "http",
        "client": ("127.0.0.1", 1),
    }
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message["body"])

    await app(scope, receive, send)
    return b"".join(chunks)


def bench_asgi(app: SimulatorApp, token: str, query: str, pages: int) -> tuple[int, int]:
    async def run() -> int:
        nbytes = 0
        for i in range(pages):
            nbytes += len(await _asgi_get(app, PATH, f"{query}&$skip={i * 500}", token))
        return nbytes

    return pages, asyncio.run(run())


def bench_loopback(
    base_url: str, token: str, query: str, pages: int, clients: int
) -> tuple[int, int]:
    totals = [0] * clients

    def read(worker: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base_url, headers=headers, timeout=60) as client:
            for i in range(pages):
                # the nextLink is $skip + 500; computing it keeps JSON decoding out of the figure
                skip = (worker * pages + i) * 500
                response = client.get(f"{PATH}?{query}&$skip={skip}")
                response.raise_for_status()
                totals[worker] += len(response.content)

    threads = [threading.Thread(target=read, args=(w,)) for w in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return pages * clients, sum(totals)


@contextlib.contextmanager
def serve_in_subprocess(seed: int, scale: float) -> Iterator[str]:
    """Run ``python -m simulator.cli`` on a free loopback port; yield its base URL."""
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    sock.close()
    command = [sys.executable, "-m", "simulator.cli", "--port", str(port)]
    command += ["--seed", str(seed), "--scale", str(scale)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                err = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"simulator exited: {err}")
            try:
                httpx.get(f"{base_url}/", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=30)


def router_overhead(app: SimulatorApp, requests: int = 3000) -> tuple[float, float]:
    """Microseconds per request: a 404 from the plain app vs a one-route Starlette app."""

    async def ok(_: Any) -> Response:
        return Response(b"{}", media_type="application/json")

    starlette = Starlette(routes=[Route("/x", ok)])

    async def run(target: Any, path: str) -> float:
        scope_path = path
        started = time.perf_counter()
        for _ in range(requests):
            await _asgi_get(target, scope_path, "", "none")
        return (time.perf_counter() - started) / requests * 1e6

    plain = asyncio.run(run(app, "/x"))
    routed = asyncio.run(run(starlette, "/x"))
    return plain, routed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--pages", type=int, default=40, help="pages per measured run")
    parser.add_argument("--rounds", type=int, default=3, help="runs per figure (best is shown)")
    args = parser.parse_args()

    started = time.perf_counter()
    sim = Simulator.create(seed=args.seed, scale=args.scale)
    orders = sim.store.frame("Orders", "Order").height
    print(
        f"scale {args.scale:g}: {orders:,} orders, built in {time.perf_counter() - started:.1f} s"
    )
    pages = min(args.pages, orders // 500 // 2)

    app = create_app(sim)
    token = app.tokens.token_request(
        "&".join(f"{k}={v}" for k, v in TOKEN_FORM.items()).encode(), "bench"
    ).payload["access_token"]
    plain, routed = router_overhead(app)
    print(f"per-request overhead: plain ASGI {plain:.0f} us, Starlette route {routed:.0f} us")

    with serve_in_subprocess(args.seed, args.scale) as base_url:
        http_token = httpx.post(f"{base_url}/identity/1.0/connect/token", data=TOKEN_FORM).json()[
            "access_token"
        ]
        for label, query in QUERIES.items():
            figures = {
                "engine": best_rate(partial(bench_engine, sim, query, pages), args.rounds),
                "asgi": best_rate(partial(bench_asgi, app, token, query, pages), args.rounds),
                "loopback x1": best_rate(
                    partial(bench_loopback, base_url, http_token, query, pages, 1), args.rounds
                ),
                "loopback x2": best_rate(
                    partial(bench_loopback, base_url, http_token, query, pages // 2, 2),
                    args.rounds,
                ),
            }
            size = statistics.mean(mb for _, mb in figures.values())
            print(f"$expand={label}  ({size:.2f} MB/page, 500 orders/page)")
            for level, (rate, _) in figures.items():
                print(f"  {level:<12} {rate:7.1f} pages/s  {rate * 500:9,.0f} orders/s")


if __name__ == "__main__":
    main()

"""The raw-fetch ceiling: bare httpx threads fetching ours' pages, and nothing else.

N threads share one pooled ``httpx.Client`` and a queue of partitions; each pages its
partition with the same URLs ours sends (``Id gt <last>``, ``$top=500``). The only work per
page is finding the next key (:func:`bench.pages.page_keys`), so the figure is what the
server and the loopback can deliver to this client.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

import httpx

from bench.meter import Meter
from bench.pages import PAGE_TOP, OrdersQuery, Part, page_keys


def _fetch_part(client: httpx.Client, query: OrdersQuery, part: Part, totals: list[int]) -> None:
    headers = {"applicationId": str(part.application_id)}
    after: int | None = None
    while True:
        response = client.get(query.url, params=query.params(part, after), headers=headers)
        response.raise_for_status()
        body = response.content
        keys = page_keys(body)
        totals[0] += 1
        totals[1] += len(keys)
        totals[2] += len(body)
        if len(keys) < PAGE_TOP:
            return
        after = keys[-1]


def run(params: dict[str, Any]) -> dict[str, Any]:
    """Fetch every page of every partition with ``params["concurrency"]`` threads.

    Args:
        params: ``query`` (:meth:`OrdersQuery.to_json`), ``token``, ``concurrency``.

    Returns:
        ``pages``, ``orders``, ``bytes`` and the :class:`~bench.meter.Meter` figures.
    """
    query = OrdersQuery.from_json(params["query"])
    workers = int(params["concurrency"])
    todo: queue.Queue[Part] = queue.Queue()
    for part in query.parts:
        todo.put(part)
    per_thread = [[0, 0, 0] for _ in range(workers)]
    errors: list[BaseException] = []
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    headers = {"Authorization": f"Bearer {params['token']}"}

    def worker(totals: list[int]) -> None:
        try:
            while True:
                try:
                    part = todo.get_nowait()
                except queue.Empty:
                    return
                _fetch_part(client, query, part, totals)
        except BaseException as exc:  # surfaced after the join
            errors.append(exc)

    with httpx.Client(headers=headers, limits=limits, timeout=120) as client, Meter() as meter:
        threads = [threading.Thread(target=worker, args=(t,)) for t in per_thread]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    pages, orders, nbytes = (sum(t[i] for t in per_thread) for i in range(3))
    return {"pages": pages, "orders": orders, "bytes": nbytes, **meter.figures()}

"""The peer: dlt's ``rest_api`` source loading the same Orders pages into DuckDB.

One parallelized resource per partition of :mod:`bench.pages` (same ``$filter``,
``$select``, ``$expand``, ``$orderby``), all writing table ``orders`` with
``write_disposition="merge"`` on ``Id``; dlt puts ``Items`` and ``Infos`` in its child tables
``orders__items`` and ``orders__infos`` and flattens the customer snapshots into columns.
Pages follow ``@odata.nextLink`` (``JSONLinkPaginator``): without ``$top`` the server pages
at 500 rows and links the next page, the way dlt is meant to consume an OData feed. The
OAuth2 client-credentials token comes from dlt's own ``OAuth2ClientCredentials``. dlt runs
``extract.workers`` = the shared concurrency, so at most that many requests are in flight.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.meter import Meter
from bench.pages import OrdersQuery
from bench.simproc import CREDENTIALS, TOKEN_PATH
from bench.tables import table_rows

DLT_TABLES = ("orders", "orders__items", "orders__infos")
PREFERRED_FORMAT = "parquet"
"""dlt's duckdb destination defaults to ``insert_values`` (SQL INSERT files), which at scale 1
grew past 11 GiB resident in its load step; parquet is the format dlt documents for bulk
loads into DuckDB, so the peer is measured with it (the default is measured at the smoke
size for the record)."""


def _configure(concurrency: int) -> None:
    # dlt reads its configuration from the environment; this child process is its own.
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    os.environ["RUNTIME__LOG_LEVEL"] = "ERROR"
    os.environ["EXTRACT__WORKERS"] = str(concurrency)


def _resources(query: OrdersQuery) -> list[dict[str, Any]]:
    from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

    resources: list[dict[str, Any]] = []
    for i, part in enumerate(query.parts):
        params = {"$filter": part.filter, "$select": query.select, "$orderby": "Id"}
        if query.expand:
            params["$expand"] = query.expand
        resources.append(
            {
                "name": f"orders_part{i}",
                "table_name": "orders",
                "primary_key": "Id",
                "write_disposition": "merge",
                "parallelized": True,
                "endpoint": {
                    "path": "Orders/Orders",
                    "params": params,
                    "headers": {"applicationId": str(part.application_id)},
                    "data_selector": "value",
                    "paginator": JSONLinkPaginator(next_url_path="['@odata.nextLink']"),
                },
            }
        )
    return resources


def run(params: dict[str, Any]) -> dict[str, Any]:
    """Load every partition's pages with dlt.

    Args:
        params: ``query`` (:meth:`OrdersQuery.to_json`), ``workdir``, ``concurrency``,
            optional ``file_format`` (dlt's loader file format; default parquet).

    Returns:
        ``dlt_version``, ``file_format``, ``tables`` (rows per dlt table), ``step_s``
        (extract, normalize, load) and the :class:`~bench.meter.Meter` figures of ``pipeline.run``.
    """
    concurrency = int(params["concurrency"])
    _configure(concurrency)
    import dlt
    from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials
    from dlt.sources.rest_api import rest_api_source

    query = OrdersQuery.from_json(params["query"])
    workdir = Path(params["workdir"])
    database = workdir / "dlt.duckdb"
    auth = OAuth2ClientCredentials(
        access_token_url=f"{query.base_url}{TOKEN_PATH}",
        client_id=CREDENTIALS["client_id"],
        client_secret=CREDENTIALS["client_secret"],
    )
    config: Any = {
        "client": {"base_url": f"{query.base_url}/commerce/query/2.0/", "auth": auth},
        "resources": _resources(query),
    }
    source = rest_api_source(config)
    pipeline = dlt.pipeline(
        pipeline_name="bench_orders",
        destination=dlt.destinations.duckdb(str(database)),
        dataset_name="raw",
        pipelines_dir=str(workdir / "pipelines"),
    )
    file_format = params.get("file_format", PREFERRED_FORMAT)
    with Meter() as meter:
        pipeline.run(source, loader_file_format=file_format)
    trace = pipeline.last_trace
    steps = {
        step.step: round((step.finished_at - step.started_at).total_seconds(), 3)
        for step in (trace.steps if trace is not None else [])
        if step.finished_at is not None
    }
    return {
        "dlt_version": dlt.__version__,
        "file_format": file_format,
        "tables": table_rows(database, "raw", DLT_TABLES),
        "step_s": steps,
        **meter.figures(),
    }

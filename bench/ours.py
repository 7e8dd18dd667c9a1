"""Ours: the real extract + load of Orders (with Items, Infos and the customer snapshots).

Runs the loader's one API, :func:`extract.extract`, as the CLI's flow does (with the default
thread runner instead of Prefect tasks), configured through the same environment names,
against the simulator; the first run on an empty warehouse is the full
load, later runs on the same warehouse are incremental.
"""

from __future__ import annotations

from typing import Any

from bench.meter import Meter
from bench.pages import ENTITY
from bench.sampler import Sampler
from bench.tables import table_rows
from extract import RunRequest, RunSummary, extract
from extract.settings import Settings, load_settings

MAX_RPS = "1000"
"""High enough that the limiter never binds: only ``NORCE_MAX_INFLIGHT`` shapes the load."""


def settings_env(base_url: str, warehouse: str, concurrency: int) -> dict[str, str]:
    """The environment a user would set to run this load."""
    return {
        "NORCE_BASE_URL": base_url,
        "NORCE_CLIENT_ID": "demo",
        "NORCE_CLIENT_SECRET": "demo-secret",
        "NORCE_WAREHOUSE": warehouse,
        "NORCE_MAX_RPS": MAX_RPS,
        "NORCE_MAX_INFLIGHT": str(concurrency),
        "NORCE_VERIFY_COUNTS": "false",
    }


def run(params: dict[str, Any]) -> dict[str, Any]:
    """One extract run of Orders.

    Args:
        params: ``base_url``, ``warehouse`` (file path; its directory is kept between runs),
            ``concurrency``, optional ``profile`` (sample every thread's stack) and
            ``overrides`` (settings overrides, e.g. ``{"extract.batch_rows": 10000}``).

    Returns:
        ``status``, ``orders`` (top-level rows the run read), ``requests``, ``pages``,
        ``tables`` (rows now in each raw table), optional ``profile`` and the
        :class:`~bench.meter.Meter` figures of the run itself.
    """
    settings = load_settings(
        settings_env(params["base_url"], params["warehouse"], int(params["concurrency"])),
        overrides=params.get("overrides"),
    )
    sampler = Sampler() if params.get("profile") else None
    with Meter() as meter:
        if sampler is not None:
            with sampler:
                summary = _extract(settings)
        else:
            summary = _extract(settings)
    figures = meter.figures()
    result: dict[str, Any] = {
        "status": summary.status,
        "orders": summary.total("rows"),
        "requests": summary.total("requests"),
        "pages": summary.total("pages"),
        "token_requests": summary.token_requests,
        "tables": table_rows(settings.warehouse.work_database),
        **figures,
    }
    if sampler is not None:
        result["profile"] = {
            "samples": sampler.samples,
            "ticks": sampler.ticks,
            "idle": sampler.idle,
            "top": sampler.top(),
            "by_file_pct": sampler.by_file(),
        }
    return result


def _extract(settings: Settings) -> RunSummary:
    with extract(settings, RunRequest(entities=(ENTITY,))) as done:
        return done.summary

"""Schedules: which entity sets load how often, served by ``norce-wh serve``.

The cadences follow how fast each kind of data changes and what Norce asks of integrations
(cache Core/Application lookups for long, Products/Customers for a while): lookups daily,
products and customers hourly, orders every 15 minutes, Reporting nightly. Each cadence is a
deployment of the same ``norce_elt`` flow with ``entities`` set. ``prefect.yaml`` declares
the same deployments for a Prefect server with a work pool; a test keeps the two in step.

Runs of one warehouse must not overlap (one writer per DuckDB file): ``serve`` runs at most
one flow run at a time, and a run that still finds the warehouse busy waits for it
(``wait_for_lock_s``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from extract.schema.catalog import CATALOG

__all__ = ["CADENCES", "Cadence", "cadence_deployments", "serve_cadences", "serve_one"]

LOCK_WAIT_S = 900
"""How long a scheduled run waits for an earlier one to release the warehouse."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """One scheduled deployment.

    Attributes:
        name: Deployment name.
        cron: Cron schedule (UTC); minutes are staggered so cadences rarely meet.
        entities: ``Namespace/EntitySet`` names it loads.
        description: Shown in the Prefect UI.
    """

    name: str
    cron: str
    entities: tuple[str, ...]
    description: str


def _paths(*namespaces: str, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    return tuple(s.path for s in CATALOG if s.namespace in namespaces and s.path not in exclude)


CADENCES: tuple[Cadence, ...] = (
    Cadence(
        "lookups-daily",
        "20 3 * * *",
        _paths("Core", "Application"),
        "Core and Application lookups (applications, currencies, categories, ...), daily.",
    ),
    Cadence(
        "products-customers-hourly",
        "5 * * * *",
        _paths("Products", "Customers"),
        "Products, SKUs, prices and customers, hourly.",
    ),
    Cadence(
        "orders-15min",
        "*/15 * * * *",
        _paths("Orders"),
        "Orders, invoices and delivery notes, every 15 minutes.",
    ),
    Cadence(
        "reporting-nightly",
        "40 2 * * *",
        _paths("Reporting"),
        "Reporting summaries (the reconciliation source), nightly.",
    ),
)


def cadence_deployments(config_file: str | None = None) -> list[Any]:
    """The cadences as Prefect runner deployments of ``norce_elt``."""
    from flows.flow import norce_elt

    return [
        norce_elt.to_deployment(
            name=c.name,
            cron=c.cron,
            description=c.description,
            parameters={
                "entities": list(c.entities),
                "config_file": config_file,
                "wait_for_lock_s": LOCK_WAIT_S,
            },
            tags=["norce-warehouse"],
        )
        for c in CADENCES
    ]


def serve_cadences(config_file: str | None = None) -> None:
    """Serve every cadence from this process, one flow run at a time, until stopped."""
    from prefect import serve

    serve(*cadence_deployments(config_file), limit=1)


def serve_one(
    name: str, *, cron: str | None, interval: int | None, parameters: dict[str, Any]
) -> None:
    """Serve one deployment of ``norce_elt`` with the given schedule, until stopped."""
    from flows.flow import norce_elt

    norce_elt.serve(
        name=name,
        cron=cron,
        interval=interval,
        parameters={**parameters, "wait_for_lock_s": LOCK_WAIT_S},
        tags=["norce-warehouse"],
        limit=1,
    )

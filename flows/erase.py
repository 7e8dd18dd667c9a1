"""``norce-wh erase``: remove one person from the warehouse and remember the request.

An erasure deletes the person's rows from raw (their customer record, addresses, company
links, and every order they placed, matched by customer id or by the hashed e-mail that
guest orders carry), records the request in ``meta.erasures`` so every later load removes
the same rows again if the source still sends them, rebuilds the marts (their incremental
models drop orders that left staging, and staging excludes recorded erasures) and publishes
the result. It runs under the same lock as a load, so it never races one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from extract import erase
from extract.settings import Settings
from flows.build import build_marts
from flows.dbt_runner import DbtRunResult
from flows.errors import DbtFailed
from flows.files import creation_umask
from flows.publish import PublishResult, publish
from flows.publish_lock import hold_published

__all__ = ["ErasureResult", "erase_customer"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ErasureResult:
    """What an erasure did.

    Attributes:
        customer_id: The customer id erased, if given.
        email_hash: The salted e-mail hash erased (given or found on the customer record).
        rows_removed: Raw rows removed (orders and customer records; lines and addresses go
            with them).
        dbt: The ``dbt build`` that rebuilt the marts, if run.
        publish: The publish of the result, if done.
    """

    customer_id: int | None
    email_hash: str | None
    rows_removed: int
    dbt: DbtRunResult | None
    publish: PublishResult | None


def erase_customer(
    settings: Settings,
    *,
    customer_id: int | None = None,
    email: str | None = None,
    note: str | None = None,
    run_dbt: bool = True,
    publish_result: bool = True,
) -> ErasureResult:
    """Erase one person from raw and the marts, record it, and publish.

    Args:
        settings: Warehouse locations and the privacy salt.
        customer_id: ``Customers/Customers.Id`` of the person.
        email: Their e-mail address, for guest orders; only its salted hash is used or
            stored.
        note: Free text kept with the request (a ticket number, not personal data).
        run_dbt: Rebuild the marts afterwards.
        publish_result: Publish the working database afterwards (only once the marts are
            rebuilt; a failing data test is logged but does not stop the publish).

    Returns:
        What was removed and what was rebuilt.

    Raises:
        ConfigError: Neither a customer id nor an e-mail was given.
        StateError: A run holds the warehouse.
        DbtFailed: A model could not be rebuilt; nothing was published.
    """
    with (
        hold_published(settings.warehouse.path),
        creation_umask(settings.warehouse.file_mode),
        erase(settings, customer_id=customer_id, email=email, note=note) as erased,
    ):
        log.info(
            "erased customer %s: %d raw rows removed; request recorded in meta.erasures",
            customer_id if customer_id is not None else "(by e-mail)",
            erased.rows_removed,
        )
        work_db = settings.warehouse.work_database
        dbt_result = None
        if run_dbt:
            dbt_result = build_marts(
                work_db,
                reporting_currency=settings.extract.reporting_currency,
                full_tests_every_h=settings.warehouse.full_tests_every_h,
                memory_limit_mb=settings.warehouse.dbt_memory_limit_mb,
            )
            _require_marts_built(dbt_result)
        published = (
            publish(
                work_db,
                settings.warehouse.path,
                run_id=erased.run_id,
                mode=settings.warehouse.file_mode,
                keep_standby=False,  # no copy from before the erasure stays on disk
            )
            if publish_result
            else None
        )
    return ErasureResult(customer_id, erased.email_hash, erased.rows_removed, dbt_result, published)


def _require_marts_built(result: DbtRunResult) -> None:
    """Stop unless every model was rebuilt; a failing data test does not stop an erasure.

    The person must leave the published file even when a test fails -- for example the
    reconciliation with Norce's own reporting, which still counts the erased orders.
    """
    broken = [n for n in result.failed_nodes if n.resource_type != "test"]
    if result.error is not None or broken:
        shown = ", ".join(n.name for n in broken[:5]) or str(result.error)
        raise DbtFailed(
            f"dbt could not rebuild the marts after the erasure ({shown}); the raw rows are "
            "gone and the request is recorded, but the published warehouse still holds the "
            "person"
        )
    for node in result.failed_nodes:
        log.warning(
            "dbt test %s failed after the erasure; publishing anyway so the person leaves "
            "the published warehouse",
            node.name,
        )

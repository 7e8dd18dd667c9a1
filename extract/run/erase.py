"""Erasing one person: under the run lock, from raw, recorded in ``meta.erasures``.

The erasure deletes the person's rows from raw (:mod:`extract.load.erasure`), records the
request so every later load removes the same rows again if the source still sends them,
and hands back the run lock still held: the caller rebuilds the marts and publishes before
releasing it, so no load runs in between.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from extract.errors import ConfigError
from extract.load import meta
from extract.load.erasure import erase_from_raw
from extract.load.locking import RunLock
from extract.load.warehouse import Warehouse
from extract.schema.privacy import PrivacyPolicy
from extract.settings import Settings

__all__ = ["Erased", "erase"]


@dataclass
class Erased:
    """An erasure done in raw, with the run lock still held (context manager: releases).

    Attributes:
        run_id: The erasure's id, for the publish record.
        customer_id: The customer id erased, if given.
        email_hash: The salted e-mail hash erased (given or found on the customer record).
        rows_removed: Raw rows removed (orders and customer records; their lines and
            addresses go with them).
        lock: The run lock.
    """

    run_id: str
    customer_id: int | None
    email_hash: str | None
    rows_removed: int
    lock: RunLock

    def release(self) -> None:
        """Release the run lock (idempotent)."""
        self.lock.release()

    def __enter__(self) -> Erased:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def erase(
    settings: Settings,
    *,
    customer_id: int | None = None,
    email: str | None = None,
    note: str | None = None,
) -> Erased:
    """Erase one person from raw and record the request.

    Args:
        settings: Warehouse locations and the privacy salt.
        customer_id: ``Customers/Customers.Id`` of the person.
        email: Their e-mail address, for guest orders; only its salted hash is used or
            stored.
        note: Free text kept with the request (a ticket number, not personal data).

    Raises:
        ConfigError: Neither a customer id nor an e-mail was given.
        StateError: A run holds the warehouse.
    """
    if customer_id is None and not (email and email.strip()):
        raise ConfigError(["give --customer-id or --email of the person to erase"])
    email_hash = None
    if email and email.strip():
        policy = PrivacyPolicy(settings.extract.pii_salt.reveal(), settings.extract.pii_overrides)
        email_hash = policy.hash_values([email])[0]
    run_id = datetime.now(UTC).strftime("erase-%Y%m%dT%H%M%SZ")
    lock = RunLock(settings.warehouse.work_database)
    lock.acquire()
    try:
        wh = Warehouse(settings.warehouse.work_database, run_id=run_id)
        try:
            if email_hash is None and customer_id is not None:
                email_hash = _customer_email_hash(wh, customer_id)
            removed = erase_from_raw(wh, customer_id, email_hash)
            row = meta.ErasureRow(customer_id, email_hash, datetime.now(UTC), removed, note)
            with wh.transaction() as con:
                meta.insert(con, row)
        finally:
            wh.close()
    except BaseException:
        lock.release()
        raise
    return Erased(run_id, customer_id, email_hash, removed, lock)


def _customer_email_hash(wh: Warehouse, customer_id: int) -> str | None:
    """The customer's stored e-mail hash, so their guest orders are erased too."""
    if "EmailAddressHash" not in wh.table_columns("customers"):
        return None
    rows = wh.query("select EmailAddressHash from raw.customers where Id = ?", [customer_id])
    return rows[0][0] if rows and rows[0][0] else None

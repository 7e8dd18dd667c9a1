"""The merchant's exchange-rate card over time.

Norce keeps one rate per currency in ``Core/Currencies.ExchangeRate`` (the value of one unit
in EUR) and stamps each invoice with the rate in force when it was issued
(``Invoices.CurrencyRate``). The simulated merchant updates the card on the first of every
month; EUR stays 1. The history is a small random walk that ends at the rates of
:data:`simulator.generate.markets.CURRENCIES`, so the card a client reads today shows those
rates. :meth:`RateSchedule.change` records a change made later (the control API).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import polars as pl

from simulator.generate.common import to_us
from simulator.generate.markets import CURRENCIES

RATE = pl.Decimal(18, 6)
MONTHLY_SIGMA = 0.012
"""Standard deviation of a month's log change of a rate."""
SETUP_YEARS = 4
"""The card's first rates date from the shop's setup, this many years before the anchor."""
EUR = 3


class RateSchedule:
    """Rates per currency with the moment each took effect (sorted by currency, time)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame.sort("CurrencyId", "ValidFrom")

    def rate_at(self, currency_id: pl.Series, at: pl.Series) -> pl.Series:
        """The rate in force for each (currency, moment) pair, aligned with the inputs."""
        left = pl.DataFrame(
            {"_row": np.arange(currency_id.len()), "CurrencyId": currency_id, "At": at}
        ).with_columns(
            pl.col("CurrencyId").cast(pl.Int32), pl.col("At").cast(pl.Datetime("us", "UTC"))
        )
        # Sorted by the time within each currency group, as join_asof needs.
        joined = left.sort("CurrencyId", "At").join_asof(
            self.frame,
            left_on="At",
            right_on="ValidFrom",
            by="CurrencyId",
            strategy="backward",
            check_sortedness=False,
        )
        return joined.sort("_row")["ExchangeRate"]

    def current(self) -> pl.DataFrame:
        """The latest rate and when it took effect, one row per currency."""
        return self.frame.group_by("CurrencyId", maintain_order=True).last()

    def change(self, currency_id: int, at: datetime, rate: Decimal) -> None:
        """Record a new rate for ``currency_id`` from ``at`` on."""
        row = pl.DataFrame(
            {"CurrencyId": [currency_id], "ValidFrom": [at], "ExchangeRate": [rate]},
            schema=self.frame.schema,
        )
        self.frame = pl.concat([self.frame, row]).sort("CurrencyId", "ValidFrom")


def month_starts(first: datetime, last: datetime) -> list[datetime]:
    """Midnight UTC of the first day of every month from ``first``'s to ``last``'s."""
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        out.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def build_schedule(rng: np.random.Generator, anchor: datetime, history_days: int) -> RateSchedule:
    """Monthly rates over the order history, ending at the documented rate card.

    Args:
        rng: Source of randomness.
        anchor: End of the order history; the card's last change is the latest first of a
            month at or before it.
        history_days: Length of the order history.
    """
    setup = anchor - timedelta(days=SETUP_YEARS * 365)
    months = [m for m in month_starts(anchor - timedelta(days=history_days), anchor) if m <= anchor]
    starts = [setup, *months[1:]]
    rows: list[tuple[int, datetime, Decimal]] = []
    for currency_id, _, _, base, *_ in CURRENCIES:
        steps = rng.normal(0.0, MONTHLY_SIGMA, len(starts))
        if currency_id == EUR:
            rows.append((currency_id, setup, Decimal(1)))
            continue
        # Walk back from today's rate: the last period has exactly the documented rate.
        factors = np.exp(-np.concatenate([np.cumsum(steps[:0:-1])[::-1], [0.0]]))
        for start, factor in zip(starts, factors, strict=True):
            rate = (base * Decimal(repr(float(factor)))).quantize(Decimal("0.0001"))
            rows.append((currency_id, start, rate))
    frame = pl.DataFrame(
        {
            "CurrencyId": [r[0] for r in rows],
            "ValidFrom": [r[1] for r in rows],
            "ExchangeRate": [r[2] for r in rows],
        },
        schema={
            "CurrencyId": pl.Int32,
            "ValidFrom": pl.Datetime("us", "UTC"),
            "ExchangeRate": RATE,
        },
    )
    return RateSchedule(frame)


def last_change_us(schedule: RateSchedule) -> dict[int, int]:
    """Epoch microseconds of each currency's latest rate change."""
    current = schedule.current()
    return {
        int(c): to_us(v) for c, v in zip(current["CurrencyId"], current["ValidFrom"], strict=True)
    }

"""When orders happen: two years of growth, seasons, Black Friday, weekdays and hours.

:func:`order_times` spreads a fixed number of orders over a period with a daily weight
(growth x month x Black-Friday x weekday) and an hour-of-day profile, so monthly and
daily marts show the shapes an analyst expects from a Nordic web shop.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import numpy as np

from simulator.generate.common import US_PER_DAY, US_PER_SECOND, to_us

GROWTH_PER_YEAR = 1.25
MONTH_FACTOR = np.array([0.85, 0.8, 0.9, 0.95, 1.0, 0.95, 0.85, 0.9, 1.0, 1.05, 1.45, 1.5])
WEEKDAY_FACTOR = np.array([1.1, 1.05, 1.0, 1.0, 0.95, 0.85, 1.05])  # Monday first
# UTC hours; Nordic evenings peak around 19-21 local time.
HOUR_WEIGHT = np.array(
    [
        0.4,
        0.25,
        0.15,
        0.1,
        0.1,
        0.2,
        0.5,
        1.0,
        1.5,
        1.8,
        2.0,
        2.2,
        2.3,
        2.2,
        2.1,
        2.2,
        2.4,
        2.7,
        3.0,
        3.2,
        2.8,
        2.0,
        1.3,
        0.8,
    ]
)


def black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def day_weights(start: date, days: int) -> np.ndarray:
    """Relative order volume of each day from ``start`` on."""
    weights = np.empty(days)
    for i in range(days):
        day = start + timedelta(days=i)
        w = GROWTH_PER_YEAR ** (i / 365) * MONTH_FACTOR[day.month - 1]
        w *= WEEKDAY_FACTOR[day.weekday()]
        offset = (day - black_friday(day.year)).days
        if 0 <= offset <= 3:  # Black Friday to Cyber Monday
            w *= (3.0, 2.0, 2.0, 2.4)[offset]
        if day.month == 12 and day.day >= 22:  # parcels no longer arrive before Christmas
            w *= 0.5
        weights[i] = w
    return weights


def order_times(rng: np.random.Generator, n: int, start: datetime, end: datetime) -> np.ndarray:
    """``n`` sorted order timestamps (epoch microseconds, whole seconds) in [start, end)."""
    start_day = start.astimezone(UTC).date()
    first_midnight = to_us(datetime(start_day.year, start_day.month, start_day.day, tzinfo=UTC))
    start_us, end_us = to_us(start), to_us(end)
    days = max(1, -(-(end_us - first_midnight) // US_PER_DAY))
    weights = day_weights(start_day, days)
    per_day = rng.multinomial(n, weights / weights.sum())
    day = np.repeat(np.arange(days), per_day)
    hour = rng.choice(24, n, p=HOUR_WEIGHT / HOUR_WEIGHT.sum())
    second = rng.integers(0, 3600, n)
    moments = first_midnight + day * US_PER_DAY + (hour * 3600 + second) * US_PER_SECOND
    # The first and last day may be partial; fold stragglers back into the period.
    span = end_us - start_us
    moments = start_us + (moments - start_us) % span
    moments -= moments % US_PER_SECOND
    return np.sort(moments)

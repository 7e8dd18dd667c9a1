"""VAT rates by delivery country, product VAT class and date.

The shop charges the VAT of the country it delivers to (EU distance selling under the OSS
scheme; Norway and the UK register locally), so a line's ``VatRate`` depends on where the
order ships, what kind of product it is and when it was ordered. Products fall into three
classes: ``standard`` (most goods and freight), ``food`` (the first reduced rate) and
``books`` (the second). Rates are in percent, as Norce stores them on order lines.

The table covers the simulated markets' delivery countries with the rates in force from
2024 on, including Finland's changes (standard 24 -> 25.5 on 2024-09-01, books 10 -> 14 on
2025-01-01, food 14 -> 13.5 on 2026-01-01). The warehouse's ``vat_rates`` seed holds the
same facts independently.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np

from simulator.generate.common import to_us

STANDARD, FOOD, BOOKS = 0, 1, 2
VAT_CLASSES = ("standard", "food", "books")
CLASS_SHARES = np.array([0.85, 0.10, 0.05])
"""Share of products per class (index = class)."""

# Country id -> ((valid from, (standard, food, books) in tenths of a percent), ...), oldest
# first. Tenths keep 25.5 % and 5.5 % exact.
SCHEDULE: dict[int, tuple[tuple[date, tuple[int, int, int]], ...]] = {
    1: ((date(2000, 1, 1), (250, 120, 60)),),  # SE
    2: ((date(2000, 1, 1), (250, 150, 0)),),  # NO: books are zero-rated
    3: ((date(2000, 1, 1), (250, 250, 250)),),  # DK: one rate
    4: (  # FI
        (date(2000, 1, 1), (240, 140, 100)),
        (date(2024, 9, 1), (255, 140, 100)),
        (date(2025, 1, 1), (255, 140, 140)),
        (date(2026, 1, 1), (255, 135, 140)),
    ),
    5: ((date(2000, 1, 1), (190, 70, 70)),),  # DE
    6: ((date(2000, 1, 1), (200, 100, 100)),),  # AT
    7: ((date(2000, 1, 1), (210, 90, 90)),),  # NL
    8: ((date(2000, 1, 1), (200, 55, 55)),),  # FR
    9: ((date(2000, 1, 1), (200, 0, 0)),),  # GB
    10: ((date(2000, 1, 1), (0, 0, 0)),),  # US: no VAT (sales tax is not Norce's)
}


def _periods() -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Per country: valid-from epoch microseconds and the (periods, 3) rates array."""
    out = {}
    for country, periods in SCHEDULE.items():
        starts = [to_us(datetime(d.year, d.month, d.day, tzinfo=UTC)) for d, _ in periods]
        out[country] = (np.array(starts, dtype=np.int64), np.array([r for _, r in periods]))
    return out


_PERIODS = _periods()


def vat_tenths(country_id: np.ndarray, vat_class: np.ndarray, at_us: np.ndarray) -> np.ndarray:
    """VAT in tenths of a percent per line.

    Args:
        country_id: Delivery country per line (``Core/Countries.Id``).
        vat_class: :data:`STANDARD`, :data:`FOOD` or :data:`BOOKS` per line.
        at_us: When the line was ordered (epoch microseconds, UTC).

    Raises:
        KeyError: If a country has no VAT schedule.
    """
    country_id = np.asarray(country_id, dtype=np.int64)
    vat_class = np.asarray(vat_class, dtype=np.int64)
    at_us = np.asarray(at_us, dtype=np.int64)
    unknown = set(np.unique(country_id).tolist()) - set(SCHEDULE)
    if unknown:
        raise KeyError(f"no VAT schedule for country ids {sorted(unknown)}")
    out = np.zeros(country_id.size, dtype=np.int64)
    for country, (starts, rates) in _PERIODS.items():
        rows = np.flatnonzero(country_id == country)
        if rows.size:
            period = np.maximum(np.searchsorted(starts, at_us[rows], side="right") - 1, 0)
            out[rows] = rates[period, vat_class[rows]]
    return out


def current_tenths(country_id: int, vat_class: np.ndarray, at: datetime) -> np.ndarray:
    """VAT of one country for many lines at one moment (e.g. a price list's rate)."""
    n = np.asarray(vat_class).size
    return vat_tenths(np.full(n, country_id), vat_class, np.full(n, to_us(at)))


def vat_codes() -> list[tuple[int, str, str, int]]:
    """``Core/VatCodes`` rows: (Id, Code, DefaultName, rate in tenths) for every rate used.

    The client's original Swedish codes keep ids 1-4; the other countries' rates follow.
    """
    swedish = [250, 120, 60, 0]
    others = sorted(
        {r for periods in SCHEDULE.values() for _, rates in periods for r in rates} - set(swedish),
        reverse=True,
    )
    rows = []
    for i, tenths in enumerate(swedish + others, 1):
        label = f"{tenths // 10}" if tenths % 10 == 0 else f"{tenths // 10}.{tenths % 10}"
        rows.append((i, f"VAT{label.replace('.', '_')}", f"VAT {label}%", tenths))
    return rows

"""The demo merchant's fixed shape: countries, currencies, methods and its three shops.

One client ("Nordhem", a Nordic home-and-apparel retailer) runs three applications (web
shops): Sweden in SEK, Norway in NOK and Germany in EUR. The :class:`Market` records are
what the order generator needs to know about each shop; :mod:`.lookups` turns the same
constants into the Core and Application frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

# (Id, ISO code, name)
COUNTRIES: tuple[tuple[int, str, str], ...] = (
    (1, "SE", "Sweden"),
    (2, "NO", "Norway"),
    (3, "DK", "Denmark"),
    (4, "FI", "Finland"),
    (5, "DE", "Germany"),
    (6, "AT", "Austria"),
    (7, "NL", "Netherlands"),
    (8, "FR", "France"),
    (9, "GB", "United Kingdom"),
    (10, "US", "United States"),
)
COUNTRY_CODES: dict[int, str] = {cid: code for cid, code, _ in COUNTRIES}

# (Id, code, name, value of one unit in EUR, prefix, suffix, culture)
CURRENCIES: tuple[tuple[int, str, str, Decimal, str | None, str | None, str], ...] = (
    (1, "SEK", "Swedish krona", Decimal("0.087000"), None, " kr", "sv-SE"),
    (2, "NOK", "Norwegian krone", Decimal("0.085000"), None, " kr", "nb-NO"),
    (3, "EUR", "Euro", Decimal("1.000000"), None, " €", "de-DE"),
    (4, "DKK", "Danish krone", Decimal("0.134000"), None, " kr.", "da-DK"),
    (5, "USD", "US dollar", Decimal("0.920000"), "$", None, "en-US"),
)
RATES: dict[int, Decimal] = {cid: rate for cid, _, _, rate, _, _, _ in CURRENCIES}

# (Id, code, name)
PAYMENT_METHODS = (
    (1, "CARD", "Card"),
    (2, "INVOICE", "Invoice"),
    (3, "SWISH", "Swish"),
    (4, "VIPPS", "Vipps"),
    (5, "PAYPAL", "PayPal"),
)
# (Id, code, name, price incl. VAT in EUR, free above the threshold)
DELIVERY_METHODS = (
    (1, "PICKUP_POINT", "Pick-up point", 4.90, True),
    (2, "HOME", "Home delivery", 7.90, True),
    (3, "EXPRESS", "Express", 12.90, False),
    (4, "CLICK_COLLECT", "Click & collect", 0.0, True),
)
DELIVERY_SHARES = np.array([0.55, 0.25, 0.08, 0.12])
FREE_FREIGHT_EUR = 60.0
"""Merchandise value (ex VAT, in EUR) above which freight is free (not for Express)."""
SKU_STATUSES = (
    (1, "ACTIVE", "Active"),
    (2, "INACTIVE", "Inactive"),
    (3, "PHASE_OUT", "Phase out"),
    (4, "COMING", "Coming soon"),
)


@dataclass(frozen=True, slots=True)
class Market:
    """One application (web shop) and what its orders look like."""

    application_id: int
    name: str
    currency_id: int
    price_list_id: int
    culture: str
    language: int
    """Language group for names and streets (see :mod:`simulator.generate.names`)."""
    share: float
    """Share of all orders and customers."""
    country_ids: tuple[int, ...]
    country_shares: tuple[float, ...]
    payment_shares: tuple[float, ...]
    """Share per payment method id 1..5."""

    @property
    def rate(self) -> Decimal:
        """Value of one unit of the shop's currency in EUR."""
        return RATES[self.currency_id]


MARKETS: tuple[Market, ...] = (
    Market(
        application_id=1,
        name="Nordhem SE",
        currency_id=1,
        price_list_id=1,
        culture="sv-SE",
        language=0,
        share=0.5,
        country_ids=(1, 4, 3),
        country_shares=(0.9, 0.06, 0.04),
        payment_shares=(0.45, 0.30, 0.20, 0.0, 0.05),
    ),
    Market(
        application_id=2,
        name="Nordhem NO",
        currency_id=2,
        price_list_id=2,
        culture="nb-NO",
        language=1,
        share=0.3,
        country_ids=(2,),
        country_shares=(1.0,),
        payment_shares=(0.50, 0.20, 0.0, 0.25, 0.05),
    ),
    Market(
        application_id=3,
        name="Nordhem DE",
        currency_id=3,
        price_list_id=3,
        culture="de-DE",
        language=2,
        share=0.2,
        country_ids=(5, 6, 7, 8),
        country_shares=(0.7, 0.15, 0.1, 0.05),
        payment_shares=(0.35, 0.35, 0.0, 0.0, 0.30),
    ),
)

CULTURES = (
    ("sv-SE", "Finnish_Swedish_CI_AS"),
    ("nb-NO", "Danish_Norwegian_CI_AS"),
    ("de-DE", "Latin1_General_CI_AS"),
    ("en-GB", "Latin1_General_CI_AS"),
)


def _nice(amount_eur: float, currency_id: int) -> int:
    """A consumer price in cents of the currency: 59 kr, 4.95 EUR (0 stays 0)."""
    if amount_eur == 0:
        return 0
    local = amount_eur / float(RATES[currency_id])
    if currency_id == 3:
        return round((int(local) + 0.95) * 100)
    return (round(local / 10) * 10 - 1) * 100


FREIGHT_INCL_CENTS = np.array(
    [[_nice(d[3], m.currency_id) for d in DELIVERY_METHODS] for m in MARKETS], dtype=np.int64
)
"""Freight incl. VAT in cents, shape (markets, delivery methods)."""
FREE_ABOVE_CENTS = np.array(
    [round(FREE_FREIGHT_EUR / float(m.rate) * 100) for m in MARKETS], dtype=np.int64
)
"""Free-freight threshold (merchandise ex VAT) in cents of each market's currency."""
INVOICE_FEE_CENTS = np.array([1900 if m.currency_id != 3 else 195 for m in MARKETS])
"""``OrderFee`` charged on invoice payments, in cents of each market's currency."""

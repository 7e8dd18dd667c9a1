"""Deterministic fake personal data: names, emails, phones, street addresses.

Everything is drawn from small fixed word lists with a numpy ``Generator`` and assembled
column-wise in polars, so a million snapshots cost a few gathers, not a million f-strings.
Emails use the reserved ``example.*`` domains (RFC 2606) so no generated address can
belong to a real person.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import polars as pl


def words(text: str) -> tuple[str, ...]:
    """A word list written as one ``|``-separated string (keeps the lists compact)."""
    return tuple(w.strip() for w in text.split("|"))


# Language groups of the demo shops: 0 = Swedish, 1 = Norwegian, 2 = German.
FIRST_NAMES: tuple[tuple[str, ...], ...] = (
    words(
        "Anna|Eva|Maria|Karin|Sara|Lena|Emma|Kerstin|Ingrid|Malin|Åsa|Elin|Sofia|Linnéa|Maja|"
        "Ebba|Erik|Lars|Karl|Anders|Johan|Per|Nils|Mikael|Björn|Jonas|Oskar|Gustav|Axel|Måns|"
        "Olof|Henrik"
    ),
    words(
        "Nora|Ingrid|Sofie|Emma|Sara|Kari|Hanne|Marit|Ida|Thea|Solveig|Ragnhild|Astrid|Live|"
        "Frida|Tone|Ole|Lars|Jan|Per|Bjørn|Knut|Arne|Magnus|Jakob|Emil|Håkon|Sindre|Øyvind|"
        "Torstein|Eirik|Sverre"
    ),
    words(
        "Anna|Lena|Julia|Laura|Sophie|Hannah|Mia|Lea|Katrin|Petra|Jana|Marie|Sabine|Jürgen|"
        "Lukas|Leon|Felix|Jonas|Paul|Maximilian|Stefan|Thomas|Michael|Andreas|Tobias|Florian|"
        "Jörg|Matthias|Sebastian|Niklas|Moritz|Uwe"
    ),
)

LAST_NAMES: tuple[tuple[str, ...], ...] = (
    words(
        "Andersson|Johansson|Karlsson|Nilsson|Eriksson|Larsson|Olsson|Persson|Svensson|"
        "Gustafsson|Pettersson|Jonsson|Jansson|Hansson|Bengtsson|Jönsson|Lindberg|Jakobsson|"
        "Magnusson|Lindström|Olofsson|Lindqvist|Lindgren|Berg|Axelsson|Bergström|Lundberg|"
        "Lind|Lundgren|Lundqvist|Mattsson|Berglund"
    ),
    words(
        "Hansen|Johansen|Olsen|Larsen|Andersen|Pedersen|Nilsen|Kristiansen|Jensen|Karlsen|"
        "Johnsen|Pettersen|Eriksen|Berg|Haugen|Hagen|Johannessen|Andreassen|Jacobsen|Dahl|"
        "Jørgensen|Halvorsen|Henriksen|Lund|Sørensen|Jakobsen|Moen|Gundersen|Iversen|Strand|"
        "Solberg|Svendsen"
    ),
    words(
        "Müller|Schmidt|Schneider|Fischer|Weber|Meyer|Wagner|Becker|Schulz|Hoffmann|Schäfer|"
        "Koch|Bauer|Richter|Klein|Wolf|Schröder|Neumann|Schwarz|Zimmermann|Braun|Krüger|"
        "Hofmann|Hartmann|Lange|Schmitt|Werner|Schmitz|Krause|Meier|Lehmann|Huber"
    ),
)

STREETS: tuple[tuple[str, ...], ...] = (
    words(
        "Storgatan|Kungsgatan|Drottninggatan|Vasagatan|Skolgatan|Kyrkogatan|Parkvägen|"
        "Björkvägen|Ringvägen|Östra Långgatan|Sjövägen|Ekvägen"
    ),
    words(
        "Storgata|Kirkegata|Karl Johans gate|Dronningens gate|Skolegata|Parkveien|"
        "Bjørkeveien|Sjøgata|Strandveien|Fjellveien|Nygata|Torggata"
    ),
    words(
        "Hauptstraße|Bahnhofstraße|Schulstraße|Gartenstraße|Dorfstraße|Bergstraße|"
        "Lindenstraße|Kirchstraße|Waldstraße|Ringstraße|Mühlenweg|Goethestraße"
    ),
)

# Country code -> (language group, cities, zip pattern). Each "#" in the pattern is a
# random digit; other characters are kept (SE "123 45", NL "1234 AB").
ADDRESS_FORMATS: dict[str, tuple[int, tuple[str, ...], str]] = {
    "SE": (0, words("Stockholm|Göteborg|Malmö|Uppsala|Västerås|Örebro|Umeå|Linköping"), "### ##"),
    "NO": (1, words("Oslo|Bergen|Trondheim|Stavanger|Tromsø|Drammen|Kristiansand|Bodø"), "####"),
    "DK": (0, words("København|Aarhus|Odense|Aalborg|Esbjerg"), "####"),
    "FI": (0, words("Helsinki|Espoo|Tampere|Turku|Oulu"), "#####"),
    "DE": (2, words("Berlin|Hamburg|München|Köln|Frankfurt am Main|Stuttgart|Leipzig"), "#####"),
    "AT": (2, words("Wien|Graz|Linz|Salzburg|Innsbruck"), "####"),
    "NL": (2, words("Amsterdam|Rotterdam|Den Haag|Utrecht|Eindhoven"), "#### AB"),
    "FR": (2, words("Paris|Lyon|Marseille|Toulouse|Lille"), "#####"),
    "GB": (2, words("London|Manchester|Leeds|Bristol|Glasgow"), "SW# #AA"),
    "US": (2, words("New York|Chicago|Seattle|Boston|Denver"), "#####"),
}

PHONE_PREFIXES: dict[str, str] = {
    "SE": "+46 7",
    "NO": "+47 9",
    "DK": "+45 2",
    "FI": "+358 40",
    "DE": "+49 151",
    "AT": "+43 664",
    "NL": "+31 6",
    "FR": "+33 6",
    "GB": "+44 7",
    "US": "+1 206",
}

EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org")

_ASCII_FOLD = str.maketrans({"ø": "o", "Ø": "O", "æ": "ae", "Æ": "Ae", "ß": "ss"})


def ascii_fold(text: str) -> str:
    """Lower-case ASCII form of a name for an email local part (``Jørgen`` -> ``jorgen``)."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_ASCII_FOLD))
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


def pick(rng: np.random.Generator, choices: Sequence[str], n: int) -> pl.Series:
    """``n`` words drawn uniformly from ``choices``."""
    return pl.Series(list(choices), dtype=pl.String).gather(rng.integers(0, len(choices), n))


def _flat(lists: Sequence[Sequence[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    sizes = np.array([len(ws) for ws in lists])
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return [w for ws in lists for w in ws], sizes, offsets


def _by_group(
    lists: Sequence[Sequence[str]], group: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Index into the flattened ``lists`` of one random word from each row's group."""
    _, sizes, offsets = _flat(lists)
    pos = (rng.random(group.size) * sizes[group]).astype(np.int64)
    return np.asarray(offsets[group] + pos, dtype=np.int64)


def person_names(
    rng: np.random.Generator, group: np.ndarray
) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """First and last names for people of the given language groups.

    Returns:
        ``(first, last, first_ascii, last_ascii)``; the ASCII forms feed email addresses.
    """
    out: list[pl.Series] = []
    ascii_out: list[pl.Series] = []
    for lists in (FIRST_NAMES, LAST_NAMES):
        idx = _by_group(lists, group, rng)
        flat, _, _ = _flat(lists)
        out.append(pl.Series(flat, dtype=pl.String).gather(idx))
        ascii_out.append(pl.Series([ascii_fold(w) for w in flat], dtype=pl.String).gather(idx))
    return out[0], out[1], ascii_out[0], ascii_out[1]


def emails(first_ascii: pl.Series, last_ascii: pl.Series, number: np.ndarray) -> pl.Series:
    """``first.last<number>@example.<tld>``; unique whenever ``number`` is."""
    domain = pl.Series(EMAIL_DOMAINS, dtype=pl.String).gather(number % len(EMAIL_DOMAINS))
    frame = pl.DataFrame({"f": first_ascii, "l": last_ascii, "n": number, "d": domain})
    return frame.select(
        pl.concat_str("f", pl.lit("."), "l", pl.col("n").cast(pl.String), pl.lit("@"), "d")
    ).to_series()


def _digits(rng: np.random.Generator, n: int, width: int) -> pl.Series:
    return pl.Series(rng.integers(0, 10**width, n)).cast(pl.String).str.zfill(width)


def phones(rng: np.random.Generator, country: pl.Series) -> pl.Series:
    """Mobile numbers in international format for each row's country code."""
    prefix = country.replace_strict(PHONE_PREFIXES, default="+46 7", return_dtype=pl.String)
    frame = pl.DataFrame({"p": prefix, "d": _digits(rng, country.len(), 8)})
    d = pl.col("d").str
    return frame.select(
        pl.concat_str(
            "p",
            d.slice(0, 1),
            pl.lit(" "),
            d.slice(1, 3),
            pl.lit(" "),
            d.slice(4, 2),
            pl.lit(" "),
            d.slice(6, 2),
        )
    ).to_series()


def _zip_expr(pattern: str) -> pl.Expr:
    """Expression filling ``pattern``'s ``#`` from the digit string in column ``d``."""
    parts: list[pl.Expr] = []
    digit = 0
    for ch in pattern:
        if ch == "#":
            parts.append(pl.col("d").str.slice(digit, 1))
            digit += 1
        else:
            parts.append(pl.lit(ch))
    return pl.concat_str(parts)


def addresses(
    rng: np.random.Generator, country: pl.Series
) -> tuple[pl.Series, pl.Series, pl.Series]:
    """Street line, zip code and city per row, in each row's country's format.

    Args:
        rng: Source of randomness.
        country: ISO country code per row (codes outside :data:`ADDRESS_FORMATS` get SE).

    Returns:
        ``(address_line1, zip_code, city)``.
    """
    n = country.len()
    codes = country.to_numpy()
    group = np.zeros(n, dtype=np.int64)
    zip_code = pl.Series("zip", [None] * n, dtype=pl.String)
    city = pl.Series("city", [None] * n, dtype=pl.String)
    for code, (lang, cities, pattern) in ADDRESS_FORMATS.items():
        rows = np.flatnonzero(codes == code)
        if rows.size == 0:
            continue
        group[rows] = lang
        digits = pl.DataFrame({"d": _digits(rng, rows.size, pattern.count("#"))})
        zip_code.scatter(rows, digits.select(_zip_expr(pattern)).to_series())
        city.scatter(rows, pick(rng, cities, rows.size))
    flat, _, _ = _flat(STREETS)
    streets = pl.Series(flat, dtype=pl.String).gather(_by_group(STREETS, group, rng))
    frame = pl.DataFrame({"s": streets, "n": rng.integers(1, 120, n)})
    line1 = frame.select(pl.concat_str("s", pl.lit(" "), pl.col("n").cast(pl.String)))
    return line1.to_series(), zip_code.fill_null("111 11"), city.fill_null("Stockholm")

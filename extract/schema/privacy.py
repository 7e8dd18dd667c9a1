"""What happens to personal data at extract time: hash it, drop it, or keep it.

The catalog marks personal fields by kind (email, name, phone, street). The policy maps a
kind to an action, with per-column overrides written ``table.Column`` (for flattened
single navigations the column is ``<prefix><Field>``, e.g. ``orders.Buyer_EmailAddress``):

* ``drop`` -- the field is never put in ``$select``, so it never leaves Norce;
* ``hash`` -- requested, then stored only as a salted SHA-256 in ``<Column>Hash``;
* ``keep`` -- stored as sent.

Hashes are stable for one salt (the same e-mail gives the same hash in every run, so
repeat buyers can still be counted) and differ between salts (a leaked table cannot be
joined against another tenant's or a public list's hashes without the salt).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Literal, cast, get_args

from extract.schema.catalog import PiiKind

__all__ = ["DEFAULT_ACTIONS", "PiiAction", "PrivacyPolicy"]

PiiAction = Literal["hash", "drop", "keep"]

DEFAULT_ACTIONS: dict[PiiKind, PiiAction] = {
    "email": "hash",
    "name": "drop",
    "phone": "drop",
    "street": "drop",
}
"""Default action per kind: e-mails are the only customer identity on guest orders, so
they are hashed (countable, not readable); everything else personal is not fetched."""

_ACTIONS: frozenset[str] = frozenset(get_args(PiiAction))


class PrivacyPolicy:
    """Decides per column what to do with personal data, and hashes values.

    Args:
        salt: Secret mixed into every hash. Must not be empty: an unsalted hash of an
            e-mail address is reversible by anyone with a list of addresses.
        overrides: ``"table.Column"`` -> ``"hash" | "drop" | "keep"``; wins over the kind's
            default and may also name a column the catalog does not mark as personal.

    Raises:
        ValueError: Empty salt, an override key without a ``.``, or an unknown action.
    """

    hashed_suffix = "Hash"
    """A hashed column is stored as ``<Column>Hash`` (``Buyer_EmailAddressHash``)."""

    def __init__(self, salt: str, overrides: Mapping[str, str] | None = None) -> None:
        if not salt:
            raise ValueError("privacy salt is empty; set a secret salt for hashing")
        problems: list[str] = []
        checked: dict[str, PiiAction] = {}
        for name, action in (overrides or {}).items():
            table, dot, column = name.partition(".")
            if not (table and dot and column):
                problems.append(f"{name!r} is not written table.Column")
            elif action not in _ACTIONS:
                problems.append(f"{name!r}: unknown action {action!r} (use hash, drop or keep)")
            else:
                checked[name] = cast(PiiAction, action)
        if problems:
            raise ValueError("privacy overrides: " + "; ".join(problems))
        self._overrides = checked
        self._salt_prefix = (salt + "\x00").encode("utf-8")

    def __repr__(self) -> str:
        # Never show the salt: it is a secret.
        return f"PrivacyPolicy(overrides={self._overrides!r})"

    def action(self, table: str, column: str, kind: PiiKind | None) -> PiiAction:
        """The action for ``table.column``.

        Args:
            table: Raw table name (``orders``, ``order_items``).
            column: Source column name, ``<prefix><Field>`` for flattened navigations.
            kind: The catalog's personal-data kind, or ``None`` for an ordinary field.

        Returns:
            The override if one is set, else the kind's default, else ``keep``.
        """
        override = self._overrides.get(f"{table}.{column}")
        if override is not None:
            return override
        if kind is None:
            return "keep"
        return DEFAULT_ACTIONS[kind]

    def hash_values(self, values: Sequence[str | None]) -> list[str | None]:
        """Hash values for a ``...Hash`` column.

        Each value is normalised (surrounding whitespace stripped, lower-cased, so
        ``" Ann@X.se"`` and ``"ann@x.se"`` match) and hashed as
        ``sha256(salt + "\\x00" + value)``, hex encoded. ``None`` and values that are
        empty after normalising give ``None``.
        """
        # The salted prefix is hashed once per call; each value then costs copy + update.
        prefix = hashlib.sha256(self._salt_prefix)
        out: list[str | None] = []
        append = out.append
        for value in values:
            if value is None:
                append(None)
                continue
            text = value.strip().lower()
            if not text:
                append(None)
                continue
            digest = prefix.copy()
            digest.update(text.encode("utf-8"))
            append(digest.hexdigest())
        return out

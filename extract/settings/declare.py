"""How a setting is declared: once, on its settings field, with everything about it.

A field of a settings section (:mod:`extract.settings.sections`) is written
``max_rps: float = setting(4.0, env="NORCE_MAX_RPS", parse=parse_float, help="...")``:
the default, the environment variable, the parser and the one-line help all sit there.
Reading the sources (:mod:`extract.settings.sources`), the ``ENV_VARS`` list and the
README configuration table (:mod:`extract.settings.docs`) are derived from these
declarations, so a new setting is added in one place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field
from typing import Any

__all__ = ["Declared", "Setting", "declared", "setting"]


@dataclass(frozen=True)
class Setting:
    """What a settings field declares besides its type and default.

    Attributes:
        parse: Text (environment) or a TOML/override value -> the typed value; raises
            :class:`~extract.settings.parsers.Invalid`.
        help: One line for people: the README table's meaning column and ``ENV_VARS``.
        env: The environment variable that sets it, if any (else TOML/overrides only).
        shown: How the default reads in the docs, when not the value itself.
        secret: Never show the value, not even in a parse error.
    """

    parse: Callable[[object], Any]
    help: str
    env: str | None = None
    shown: str | None = None
    secret: bool = False


def setting(
    default: Any = MISSING,
    *,
    parse: Callable[[object], Any],
    help: str,
    env: str | None = None,
    shown: str | None = None,
    secret: bool = False,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A dataclass field carrying its :class:`Setting` declaration.

    Args:
        default: The default value; omit for a required setting.
        parse: See :class:`Setting`.
        help: See :class:`Setting`.
        env: See :class:`Setting`.
        shown: See :class:`Setting`.
        secret: See :class:`Setting`.
        factory: Builds the default (for mutable or secret defaults) instead of ``default``.
    """
    metadata = {"setting": Setting(parse, help, env, shown, secret)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Declared:
    """One declared setting of a section."""

    section: str
    """TOML table and settings section: ``api``, ``throttle``, ``warehouse``, ``extract``."""
    name: str
    """Field name, also the TOML key."""
    declaration: Setting
    """What the field declares."""
    default: Any
    """The default value (``MISSING`` for a required setting)."""

    @property
    def key(self) -> str:
        """``section.name``, the override key and the README's setting column."""
        return f"{self.section}.{self.name}"


def declared(section: str, cls: type[Any]) -> Iterator[Declared]:
    """The declared settings of a section class, in field order.

    Raises:
        TypeError: A field of ``cls`` was not declared with :func:`setting`.
    """
    for f in dataclasses.fields(cls):
        declaration = f.metadata.get("setting")
        if not isinstance(declaration, Setting):
            raise TypeError(f"{cls.__name__}.{f.name} is not declared with setting()")
        if f.default_factory is not MISSING:
            default = f.default_factory()
        else:
            default = f.default
        yield Declared(section, f.name, declaration, default)

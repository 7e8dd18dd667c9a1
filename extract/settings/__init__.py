"""Typed settings, read once at the edge and passed down.

``declare`` (how a setting is declared: default, variable, parser, help on one field) →
``sections`` (the four sections and :class:`Settings`) → ``sources`` (TOML file,
environment, overrides; :func:`load_settings`) → ``docs`` (``ENV_VARS`` and the README table).
Validation rules are in ``rules``, value parsers in ``parsers``.
"""

from extract.redact import Secret
from extract.settings.docs import ENV_VARS
from extract.settings.rules import PII_ACTIONS
from extract.settings.sections import (
    DEFAULT_FILE_MODE,
    DEFAULT_PII_SALT,
    ApiSettings,
    ExtractSettings,
    Settings,
    ThrottleSettings,
    WarehouseSettings,
)
from extract.settings.sources import load_settings

__all__ = [
    "DEFAULT_FILE_MODE",
    "DEFAULT_PII_SALT",
    "ENV_VARS",
    "PII_ACTIONS",
    "ApiSettings",
    "ExtractSettings",
    "Secret",
    "Settings",
    "ThrottleSettings",
    "WarehouseSettings",
    "load_settings",
]

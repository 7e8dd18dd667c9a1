"""What one run is asked to do: the mode, the backfill date, which sets and applications."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from extract.errors import ConfigError

__all__ = ["RunMode", "RunRequest"]

RunMode = Literal["incremental", "full", "backfill"]
"""What a run is asked for. ``incremental``: what changed since the last pass (everything,
for a set with no state yet: a first load); ``full``: reload every set from scratch
(``--full-refresh``); ``backfill``: re-read incremental sets from a business date
(``--since``)."""


@dataclass(frozen=True)
class RunRequest:
    """One run's parameters (the settings say how; this says what).

    Attributes:
        mode: See :data:`RunMode`.
        since: Start date of a backfill (required for one, ignored otherwise).
        entities: ``Namespace/EntitySet`` names; ``None``: ``NORCE_ENTITIES`` or the catalog.
        applications: Application ids; ``None``: ``NORCE_APPLICATION_IDS`` or all.
        command: The command that started the run (``run``, ``extract``, ...), for
            ``meta.run_history``.
    """

    mode: RunMode = "incremental"
    since: datetime | None = None
    entities: tuple[str, ...] | None = None
    applications: tuple[int, ...] | None = None
    command: str = "extract"

    def __post_init__(self) -> None:
        if self.mode == "backfill" and self.since is None:
            raise ConfigError(["a backfill needs a start date: pass --since YYYY-MM-DD"])

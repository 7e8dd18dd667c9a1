"""The application context of a run: which applications exist, and which ``applicationId``
header goes on calls not tied to one application.

Norce's guide says every Query call must carry an ``applicationId`` header and that for
most queries the application does not change the data. The observed production tenant
lists ``Core/Applications`` and serves ``$metadata`` without it; tenants that follow the
docs answer 500 instead. A new user may know no application id yet, so
:func:`discover_applications` lists the applications with the first context that works:

1. the configured context (``NORCE_CONTEXT_APPLICATION_ID``), else the first configured
   application (``NORCE_APPLICATION_IDS``) -- only that one is tried;
2. with nothing configured: no header, then ``applicationId: 0`` (the value the Norce
   Query reference's request samples send), each with one quick retry.

From then on the client sends the context on every call that has no application of its own
(``$metadata``, Core/*, client-wide sets, sweeps): the configured context, else the first
application loaded. If no candidate works, one line names the setting to add.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace

import orjson

from extract.errors import ConfigError, RequestRejected, ServerError
from extract.http.client import QueryClient
from extract.http.context import RequestContext
from extract.http.stats import RequestStats

__all__ = ["DOCUMENTED_DEFAULT", "ApplicationContext", "discover_applications"]

log = logging.getLogger(__name__)

DOCUMENTED_DEFAULT = 0
"""The ``applicationId`` the Norce Query reference's request samples send."""

_QUICK_RETRIES = 1
"""5xx retries of a candidate context that is followed by another one."""


@dataclass(frozen=True, slots=True)
class ApplicationContext:
    """What application discovery found.

    Attributes:
        listed: Application ids ``Core/Applications`` lists, ascending.
        header: The ``applicationId`` sent from now on with calls not tied to one
            application.
        listed_with: The header ``Core/Applications`` answered to (``None``: none sent).
        header_required: ``True`` when the tenant refused the call without the header and
            accepted it with one, ``False`` when it answered without, ``None`` when not
            tested (a configured id was sent).
    """

    listed: tuple[int, ...]
    header: int | None
    listed_with: int | None
    header_required: bool | None

    def describe(self) -> str:
        """One line: which header was used, and what the tenant showed about it."""
        sent = "no header" if self.listed_with is None else f"applicationId {self.listed_with}"
        rule = {
            True: "the tenant refused it without the header",
            False: "the tenant answers without the header",
            None: "as configured",
        }[self.header_required]
        later = "none" if self.header is None else str(self.header)
        return (
            f"Core/Applications listed with {sent} ({rule}); applicationId on other calls: {later}"
        )


def discover_applications(
    client: QueryClient,
    *,
    configured: Sequence[int] = (),
    stats: RequestStats | None = None,
) -> ApplicationContext:
    """List the applications and fix the client's context header (see module docstring).

    Args:
        client: The run's client; its ``context_application_id`` is set on success.
        configured: Configured application ids (``NORCE_APPLICATION_IDS``), if any.
        stats: Where the requests are counted.

    Returns:
        What was found.

    Raises:
        ConfigError: No candidate context was accepted (names the setting to add).
        RetryableError, FatalError: A configured context failed, or another error.
    """
    stats = stats if stats is not None else RequestStats()
    chosen = client.api.context_application_id
    if chosen is None and configured:
        chosen = configured[0]
    candidates: list[int | None] = [chosen] if chosen is not None else [None, DOCUMENTED_DEFAULT]
    client.context_application_id = None  # a candidate None must really send no header
    for i, candidate in enumerate(candidates):
        last = i == len(candidates) - 1
        try:
            listed = _list(client, candidate, stats, quick=not last)
        except (ServerError, RequestRejected) as exc:
            if chosen is not None:
                client.context_application_id = chosen
                raise
            log.info("Core/Applications with %s: %s", _shown(candidate), exc.message)
            if last:
                raise _no_context(exc) from exc
            continue
        header = chosen if chosen is not None else _first(configured, listed)
        client.context_application_id = header
        required = None if chosen is not None else candidate is not None
        found = ApplicationContext(tuple(listed), header, candidate, required)
        log.info("%s", found.describe())
        return found
    raise AssertionError("unreachable: the last candidate returns or raises")


def _list(
    client: QueryClient, header: int | None, stats: RequestStats, *, quick: bool
) -> list[int]:
    retry = replace(client.retry, page_retries=min(client.retry.page_retries, _QUICK_RETRIES))
    fetched = client.get(
        "Core/Applications",
        {"$select": "Id", "$orderby": "Id"},
        parse=_ids,
        context=RequestContext("Core/Applications", header, stats, retry if quick else None),
    )
    return sorted(fetched.value)


def _ids(raw: bytes) -> list[int]:
    doc = orjson.loads(raw)
    return [int(row["Id"]) for row in doc["value"]]


def _first(configured: Sequence[int], listed: list[int]) -> int | None:
    if configured:
        return configured[0]
    return listed[0] if listed else None


def _shown(header: int | None) -> str:
    return "no applicationId header" if header is None else f"applicationId {header}"


def _no_context(exc: ServerError | RequestRejected) -> ConfigError:
    status = getattr(exc, "status", None)
    return ConfigError(
        [
            f"the tenant would not list Core/Applications without an applicationId header "
            f"nor with applicationId {DOCUMENTED_DEFAULT} (HTTP {status})"
        ],
        hint="set NORCE_CONTEXT_APPLICATION_ID (or NORCE_APPLICATION_IDS) to one of your "
        "application ids, as Norce Admin lists them",
    )

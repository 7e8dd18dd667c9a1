"""The run report's tenant sections: what was skipped, what the tenant supports, privacy.

A first run against a tenant we have never seen must say plainly what it could not do:
entity sets skipped (and why, with the exit code of the cause), sets whose privacy is
degraded (personal data and no forget flag), what each set accepts (learned on first
contact and reused) and the fallbacks taken. :func:`tenant_sections` gives them as
:class:`~flows.render.Section` tables for the terminal, the markdown artifact and the
report page alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from extract import RunSummary

if TYPE_CHECKING:
    from flows.render import Section

__all__ = [
    "capability_rows",
    "grouped_fallbacks",
    "skipped_rows",
    "tenant_overview",
    "tenant_sections",
]

CAPABILITY_HEADERS = (
    "entity set",
    "key type",
    "$count",
    "$orderby/$filter on key",
    "$filter on cursor",
    "ApplicationId filter",
)


def tenant_overview(s: RunSummary) -> list[tuple[str, str]]:
    """Rows for the report's Run table: skipped sets, privacy, 429 waits, the header."""
    rows = [
        ("entity sets skipped", f"{len(s.skipped):,}"),
        ("privacy", f"DEGRADED ({len(s.degraded)} set(s), see below)" if s.degraded else "ok"),
        (
            "waits after 429s",
            f"{s.total('rate_limit_waits'):,} ({s.rate_limit_wait_s:.1f} s waited)",
        ),
    ]
    if s.application_context:
        rows.append(("applicationId header", s.application_context))
    return rows


def skipped_rows(s: RunSummary) -> list[tuple[str, str, str]]:
    """``(entity set, exit code, reason)`` per skipped set."""
    return [(k.entity, str(k.exit_code), k.reason) for k in s.skipped]


def capability_rows(s: RunSummary) -> list[tuple[str, ...]]:
    """One row per planned set: its key type and what it accepts (``-``: not probed)."""
    return [(c.entity, *(value for _, value in c.items())) for c in s.capabilities]


def grouped_fallbacks(lines: list[str]) -> list[str]:
    """Fallback lines with the same text for several sets folded into one line.

    ``Orders/Orders: $count refused -- ...`` for twenty sets becomes ``$count refused --
    ... (20 sets: Orders/Orders, ...)``.
    """
    by_text: dict[str, list[str]] = {}
    for line in lines:
        entity, sep, text = line.partition(": ")
        if not sep:
            entity, text = "", line
        by_text.setdefault(text, []).append(entity)
    out = []
    for text, entities in by_text.items():
        named = [e for e in entities if e]
        if len(named) == 1:
            out.append(f"{named[0]}: {text}")
        elif named:
            out.append(f"{text} ({len(named)} sets: {', '.join(named)})")
        else:
            out.append(text)
    return out


def tenant_sections(s: RunSummary, section: type[Section]) -> list[Section]:
    """Skipped sets, privacy and capabilities as report sections (empty ones left out).

    Args:
        s: The run summary.
        section: The :class:`~flows.render.Section` class (passed in: render imports us).
    """
    out: list[Section] = []
    if s.skipped:
        out.append(
            section(
                "Skipped entity sets",
                ("entity set", "exit", "reason"),
                skipped_rows(s),
                notes=["the rest of the run was loaded, built and published (exit code 10)"],
            )
        )
    if s.degraded:
        out.append(
            section(
                "Privacy DEGRADED",
                ("item", "value"),
                [],
                notes=[f"privacy degraded: {line}" for line in s.degraded],
            )
        )
    if s.capabilities or s.fallbacks:
        out.append(
            section(
                "Tenant capabilities",
                CAPABILITY_HEADERS,
                capability_rows(s),
                notes=[f"fallback: {line}" for line in grouped_fallbacks(s.fallbacks)],
            )
        )
    return out

"""``norce-wh doctor --report FILE``: the tenant compared with the catalog, as markdown.

The file a user attaches when asking for help. Per entity set it says what the catalog
assumes and what the tenant's ``$metadata`` declares -- the key and its type, the cursor
fields, the forget flag, types the loader cannot type or that differ from the warehouse's
raw tables -- what a ``$top=1`` probe found the tenant accepts, the fallbacks a run takes,
and whether a run loads the set or skips it (and why). It holds no credentials, salt,
token or data rows: only the masked tenant URL, names, types and counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from extract.errors import AuthError, BudgetExhausted, ExtractError
from extract.http.appcontext import ApplicationContext
from extract.http.client import QueryClient, RequestContext
from extract.redact import mask_url, scrub
from extract.run.namespaces import skip_reason
from extract.run.probe import probe_set
from extract.schema.capabilities import SetCapabilities, adapt
from extract.schema.catalog import EntitySpec
from extract.schema.metadata import EdmService
from extract.schema.plan import EntityPlan
from extract.schema.privacy import PrivacyPolicy
from extract.schema.reconcile import reconcile
from extract.schema.types import is_supported, is_widening
from extract.settings import Settings

__all__ = ["SetAssessment", "assess_set", "render_tenant_report", "warehouse_types"]


@dataclass
class SetAssessment:
    """What the report says about one entity set."""

    spec: EntitySpec
    verdict: str = "loaded"
    """``loaded``, ``loaded, adapted`` or ``skipped``."""
    key: str = "-"
    cursor: str = "-"
    forget_flag: str = "-"
    capabilities: str = "-"
    notes: list[str] = field(default_factory=list)


def warehouse_types(path: Path) -> dict[str, dict[str, str]]:
    """``raw`` column types of the published warehouse (empty when there is none yet)."""
    if not path.exists():
        return {}
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return {}
    try:
        rows = con.execute(
            "select table_name, column_name, data_type from information_schema.columns "
            "where table_schema = 'raw'"
        ).fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, str]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, {})[column] = dtype
    return out


def assess_set(
    client: QueryClient,
    spec: EntitySpec,
    service: EdmService,
    privacy: PrivacyPolicy,
    *,
    application_id: int | None,
    existing: Mapping[str, Mapping[str, str]],
) -> SetAssessment:
    """Compare one set with the catalog and probe what the tenant accepts for it."""
    out = SetAssessment(spec)
    try:
        plan = reconcile(spec, service, privacy)
    except ExtractError as exc:
        out.verdict, out.notes = "skipped", [f"skipped: {exc}"]
        return out
    et = plan.entity_type
    out.key = ", ".join(f"{k} {_type(plan, k)}" for k in spec.key)
    out.cursor = _cursor(spec, plan)
    out.forget_flag = _forget(spec, plan)
    out.notes += [w.removeprefix(f"{spec.path}: ") for w in plan.warnings]
    unsupported = [p.name for p in et.properties if not is_supported(p.edm_type)]
    if unsupported:
        out.notes.append(f"types loaded as VARCHAR (no Edm mapping): {', '.join(unsupported)}")
    out.notes += _drift(plan, existing)
    if plan.degraded:
        out.notes.append(f"privacy degraded: {plan.degraded}")
    try:
        caps = probe_set(
            client,
            plan,
            RequestContext(spec.path),
            application_id=application_id,
            ask_count=True,
        )
    except (AuthError, BudgetExhausted):
        raise
    except ExtractError as exc:
        out.verdict = "skipped"
        out.notes.append(f"skipped: the probe failed: {skip_reason(exc)}")
        return out
    _, fallbacks = adapt(plan, caps)
    out.capabilities = _capabilities(caps)
    out.notes += [f"fallback: {f.removeprefix(f'{spec.path}: ')}" for f in fallbacks]
    if any(n.startswith("skipped") for n in out.notes):
        out.verdict = "skipped"
    elif fallbacks or plan.warnings or plan.degraded:
        out.verdict = "loaded, adapted"
    return out


def _type(plan: EntityPlan, name: str) -> str:
    prop = plan.entity_type.prop(name)
    return prop.edm_type if prop is not None else "not declared"


def _cursor(spec: EntitySpec, plan: EntityPlan) -> str:
    if spec.mode == "full":
        return "full reload (lookup)"
    if not plan.cursor:
        return f"none of {', '.join(spec.cursor)} declared: full reload"
    missing = [c for c in spec.cursor if c not in plan.cursor]
    return ", ".join(plan.cursor) + (f" ({', '.join(missing)} missing)" if missing else "")


def _forget(spec: EntitySpec, plan: EntityPlan) -> str:
    if spec.forgotten_field is None:
        return "-"
    if plan.forgotten_field:
        return f"{plan.forgotten_field} declared"
    return f"{spec.forgotten_field} MISSING"


def _drift(plan: EntityPlan, existing: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Columns whose type differs from the warehouse's raw table."""
    notes = []
    columns = existing.get(plan.spec.table, {})
    for column in plan.main.columns:
        old = columns.get(column.name)
        new = column.duckdb_type
        if old is None or (is_widening(old, new) and is_widening(new, old)):
            continue  # the same type, spelled another way
        if is_widening(old, column.duckdb_type):
            notes.append(f"raw.{plan.spec.table}.{column.name}: {old} -> {column.duckdb_type}")
        else:
            notes.append(
                f"skipped: raw.{plan.spec.table}.{column.name} would narrow from {old} to "
                f"{column.duckdb_type} -- run --full-refresh --entities {plan.spec.path}"
            )
    return notes


def _capabilities(caps: SetCapabilities) -> str:
    return caps.summary()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_tenant_report(
    settings: Settings,
    *,
    context: ApplicationContext | str,
    namespaces: Mapping[str, str],
    sets: list[SetAssessment],
) -> str:
    """The markdown report.

    Args:
        settings: For the masked tenant URL, scope and selection (never the secrets).
        context: What application discovery found, or why it failed.
        namespaces: Namespace -> one line about its ``$metadata``.
        sets: One assessment per entity set the configuration selects.
    """
    api = settings.api
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    found = context.describe() if isinstance(context, ApplicationContext) else context
    listed = ", ".join(map(str, context.listed)) if isinstance(context, ApplicationContext) else "-"
    counts = {v: sum(s.verdict == v for s in sets) for v in ("loaded", "loaded, adapted")}
    skipped = [s for s in sets if s.verdict == "skipped"]
    out = [
        "# norce-warehouse tenant report",
        "",
        f"Written {when} by `norce-wh doctor --report`. Attach it when asking for help: it "
        "holds no credentials, salt, token or data rows.",
        "",
        f"- tenant: {mask_url(api.base_url)} (scope `{api.scope}`)",
        f"- application context: {found}",
        f"- applications listed: {listed}; loading: "
        + (", ".join(map(str, api.application_ids)) if api.application_ids else "all"),
        f"- entity sets: {len(sets)} selected; {counts['loaded']} load as the catalog "
        f"assumes, {counts['loaded, adapted']} load adapted, {len(skipped)} would be skipped"
        + (f" ({', '.join(s.spec.path for s in skipped)})" if skipped else ""),
        "",
        "## Namespaces ($metadata)",
        "",
        "| namespace | $metadata |",
        "|---|---|",
        *[f"| {ns} | {_cell(line)} |" for ns, line in namespaces.items()],
        "",
        "## Entity sets: the catalog against the tenant",
        "",
        "| entity set | a run | key (tenant type) | cursor | forget flag | capabilities probed |",
        "|---|---|---|---|---|---|",
        *[
            f"| {s.spec.path} | {s.verdict} | {_cell(s.key)} | {_cell(s.cursor)} | "
            f"{_cell(s.forget_flag)} | {_cell(s.capabilities)} |"
            for s in sets
        ],
        "",
        "## Differences and fallbacks per entity set",
        "",
    ]
    for s in sets:
        if s.notes:
            out += [f"### {s.spec.path}", "", *[f"- {_cell(n)}" for n in s.notes], ""]
    if not any(s.notes for s in sets):
        out += ["None: every set is served as the catalog assumes.", ""]
    return scrub("\n".join(out))

"""``norce-wh doctor``: check configuration, credentials, the API and the warehouse path.

Each check gives one line (ok, warn or fail) with what was found and, when something is
wrong, what to do. Checks that need an earlier one (the API needs valid settings, the
metadata needs a token) are skipped when it failed, so one root cause gives one failure.
"""

from __future__ import annotations

import os
import tempfile
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import httpx
import orjson

from extract.errors import ConfigError, ExtractError, ServerError, WarehouseError
from extract.http.client import QueryClient, RequestContext
from extract.redact import mask_url
from extract.schema.catalog import CATALOG
from extract.schema.metadata import parse_edmx
from extract.settings import Settings, load_settings
from flows.terminal import terminal_safe

__all__ = ["Check", "doctor_exit_code", "render_checks", "run_doctor"]

Level = Literal["ok", "warn", "fail", "skip"]

DOCTOR_RETRIES = 1
"""Request retries during the checks: enough for a blip, short enough to answer quickly."""


@dataclass(frozen=True, slots=True)
class Check:
    """One doctor finding.

    Attributes:
        name: What was checked.
        level: ``ok``, ``warn`` (works, but look at it), ``fail`` or ``skip``.
        detail: What was found, and for warn/fail what to do.
        exit_code: For a failure, the code the CLI exits with (as ``ExtractError``).
    """

    name: str
    level: Level
    detail: str
    exit_code: int = 0


def run_doctor(
    env: Mapping[str, str] | None = None,
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, object] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> list[Check]:
    """Run every check and return the findings in order.

    Args:
        env: Environment to read (``None``: the process environment).
        config_file: TOML settings file.
        overrides: Settings overrides from CLI flags.
        transport: httpx transport for tests (default: the network).
    """
    file_checks = _config_file_checks(config_file, os.environ if env is None else env)
    try:
        settings = load_settings(env, config_file=config_file, overrides=overrides)
    except ConfigError as exc:
        checks = [
            Check("configuration", "fail", problem, exc.exit_code) for problem in exc.problems
        ]
        skipped = Check("API", "skip", "skipped until the configuration is valid")
        return [*checks, *file_checks, skipped]
    checks = [_config_ok(settings), *file_checks]
    if settings.default_salt:
        checks.append(
            Check(
                "privacy salt",
                "warn",
                "NORCE_PII_SALT is not set, so e-mail hashes use a public default salt and "
                "can be reversed with a list of addresses -- set a secret NORCE_PII_SALT "
                "before the first real load (changing it later changes every hash)",
            )
        )
    checks += _api_checks(settings, transport)
    checks.append(_warehouse_check(settings))
    return checks


def _config_ok(settings: Settings) -> Check:
    api = settings.api
    apps = ",".join(map(str, api.application_ids)) if api.application_ids else "all"
    entities = (
        f"{len(settings.extract.entities)} entity sets"
        if settings.extract.entities
        else f"all {len(CATALOG)} catalog entity sets"
    )
    return Check(
        "configuration",
        "ok",
        f"{mask_url(api.base_url)}, client {api.client_id!r}, scope {api.scope!r}, "
        f"applications {apps}, {entities}, {settings.throttle.max_rps:g} req/s, "
        f"{settings.throttle.max_inflight} in flight",
    )


_SECRET_KEYS = {("api", "client_secret"): "the client secret", ("extract", "pii_salt"): "the salt"}
"""Settings a config file must not show to other local users."""
_READERS = (("its group", 0o040), ("every local user", 0o004))


def _config_file_checks(config_file: Path | None, env: Mapping[str, str]) -> list[Check]:
    """A warning when the TOML file holds a secret and users other than its owner may read it."""
    path = config_file
    if path is None and env.get("NORCE_CONFIG", "").strip():
        path = Path(env["NORCE_CONFIG"].strip()).expanduser()
    if path is None:
        return []
    try:
        mode = path.stat().st_mode & 0o777
        with path.open("rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return []  # missing or unreadable: the configuration check reports it
    held = [
        what
        for (section, key), what in _SECRET_KEYS.items()
        if isinstance(doc.get(section), dict) and key in doc[section]
    ]
    readers = [who for who, bit in _READERS if mode & bit]
    if not held or not readers:
        return []
    return [
        Check(
            "config file",
            "warn",
            f"{path} holds {' and '.join(held)} and is readable by {' and '.join(readers)} "
            f"(mode {mode:04o}) -- run `chmod 600 {path}`",
        )
    ]


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.monotonic()
    value = fn()
    return value, time.monotonic() - start


def _api_checks(settings: Settings, transport: httpx.BaseTransport | None) -> list[Check]:
    limits = replace(settings.throttle, max_retries=DOCTOR_RETRIES, backoff_max_s=2.0)
    checks: list[Check] = []
    with QueryClient((settings.api, limits), transport=transport) as client:
        try:
            _, seconds = _timed(client.tokens.token)
        except ExtractError as exc:
            return [
                Check("token", "fail", str(exc), exc.exit_code),
                Check("API", "skip", "skipped until a token is granted"),
            ]
        checks.append(
            Check("token", "ok", f"granted by {mask_url(client.tokens.url)} in {seconds:.2f} s")
        )
        apps_check, header_app = _applications(client, settings)
        checks.append(apps_check)
        namespaces = sorted({spec.namespace for spec in CATALOG})
        wanted = set(settings.extract.entities or [s.path for s in CATALOG])
        for namespace in namespaces:
            checks.append(_metadata(client, namespace, header_app, wanted))
    return checks


def _applications(client: QueryClient, settings: Settings) -> tuple[Check, int | None]:
    configured = list(settings.api.application_ids or [])
    try:
        fetched = client.get(
            "Core/Applications",
            {"$select": "Id,Name", "$orderby": "Id"},
            parse=orjson.loads,
            context=RequestContext("Core/Applications", configured[0] if configured else None),
        )
    except ServerError as exc:
        if configured:
            return Check("Core/Applications", "fail", str(exc), exc.exit_code), None
        # Norce answers 500 on Core/* without an applicationId header; a run needs the ids.
        return (
            Check(
                "Core/Applications",
                "fail",
                "the tenant would not list its applications without an application context "
                "(HTTP 500) -- set NORCE_APPLICATION_IDS to the application ids to load",
                ConfigError.exit_code,
            ),
            None,
        )
    except ExtractError as exc:
        return Check("Core/Applications", "fail", str(exc), exc.exit_code), None
    rows = fetched.value.get("value", []) if isinstance(fetched.value, dict) else []
    known = {int(r["Id"]): str(r.get("Name") or "") for r in rows}
    listing = ", ".join(f"{i} {name}".strip() for i, name in sorted(known.items()))
    unknown = [a for a in configured if a not in known]
    if unknown:
        return (
            Check(
                "Core/Applications",
                "fail",
                f"NORCE_APPLICATION_IDS lists {unknown}, which the tenant does not have "
                f"(it has: {listing or 'none'}) -- fix NORCE_APPLICATION_IDS",
                ConfigError.exit_code,
            ),
            None,
        )
    if not known:
        return (
            Check(
                "Core/Applications",
                "fail",
                "the tenant lists no applications -- check that the integration user has "
                "access to at least one application in Norce Admin",
                4,
            ),
            None,
        )
    chosen = "configured: " + ",".join(map(str, configured)) if configured else "loading all"
    first = configured[0] if configured else min(known)
    return Check("Core/Applications", "ok", f"{len(known)} ({listing}); {chosen}"), first


def _metadata(
    client: QueryClient, namespace: str, header_app: int | None, wanted: set[str]
) -> Check:
    name = f"{namespace}/$metadata"
    try:
        raw, seconds = _timed(lambda: client.metadata(namespace, RequestContext(name, header_app)))
        service = parse_edmx(raw)
    except ExtractError as exc:
        return Check(name, "fail", str(exc), exc.exit_code)
    expected = sorted(
        s.entity_set for s in CATALOG if s.namespace == namespace and s.path in wanted
    )
    missing = [s for s in expected if s not in service.sets]
    if missing:
        return Check(
            name,
            "warn",
            f"does not declare {', '.join(missing)}; those sets are skipped by every run "
            f"(remove them from NORCE_ENTITIES to silence this)",
        )
    return Check(
        name,
        "ok",
        f"{len(service.sets)} entity set(s), {len(expected)} of them loaded ({seconds:.2f} s)",
    )


def _warehouse_check(settings: Settings) -> Check:
    wh = settings.warehouse
    problems = []
    for path in {wh.path.parent, wh.work_database.parent}:
        try:
            _probe_writable(path)
        except WarehouseError as exc:
            problems.append(str(exc))
    if problems:
        return Check("warehouse", "fail", "; ".join(problems), WarehouseError.exit_code)
    note = "" if wh.path.exists() else " (not published yet)"
    return Check(
        "warehouse",
        "ok",
        f"writable: published file {wh.path}{note}, working file {wh.work_database}",
    )


def _probe_writable(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=".norce-doctor-", dir=directory)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise WarehouseError(
            f"cannot write in {directory}: {exc.strerror or exc}",
            hint="point NORCE_WAREHOUSE (and NORCE_WORK_DATABASE) at a writable directory",
        ) from exc


_MARK = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "skip"}


def render_checks(checks: list[Check]) -> str:
    """The findings as lines, then a one-line verdict."""
    width = max((len(c.name) for c in checks), default=0)
    lines = [f"{_MARK[c.level]}  {c.name.ljust(width)}  {terminal_safe(c.detail)}" for c in checks]
    fails = sum(c.level == "fail" for c in checks)
    warns = sum(c.level == "warn" for c in checks)
    if fails:
        lines.append(f"\n{fails} problem(s), {warns} warning(s): fix the FAIL lines above.")
    elif warns:
        lines.append(f"\nReady, with {warns} warning(s).")
    else:
        lines.append("\nAll checks passed.")
    return "\n".join(lines) + "\n"


def doctor_exit_code(checks: list[Check]) -> int:
    """0 when nothing failed, else the first failure's exit code."""
    return next((c.exit_code or 1 for c in checks if c.level == "fail"), 0)

"""Plumbing of the ``norce-wh`` command line: error handling, exit codes, shared options.

:class:`NorceGroup` turns every :class:`~extract.errors.PipelineError` into one line
``error: <what> -- <what to do>`` and the error's exit code (a traceback only with ``-v``),
and loads commands defined elsewhere (the simulator's) only when they are used.
"""

from __future__ import annotations

import atexit
import functools
import importlib
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from extract.errors import ConfigError, PipelineError
from extract.redact import scrub
from flows.errors import DbtFailed, RunFailed, exit_code_for
from flows.logs import configure_cli_logging, quiet_prefect_environment
from flows.terminal import terminal_safe, terminal_safe_block

__all__ = [
    "NorceGroup",
    "check_entities",
    "common_options",
    "config_option",
    "load_cli_settings",
    "output_options",
    "selection_options",
    "verbosity",
]

F = TypeVar("F", bound=Callable[..., Any])

_LAZY_COMMANDS = {"simulate": "simulator.cli:simulate"}
"""Commands defined elsewhere, imported only when used (production code never imports the
simulator otherwise)."""


class NorceGroup(click.Group):
    """A group that maps errors to one line + exit code and loads some commands lazily."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """The console-script entry point (tests call :meth:`main` and never get here)."""
        try:
            super().__call__(*args, **kwargs)
        except SystemExit as exc:
            _exit_now(exc.code)
        _exit_now(0)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *_LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in _LAZY_COMMANDS:
            module, _, attr = _LAZY_COMMANDS[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), attr)
            assert isinstance(command, click.Command)
            return command
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except (RunFailed, DbtFailed) as exc:
            report = getattr(exc, "report", None)
            if report is not None:
                from flows.render import render_text
                from flows.report import RunReport

                if isinstance(report, RunReport):
                    click.echo(render_text(report, detail=verbosity(ctx) > 0))
            _fail(exc, ctx)
        except PipelineError as exc:
            _fail(exc, ctx)
        except KeyboardInterrupt:
            click.echo("interrupted -- committed batches are kept; the next run resumes", err=True)
            ctx.exit(130)
        except Exception as exc:
            _fail(exc, ctx)


def _exit_now(code: object) -> NoReturn:
    """Run the exit handlers, then end the process without tearing down modules.

    A process that ran dbt and Prefect's temporary API server prints pages of harmless
    "nanobind: leaked ..." lines while DuckDB's bindings are torn down at interpreter exit.
    The exit handlers still run (they stop Prefect's temporary server and flush logs);
    only the module teardown is skipped.
    """
    if isinstance(code, str):
        click.echo(code, err=True)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    _drain_prefect_logs()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)


def _drain_prefect_logs() -> None:
    """Send queued run logs to the Prefect API before the exit handlers stop its server.

    The temporary server's exit handler runs before the log worker's, so the last batch of
    a short run would otherwise fail with "Error logging to API".
    """
    if "prefect" not in sys.modules:
        return
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)


def verbosity(ctx: click.Context) -> int:
    value = ctx.meta.get("norce_verbosity", 0)
    return int(value)


def _fail(exc: BaseException, ctx: click.Context) -> None:
    # Messages may quote the server: terminal_safe keeps each one a single, inert line.
    if verbosity(ctx) > 0:
        trace = scrub("".join(traceback.format_exception(exc))).rstrip()
        click.echo(terminal_safe_block(trace), err=True)
    if isinstance(exc, PipelineError):
        click.echo(f"error: {terminal_safe(str(exc))}", err=True)
    else:
        click.echo(
            f"error: unexpected {type(exc).__name__}: {terminal_safe(scrub(str(exc)))} -- "
            "rerun with -v for the traceback and report it if it persists",
            err=True,
        )
    ctx.exit(exit_code_for(exc))


# --- shared options -------------------------------------------------------------------------


def config_option(fn: F) -> F:
    """``--config FILE``."""
    return click.option(
        "--config",
        "config",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="TOML settings file (default: $NORCE_CONFIG). Environment variables win over it.",
    )(fn)


def output_options(fn: F) -> F:
    """``-v/--verbose`` and ``--quiet``: set up logging before the command runs."""

    @click.option(
        "-v", "--verbose", count=True, help="More detail: -v debug lines and tracebacks, -vv HTTP."
    )
    @click.option("--quiet", is_flag=True, help="Only warnings and errors on stderr.")
    @functools.wraps(fn)
    def wrapper(*args: Any, verbose: int, quiet: bool, **kwargs: Any) -> Any:
        # ctx.meta is shared by the whole context chain, so the group's error handler sees it.
        click.get_current_context().meta["norce_verbosity"] = verbose
        configure_cli_logging(verbose, quiet=quiet)
        quiet_prefect_environment(verbose > 1)
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def common_options(fn: F) -> F:
    """``--config``, ``-v/--verbose``, ``--quiet``."""
    return config_option(output_options(fn))


def _comma_list(_: click.Context, __: click.Parameter, value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    return items or None


def _int_list(ctx: click.Context, param: click.Parameter, value: str | None) -> list[int] | None:
    items = _comma_list(ctx, param, value)
    if items is None:
        return None
    try:
        return [int(v) for v in items]
    except ValueError:
        raise click.BadParameter("give whole numbers separated by commas, e.g. 1,2") from None


def selection_options(fn: F) -> F:
    """``--entities``, ``--applications``, ``--full-refresh``, ``--since``."""

    @click.option(
        "--entities",
        callback=_comma_list,
        metavar="NS/SET,...",
        help="Only these entity sets, e.g. Orders/Orders,Core/Currencies "
        "(default: $NORCE_ENTITIES, else the whole catalog).",
    )
    @click.option(
        "--applications",
        callback=_int_list,
        metavar="ID,...",
        help="Only these Norce application ids (default: $NORCE_APPLICATION_IDS, else all).",
    )
    @click.option(
        "--full-refresh",
        is_flag=True,
        help="Reload every selected set from scratch instead of only what changed.",
    )
    @click.option(
        "--since",
        type=click.DateTime(formats=["%Y-%m-%d"]),
        default=None,
        metavar="YYYY-MM-DD",
        help="Backfill: re-read orders/invoices/... from this business date.",
    )
    @functools.wraps(fn)
    def wrapper(*args: Any, since: Any, **kwargs: Any) -> Any:
        return fn(*args, since=since.date() if since is not None else None, **kwargs)

    return wrapper  # type: ignore[return-value]


def load_cli_settings(config: Path | None) -> Any:
    from extract.settings import load_settings

    return load_settings(config_file=config)


def check_entities(entities: list[str] | None) -> None:
    if not entities:
        return
    from extract.schema.catalog import select_specs

    try:
        select_specs(entities)
    except KeyError as exc:
        raise ConfigError([str(exc.args[0])], hint="fix --entities") from None

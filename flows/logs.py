"""Where log lines go: a compact stderr format for the CLI, Prefect's API inside flow runs.

The pipeline logs through ordinary ``logging`` loggers (``extract.*``, ``flows.*``). The CLI
prints them on stderr in one short format; inside a Prefect flow run they are also forwarded
to the Prefect API so they show in the UI next to the run. Prefect's own chatter (engine
state changes, the temporary server) is turned down for terminal use.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from flows.terminal import TerminalSafeFormatter

__all__ = [
    "PIPELINE_LOGGERS",
    "configure_cli_logging",
    "forward_to_prefect",
    "quiet_prefect_console",
    "quiet_prefect_environment",
]

PIPELINE_LOGGERS = ("extract", "flows")
"""Logger namespaces of our own code."""

_CLI_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
_CLI_DEBUG_FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"


def quiet_prefect_environment(verbose: bool = False) -> None:
    """Settings Prefect reads once, at import, from the environment; operator values win.

    Prefect's own log level is left alone (its INFO lines still reach the Prefect API and
    UI); :func:`quiet_prefect_console` keeps them off the terminal instead.

    Args:
        verbose: Let the temporary local server log at INFO too.
    """
    level = "INFO" if verbose else "WARNING"
    os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", level)
    # The temporary local server's access log would print one line per API call.
    os.environ.setdefault("PREFECT_LOGGING_SERVER_LEVEL", level)
    # No telemetry from a warehouse loader (and hosts without internet log errors for it).
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")


class _QuietPrefectConsole(logging.Filter):
    """Keep Prefect's INFO chatter and its engine lines about runs off the terminal.

    The CLI prints progress and its own one-line error for a failed run; Prefect would add
    state changes and a full traceback. Records still reach Prefect's API handler (this
    filter sits on the console handler only), so the Prefect UI keeps them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("prefect"):
            return True
        if record.levelno < logging.WARNING:
            return False
        if record.name.startswith(("prefect.flow_runs", "prefect.task_runs")):
            return False
        exc = record.exc_info[1] if record.exc_info else None
        from extract.errors import PipelineError

        return not isinstance(exc, PipelineError)


def quiet_prefect_console(verbose: bool = False) -> None:
    """After ``prefect`` is imported: drop its run/task lines from the terminal unless verbose."""
    from prefect.logging.handlers import PrefectConsoleHandler

    for handler in logging.getLogger().handlers:
        if not isinstance(handler, PrefectConsoleHandler):
            continue
        for old in [f for f in handler.filters if isinstance(f, _QuietPrefectConsole)]:
            handler.removeFilter(old)
        if not verbose:
            handler.addFilter(_QuietPrefectConsole())


def configure_cli_logging(verbosity: int = 0, *, quiet: bool = False) -> None:
    """Send our loggers to stderr in a compact, human format.

    Args:
        verbosity: 0 = progress and results (INFO), 1+ = DEBUG with thread and logger names.
        quiet: Only warnings and errors.
    """
    level = logging.WARNING if quiet else logging.DEBUG if verbosity > 0 else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        TerminalSafeFormatter(_CLI_DEBUG_FORMAT if verbosity > 0 else _CLI_FORMAT, "%H:%M:%S")
    )
    handler.set_name("norce-wh-cli")
    handler.setLevel(level)
    for name in PIPELINE_LOGGERS:
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "norce-wh-cli"]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        # The logger stays at INFO even when quiet: the Prefect run log still gets progress.
        logger.setLevel(min(level, logging.INFO))
        # Prefect's root handler would print every line a second time.
        logger.propagate = False
    # Request-level lines from httpx are only useful when debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if verbosity > 1 else logging.WARNING)


class _RunContextAPIHandler(logging.Handler):
    """Prefect's API log handler, applied only to records emitted inside a run context.

    Records from threads that carry no Prefect context (the HTTP client's own helpers, for
    example) are left to the other handlers instead of raising Prefect's missing-context
    warning.
    """

    def __init__(self) -> None:
        super().__init__()
        from prefect.logging.handlers import APILogHandler

        self._api = APILogHandler()

    def emit(self, record: logging.LogRecord) -> None:
        from prefect.context import FlowRunContext, TaskRunContext

        if FlowRunContext.get() is None and TaskRunContext.get() is None:
            return
        self._api.emit(record)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        super().setFormatter(fmt)
        self._api.setFormatter(fmt)


@contextmanager
def forward_to_prefect(level: int = logging.INFO) -> Iterator[None]:
    """Also send our loggers' records to the Prefect API while a flow run is active.

    Args:
        level: Lowest level forwarded.
    """
    handler = _RunContextAPIHandler()
    handler.setLevel(level)
    loggers = [logging.getLogger(name) for name in PIPELINE_LOGGERS]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        if lg.getEffectiveLevel() > level:
            lg.setLevel(level)
    try:
        yield
    finally:
        for lg, old in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(old)

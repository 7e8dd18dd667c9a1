"""``norce-wh sql``: query the published warehouse, read-only.

Three ways in: ``-c "select ..."``, a file of statements, or an interactive prompt with
history (``readline``; statements end with ``;``, dot commands list tables and switch the
output format). The connection is opened with ``read_only=True``: a statement that would
change the warehouse fails with DuckDB's own message, and runs keep publishing new copies
while the shell is open (a new ``norce-wh sql`` sees the newest one).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, TextIO

import duckdb

from extract.errors import PipelineError, WarehouseError
from flows.sql_output import FORMATS, Format, write_result

__all__ = ["QueryFailed", "Shell", "history_path", "open_readonly", "run_script"]

HISTORY_ENV = "NORCE_SQL_HISTORY"
"""Where the prompt keeps its history (default ``~/.norce_wh_sql_history``)."""

_HELP = """Statements end with ';' and may span lines. Ctrl-C clears the input, Ctrl-D quits.
  .tables             list the schemas' tables and views (marts first)
  .describe TABLE     columns and types of TABLE, e.g. .describe marts.fct_orders
  .format FORMAT      table (default), csv or json
  .help               this text
  .quit               leave (also .exit)
"""


class QueryFailed(PipelineError):
    """A statement given to ``norce-wh sql`` failed (syntax, unknown table, write attempt)."""

    exit_code = 1
    default_hint: ClassVar[str] = (
        "fix the SQL; `norce-wh sql -c .tables` lists the tables (the warehouse is read-only)"
    )


def open_readonly(path: Path) -> duckdb.DuckDBPyConnection:
    """Open the published warehouse read-only.

    Raises:
        WarehouseError: There is no file at ``path`` or it cannot be opened.
    """
    if not path.exists():
        raise WarehouseError(
            f"no published warehouse at {path}",
            hint="run `norce-wh demo` (simulated data) or `norce-wh run`, or set "
            "NORCE_WAREHOUSE to the published file",
        )
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise WarehouseError(
            f"cannot open {path} read-only: {_first_line(exc)}",
            hint="check the file's permissions and that it is a DuckDB database",
        ) from exc
    con.execute("SET TimeZone = 'UTC'")
    return con


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def history_path() -> Path:
    """The prompt's history file."""
    configured = os.environ.get(HISTORY_ENV, "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".norce_wh_sql_history"


@dataclass
class Shell:
    """Runs statements and dot commands against one read-only connection."""

    con: duckdb.DuckDBPyConnection
    out: TextIO
    fmt: Format = "table"
    max_rows: int = 1_000

    def execute(self, text: str) -> None:
        """Run every statement in ``text``, writing each result.

        Raises:
            QueryFailed: A statement failed; the ones before it have run.
        """
        try:
            statements = self.con.extract_statements(text)
        except duckdb.Error as exc:
            raise QueryFailed(f"query failed: {_first_line(exc)}") from exc
        for statement in statements:
            try:
                self.con.execute(statement)
            except duckdb.Error as exc:
                raise QueryFailed(f"query failed: {_first_line(exc)}") from exc
            write_result(self.con, self.out, self.fmt, max_rows=self.max_rows)

    def command(self, line: str) -> bool:
        """Run a dot command; returns False when the shell should end.

        Raises:
            QueryFailed: Unknown command or bad argument.
        """
        name, _, arg = line.strip().partition(" ")
        arg = arg.strip().rstrip(";")
        if name in (".quit", ".exit"):
            return False
        if name == ".help":
            self.out.write(_HELP)
        elif name == ".tables":
            self.execute(
                "select table_schema as schema, table_name as name, "
                "lower(table_type) as type from information_schema.tables "
                "order by case table_schema when 'marts' then 0 when 'staging' then 1 "
                "when 'raw' then 2 else 3 end, 1, 2"
            )
        elif name == ".describe" and arg:
            self.execute(f"describe {arg}")
        elif name == ".format" and arg in FORMATS:
            self.fmt = arg  # type: ignore[assignment]
        else:
            raise QueryFailed(f"unknown command {line.strip()!r}", hint="type .help")
        return True


def run_script(shell: Shell, text: str) -> None:
    """Run a script: dot commands on lines of their own, SQL statements in between.

    Raises:
        QueryFailed: At the first failing statement.
    """
    pending: list[str] = []
    for line in text.splitlines():
        so_far = "\n".join(pending).strip()
        if line.strip().startswith(".") and (not so_far or so_far.endswith(";")):
            if so_far:
                shell.execute(so_far)
            pending.clear()
            if not shell.command(line):
                return
            continue
        pending.append(line)
    if "\n".join(pending).strip():
        shell.execute("\n".join(pending))


def interact(
    shell: Shell,
    read: Callable[[str], str] = input,
    err: TextIO = sys.stderr,
) -> None:
    """The interactive loop: read lines until a statement ends with ``;``, run it.

    A failing statement prints one ``error:`` line and the prompt comes back.
    """
    buffer: list[str] = []
    while True:
        try:
            line = read("norce> " if not buffer else "   ..> ")
        except EOFError:
            err.write("\n")
            return
        except KeyboardInterrupt:
            err.write("\n")
            buffer.clear()
            continue
        if not buffer and line.strip().startswith("."):
            try:
                if not shell.command(line):
                    return
            except QueryFailed as exc:
                err.write(f"error: {exc}\n")
            continue
        buffer.append(line)
        text = "\n".join(buffer).strip()
        if not text.endswith(";"):
            continue
        buffer.clear()
        try:
            shell.execute(text)
        except QueryFailed as exc:
            err.write(f"error: {exc.message}\n")  # the hint is for scripts; here: try again


@contextlib.contextmanager
def readline_history(path: Path) -> Iterator[None]:
    """Line editing and a persistent history for :func:`interact` (when readline exists)."""
    try:
        import readline
    except ImportError:  # pragma: no cover - not on Linux/macOS builds of CPython
        yield
        return
    with contextlib.suppress(OSError):
        readline.read_history_file(path)
    readline.set_history_length(1000)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            readline.write_history_file(path)

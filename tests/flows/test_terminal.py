"""Text from the server is printed as one inert line: no escape codes, no line breaks, and
so no forged ``error: ...`` line -- in the CLI's error line, its log lines, the run summary
and doctor's findings."""

from __future__ import annotations

import logging
import re

import click
import pytest
from click.testing import CliRunner

from extract.errors import RequestRejected
from flows.cli_support import NorceGroup
from flows.doctor import Check, render_checks
from flows.render import Section, sections_text
from flows.terminal import TerminalSafeFormatter, terminal_safe, terminal_safe_block

HOSTILE = "bad \x1b[2J\x1b[31mred\x1b]0;title\x07 \x9b1m\u202eevil\r\nerror: forged -- all fine\n"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _inert(text: str) -> None:
    assert not CONTROL.search(text), repr(text)
    assert not any(line.startswith("error: forged") for line in text.split("\n")), text


def test_control_characters_become_visible_escapes() -> None:
    safe = terminal_safe(HOSTILE)
    assert "\n" not in safe and "\r" not in safe
    _inert(safe)
    assert "\\x1b[2J" in safe and "\\r\\nerror: forged" in safe and "\\u202e" in safe


def test_printable_text_is_unchanged() -> None:
    text = "Östra Långgatan 33, 100 € -- tab\tstays a space"
    assert terminal_safe(text) == text.replace("\t", " ")


def test_a_block_keeps_its_lines_but_no_line_passes_for_the_error_line() -> None:
    block = terminal_safe_block("Traceback:\n  frame\nerror: looks like ours\x1b[0m")
    assert block.split("\n") == ["Traceback:", "  frame", "  error: looks like ours\\x1b[0m"]


def _cli_with(exc: BaseException) -> click.Group:
    @click.group(cls=NorceGroup)
    def cli() -> None:
        pass

    @cli.command()
    def boom() -> None:
        raise exc

    return cli


@pytest.mark.parametrize(
    "exc",
    [
        RequestRejected(f"request rejected: {HOSTILE}", status=400, hint="check it"),
        RuntimeError(HOSTILE),
    ],
    ids=["extract-error", "unexpected"],
)
def test_the_cli_error_line_is_one_inert_line(exc: BaseException) -> None:
    result = CliRunner().invoke(_cli_with(exc), ["boom"], catch_exceptions=False)
    assert result.exit_code in (4, 1)
    _inert(result.output)
    assert len([ln for ln in result.output.splitlines() if ln.startswith("error:")]) == 1


def test_log_lines_are_one_inert_line_each() -> None:
    formatter = TerminalSafeFormatter("%(levelname)s %(message)s")
    record = logging.LogRecord("extract.x", logging.WARNING, __file__, 1, "%s: %s", None, None)
    record.args = ("Orders/Orders", HOSTILE)
    text = formatter.format(record)
    assert "\n" not in text
    _inert(text)
    assert record.getMessage().endswith("all fine\n"), "the record itself is left as it was"


def test_a_logged_traceback_stays_readable_and_inert() -> None:
    formatter = TerminalSafeFormatter("%(message)s")
    try:
        raise ValueError(HOSTILE)
    except ValueError:
        record = logging.LogRecord(
            "flows", logging.ERROR, __file__, 1, "failed", None, __import__("sys").exc_info()
        )
    text = formatter.format(record)
    assert text.startswith("failed\nTraceback")
    _inert(text)


def test_the_run_summary_shows_server_text_inert() -> None:
    section = Section(
        "Extract by entity set", ("entity set", "status"), [("Orders/Orders", HOSTILE)]
    )
    section.notes.append(f"error: {HOSTILE}")
    text = sections_text([section])
    _inert(text)
    assert len([ln for ln in text.splitlines() if ln.startswith("error:")]) == 1


def test_doctor_findings_show_server_text_inert() -> None:
    text = render_checks([Check("Core/Applications", "fail", HOSTILE, 4)])
    _inert(text)

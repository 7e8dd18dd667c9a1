"""Text that came from elsewhere, made safe to print on a terminal.

Error messages, warnings and report cells can carry text the API sent (an OData
``error.message``, a body excerpt). A server that puts escape codes or line breaks in it
could clear the screen, recolour it, or print a line of its own that looks like ours
(``error: ...``). :func:`terminal_safe` turns every control character into a visible
escape, so one message stays one line and nothing in it acts on the terminal. The loader
applies it where it builds messages from server text (:mod:`extract.redact`, so Prefect logs
and artifacts are clean too); the CLI applies it again where it prints (the error line, log
lines, the run summary, doctor, status), for text from anywhere else.
"""

from __future__ import annotations

import logging

from extract.redact import terminal_safe, terminal_safe_block

__all__ = ["TerminalSafeFormatter", "terminal_safe", "terminal_safe_block"]


class TerminalSafeFormatter(logging.Formatter):
    """A log formatter whose message is one safe line (:func:`terminal_safe`); an attached
    traceback stays multi-line but is made safe with :func:`terminal_safe_block`."""

    def format(self, record: logging.LogRecord) -> str:
        msg, args = record.msg, record.args
        record.msg, record.args = terminal_safe(record.getMessage()), None
        try:
            text = super().format(record)
        finally:
            record.msg, record.args = msg, args
        head, sep, rest = text.partition("\n")
        return head + sep + terminal_safe_block(rest) if sep else head

"""Text that came from elsewhere, made safe to print on a terminal.

Error messages, warnings and report cells can carry text the API sent (an OData
``error.message``, a body excerpt). A server that puts escape codes or line breaks in it
could clear the screen, recolour it, or print a line of its own that looks like ours
(``error: ...``). :func:`terminal_safe` turns every control character into a visible
escape, so one message stays one line and nothing in it acts on the terminal. The CLI
applies it where it prints (the error line, log lines, the run summary, doctor, status).
"""

from __future__ import annotations

import logging
import re

__all__ = ["TerminalSafeFormatter", "terminal_safe", "terminal_safe_block"]

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f"  # C0 (escape, CR, LF, ...), DEL, C1 (CSI, OSC, ...)
    "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"  # bidi marks, separators
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": " "}


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` as one printable line: control characters become escapes like ``\\x1b``.

    Args:
        text: Any text, e.g. an error message that quotes a server reply.

    Returns:
        The same text without line breaks, escape sequences or bidi controls (each shown
        as a backslash escape instead); printable characters are unchanged.
    """
    return _UNSAFE.sub(_visible, text)


def terminal_safe_block(text: str) -> str:
    """Multi-line ``text`` (a traceback) made safe line by line.

    Line breaks are kept, but a line that would start like the CLI's own error line is
    indented, so text inside the block cannot pass for it.
    """
    lines = [terminal_safe(line) for line in text.split("\n")]
    return "\n".join("  " + line if line.startswith("error:") else line for line in lines)


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

"""Keep secrets out of messages and server text inert: :class:`Secret`, masking, scrubbing.

Every string that can reach a log line, an exception or a run report passes through
:func:`mask_url` or :func:`scrub`. Secrets are registered once where they enter the process
(settings loading, token acquisition) so any later message is scrubbed without the caller
having to know which secrets exist.

Text the server sent (an OData ``error.message``, an OAuth error, a body excerpt) can carry
escape codes and line breaks that would act on a terminal or forge a line of our own
(``error: ...``). :func:`terminal_safe` turns every control character into a visible
escape; the loader applies it where it builds a message from server text, so Prefect logs
and artifacts are clean too, and the CLI applies it again where it prints.
"""

from __future__ import annotations

import hmac
import logging
import re
import threading
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

__all__ = [
    "MASK",
    "RedactingFilter",
    "Secret",
    "mask_url",
    "redact_logger",
    "register_secret",
    "scrub",
    "terminal_safe",
    "terminal_safe_block",
]

MASK = "***"
"""What a hidden value is replaced with."""

_MIN_SECRET_LEN = 4
"""Shorter values are not registered: scrubbing ``"a"`` from every message would mangle text."""

# Query parameter names whose values are never shown. OData options ($filter, $top, ...)
# are not secret and are the most useful part of a URL in an error message.
_SECRET_PARAM = re.compile(
    r"(token|secret|password|passwd|pwd|api[-_]?key|apikey|signature|sig|code|auth|"
    r"credential|session|salt)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=-]+")
# A JWT: three base64url parts, the first starting with the encoded '{"'.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_FORM_SECRET = re.compile(r"(?i)\b(client_secret|access_token|refresh_token|password)=[^&\s]+")


@dataclass(frozen=True, repr=False, eq=False)
class Secret:
    """A credential that never shows its value in ``repr``, ``str`` or f-strings."""

    _value: str

    def reveal(self) -> str:
        """Return the secret itself; call only where it is sent (token request, hashing)."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))


_lock = threading.Lock()
_known: set[str] = set()

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


def register_secret(value: str | None) -> None:
    """Remember a secret value so :func:`scrub` removes it from any later text.

    Args:
        value: The secret (client secret, access token, salt). ``None``, empty and very short
            values are ignored.
    """
    if value is None or len(value) < _MIN_SECRET_LEN:
        return
    with _lock:
        _known.add(value)


def scrub(text: str) -> str:
    """Remove registered secrets, bearer tokens, JWTs and secret form fields from ``text``.

    Args:
        text: Any message about to be shown to a person or written to a log.

    Returns:
        The text with every secret replaced by ``***``.
    """
    with _lock:
        # Longest first, so a secret that contains another is removed whole.
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _JWT.sub(MASK, text)
    return _FORM_SECRET.sub(lambda m: f"{m.group(1)}={MASK}", text)


def mask_url(url: str | httpx.URL | None) -> str:
    """Return ``url`` safe to print: no userinfo password, secret-looking query values hidden.

    Args:
        url: An absolute or relative URL (``None`` gives an empty string).

    Returns:
        The URL with the password in ``user:password@`` and the values of query parameters
        named like secrets (``token``, ``client_secret``, ``api_key``, ...) replaced by
        ``***``; registered secrets anywhere else are scrubbed too.
    """
    if url is None:
        return ""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return scrub(text)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(_SECRET_PARAM.search(name) for name, _ in pairs):
            masked = [(n, MASK if _SECRET_PARAM.search(n) else v) for n, v in pairs]
            # '$' and ',' stay readable; OData options are the useful part of the URL.
            query = urlencode(masked, safe="$,'()*/:")
    return scrub(urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment)))


class RedactingFilter(logging.Filter):
    """Logging filter that scrubs secrets from a record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def redact_logger(name: str) -> None:
    """Scrub secrets from everything the named logger emits (idempotent).

    httpx logs every request URL at INFO; a URL given by the server (a nextLink) could carry
    a token, so its logger gets the same scrubbing as our own messages.
    """
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)

"""The one exception the OData engine raises, rendered as an OData error response."""

from __future__ import annotations

import orjson


class ODataError(Exception):
    """A request the service answers with an OData error body.

    Attributes:
        status: HTTP status code (400, 404, 405, 500, ...).
        code: short machine-readable code, e.g. ``"BadRequest"``.
        message: what was wrong, for a person.
    """

    def __init__(
        self, status: int, code: str, message: str, inner: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.inner = inner

    def body(self) -> bytes:
        """The JSON error body: ``{"error": {"code": ..., "message": ...}}``, plus
        ``innererror`` when the error has one."""
        return error_body(self.code, self.message, self.inner)


def bad_request(message: str) -> ODataError:
    """A 400 for a malformed or unsupported query."""
    return ODataError(400, "BadRequest", message)


def not_found(message: str) -> ODataError:
    """A 404 for an unknown namespace, entity set or key."""
    return ODataError(404, "NotFound", message)


def error_body(code: str, message: str, inner: dict[str, str] | None = None) -> bytes:
    """Encode an OData v4 JSON error body (``innererror`` only when given)."""
    error: dict[str, object] = {"code": code, "message": message}
    if inner is not None:
        error["innererror"] = inner
    return orjson.dumps({"error": error})


def query_not_valid(detail: str) -> ODataError:
    """The 400 ASP.NET OData's query validation answers: an empty code, the detail
    prefixed with "The query specified in the URI is not valid.", and an ``innererror``."""
    return ODataError(
        400,
        "",
        f"The query specified in the URI is not valid. {detail}",
        {"message": detail, "type": "Microsoft.OData.ODataException", "stacktrace": ""},
    )

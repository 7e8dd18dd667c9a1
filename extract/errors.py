"""Every error the pipeline shows a person, as one tree.

::

    PipelineError                     .message, .hint (what to do next), .exit_code
     +-- ExtractError                 the loader's errors
     |    +-- ConfigError             .problems: list[str]                      exit 2
     |    +-- RetryableError          .status, .retry_after, .url (masked)      exit 5
     |    |    +-- RateLimited (429)
     |    |    +-- ServerError (5xx)
     |    |    +-- NetworkError (timeout / reset / connect)
     |    |    +-- BadPayload (truncated / invalid JSON)
     |    +-- FatalError                                                        exit 4
     |    |    +-- AuthError (bad credentials; 401 that survives a refresh)     exit 3
     |    |    +-- RequestRejected (400/403/404/405; the OData error message)
     |    +-- BudgetExhausted         the run's request budget is spent         exit 0
     |    +-- DataContractError       missing key/cursor, incompatible drift    exit 6
     |    +-- StateError              warehouse locked by another run           exit 7
     |    +-- WarehouseError          path unwritable, disk full                exit 8
     +-- DbtFailed, RunFailed         (flows.errors) dbt failed / partitions failed

The library raises; the edge (flow, CLI) prints ``str(err)`` -- one actionable line: what
failed, for which entity set, at which masked URL, what to do next -- and exits with
``err.exit_code``, which each error instance carries (a class sets the usual code, an
instance may say otherwise). Inputs stay available as attributes. Messages pass through
:func:`extract.redact.scrub`, so a registered secret never reaches a person, and
:func:`extract.redact.terminal_safe`, so text quoted from the server stays one inert line
wherever the message goes (terminal, Prefect log, run report).

How an HTTP status or an httpx exception becomes one of these errors is decided in one
place, :mod:`extract.http.status`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import ClassVar

import httpx

from extract.redact import mask_url, scrub, terminal_safe

__all__ = [
    "AuthError",
    "BadPayload",
    "BudgetExhausted",
    "ConfigError",
    "DataContractError",
    "ExtractError",
    "FatalError",
    "NetworkError",
    "PipelineError",
    "RateLimited",
    "RequestRejected",
    "RetryableError",
    "ServerError",
    "StateError",
    "WarehouseError",
]


class PipelineError(Exception):
    """Base of every error the pipeline reports to a person as one line and an exit code.

    Attributes:
        message: What failed, in one sentence.
        hint: What to do next (may be empty).
        entity: The ``Namespace/EntitySet`` concerned, when there is one.
        url: The request URL, already masked.
        exit_code: The process exit code for this error (the class's usual code unless
            the instance was given another).
    """

    exit_code: int = 1
    default_hint: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        entity: str | None = None,
        url: str | httpx.URL | None = None,
        exit_code: int | None = None,
    ) -> None:
        self.message = _clean(message)
        self.hint = _clean(hint if hint is not None else self.default_hint)
        self.entity = entity
        self.url = mask_url(url) if url is not None else None
        if exit_code is not None:
            self.exit_code = exit_code
        super().__init__(self.message)

    def _details(self) -> list[str]:
        """Extra facts for the one-line message (status, attempts); subclasses add theirs."""
        return []

    def __str__(self) -> str:
        text = self.message
        if self.entity and self.entity not in text:
            text = f"{self.entity}: {text}"
        details = self._details()
        if details:
            text = f"{text} ({', '.join(details)})"
        if self.url:
            text = f"{text} at {self.url}"
        if self.hint:
            text = f"{text} -- {self.hint}"
        return _clean(text)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[Callable[..., PipelineError], tuple[object, ...]]:
        # Errors cross process boundaries (Prefect task results); keep the attributes.
        return _rebuild, (type(self), dict(self.__dict__))


def _clean(text: str) -> str:
    """No secret and no control character: messages may quote what the server sent."""
    return terminal_safe(scrub(text))


def _rebuild(cls: type[PipelineError], state: dict[str, object]) -> PipelineError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    return err


class ExtractError(PipelineError):
    """Base of the loader's errors (everything :mod:`extract` raises on purpose)."""


class ConfigError(ExtractError):
    """The configuration is invalid; ``problems`` lists every problem found, not just one.

    Attributes:
        problems: One line per problem, each naming the setting and how to fix it.
    """

    exit_code = 2

    def __init__(self, problems: Iterable[str], *, hint: str | None = None) -> None:
        self.problems = [_clean(p) for p in problems]
        count = len(self.problems)
        summary = "; ".join(self.problems) if self.problems else "unknown problem"
        noun = "problem" if count == 1 else "problems"
        super().__init__(
            f"invalid configuration ({count} {noun}): {summary}",
            hint=hint
            if hint is not None
            else "fix the settings above (environment, NORCE_CONFIG file or flags)",
        )


class RetryableError(ExtractError):
    """A request failed in a way that may succeed if repeated later.

    Attributes:
        status: HTTP status, or ``None`` when no response arrived.
        retry_after: Seconds the server asked us to wait, if it said.
        attempts: How many attempts were made before giving up (set by the client).
        payload: The response body that failed, when there was one (kept for quarantine,
            never put into the message).
    """

    exit_code = 5
    default_hint: ClassVar[str] = "transient failure; the run can be retried as is"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        attempts: int = 1,
        payload: bytes | None = None,
        hint: str | None = None,
        entity: str | None = None,
        url: str | httpx.URL | None = None,
    ) -> None:
        super().__init__(message, hint=hint, entity=entity, url=url)
        self.status = status
        self.retry_after = retry_after
        self.attempts = attempts
        self.payload = payload

    def _details(self) -> list[str]:
        details = []
        if self.status is not None:
            details.append(f"HTTP {self.status}")
        if self.attempts > 1:
            details.append(f"after {self.attempts} attempts")
        return details


class RateLimited(RetryableError):
    """HTTP 429: the API asked us to slow down (``retry_after`` says for how long)."""

    default_hint: ClassVar[str] = (
        "the API is rate limiting this client; lower NORCE_MAX_RPS / NORCE_MAX_INFLIGHT "
        "or run less often"
    )


class ServerError(RetryableError):
    """HTTP 5xx: the service or a gateway failed."""

    default_hint: ClassVar[str] = (
        "the service failed; it is retried with backoff, and a page that keeps failing is "
        "shrunk until the bad record is quarantined"
    )


class NetworkError(RetryableError):
    """No usable response: connect failure, timeout, connection reset."""

    default_hint: ClassVar[str] = (
        "check NORCE_BASE_URL, DNS and network access to the host; raise NORCE_TIMEOUT_S "
        "if replies are slow"
    )


class BadPayload(RetryableError):
    """The response arrived but its body is truncated or not valid JSON."""

    default_hint: ClassVar[str] = (
        "the body was truncated or malformed; it is retried, then isolated and quarantined"
    )


class FatalError(ExtractError):
    """Repeating the same request will not help."""

    exit_code = 4


class AuthError(FatalError):
    """Credentials were refused, or a 401 survived one token refresh."""

    exit_code = 3
    default_hint: ClassVar[str] = (
        "check NORCE_CLIENT_ID/NORCE_CLIENT_SECRET and that the integration user may use "
        "the configured scope (NORCE_SCOPE) and application"
    )


class RequestRejected(FatalError):
    """HTTP 400/403/404/405 (and other client errors): the request itself is wrong.

    Attributes:
        status: HTTP status.
        odata_message: ``error.message`` from the OData error body, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        odata_message: str | None = None,
        hint: str | None = None,
        entity: str | None = None,
        url: str | httpx.URL | None = None,
    ) -> None:
        super().__init__(message, hint=hint, entity=entity, url=url)
        self.status = status
        self.odata_message = _clean(odata_message) if odata_message is not None else None

    def _details(self) -> list[str]:
        return [f"HTTP {self.status}"]


class BudgetExhausted(ExtractError):
    """The run's request budget is spent. Not a failure: the run stops cleanly and the
    next run resumes from the committed state."""

    exit_code = 0
    default_hint: ClassVar[str] = (
        "the next run resumes from the last committed batch; raise NORCE_REQUEST_BUDGET "
        "to do more per run"
    )


class DataContractError(ExtractError):
    """The data breaks the raw-table contract: missing key or cursor, incompatible drift,
    a pager that does not advance."""

    exit_code = 6


class StateError(ExtractError):
    """Warehouse bookkeeping is unusable: locked by another run, or inconsistent state."""

    exit_code = 7


class WarehouseError(ExtractError):
    """The warehouse file cannot be written: bad path, permissions, disk full."""

    exit_code = 8

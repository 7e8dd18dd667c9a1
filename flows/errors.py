"""How a whole pipeline run fails, and the exit code each failure maps to.

The loader's errors (:mod:`extract.errors`) carry their own exit codes; the two here describe
outcomes only the flow sees: some partitions failed, or ``dbt build`` failed. They are
:class:`~extract.errors.PipelineError`\\ s -- shown to a person as one line with an exit
code -- but not loader (``ExtractError``) errors.
"""

from __future__ import annotations

from typing import Any, ClassVar

from extract.errors import PipelineError

__all__ = ["PARTIAL_EXIT_CODE", "DbtFailed", "RunFailed", "exit_code_for"]

PARTIAL_EXIT_CODE = 10
"""Some partitions loaded and some failed, or some entity sets were skipped (the rest was
loaded, built and published)."""


class RunFailed(PipelineError):
    """Partitions failed; the rest of the run's work is committed (and published).

    ``exit_code`` is :data:`PARTIAL_EXIT_CODE` when some partitions succeeded, else the
    failures' own code (10 too when they differ).

    Attributes:
        report: The run report (``flows.report.RunReport``), for the caller to print.
    """

    exit_code = PARTIAL_EXIT_CODE
    default_hint: ClassVar[str] = (
        "the loaded partitions are committed; fix the cause above and run again -- the "
        "failed ones resume from their last committed batch"
    )

    def __init__(
        self, message: str, *, exit_code: int, report: object = None, hint: str | None = None
    ) -> None:
        super().__init__(message, exit_code=exit_code, hint=hint)
        self.report = report

    def __reduce__(self) -> tuple[Any, tuple[object, ...]]:
        # The report stays in this process (it holds locks); the message and code travel.
        state = {k: v for k, v in self.__dict__.items() if k != "report"}
        return _rebuild_without_report, (type(self), state)


class DbtFailed(PipelineError):
    """``dbt build`` failed (a model errored or a test failed); nothing was published.

    Attributes:
        report: The run report, for the caller to print.
    """

    exit_code = 9
    default_hint: ClassVar[str] = (
        "the raw data is loaded but the published warehouse was left as it was; see the "
        "failing nodes above, fix them and run `norce-wh run` again (it loads only changes)"
    )

    def __init__(self, message: str, *, report: object = None) -> None:
        super().__init__(message)
        self.report = report

    def __reduce__(self) -> tuple[Any, tuple[object, ...]]:
        state = {k: v for k, v in self.__dict__.items() if k != "report"}
        return _rebuild_without_report, (type(self), state)


def _rebuild_without_report(cls: type[PipelineError], state: dict[str, object]) -> PipelineError:
    err = cls.__new__(cls)
    Exception.__init__(err, state.get("message", ""))
    err.__dict__.update(state)
    err.__dict__["report"] = None
    return err


def exit_code_for(exc: BaseException) -> int:
    """The process exit code for an exception that ended a command (1 if unexpected)."""
    if isinstance(exc, PipelineError):
        return exc.exit_code
    return 1

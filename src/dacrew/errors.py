"""The three kinds of error dacrew knows, and what each one means for the caller.

* :class:`ToolError` — the model should retry: a message it can act on (bad selector, unknown table).
* :class:`UserError` — the person must fix their input (plan, config, arguments): one sentence, located
  as ``path:line: message`` where we know the place, exit code 2 and never a traceback.
* :class:`RunError` — something ended a run: carries the run id and the task.

:class:`GuardRefused` and :class:`ApprovalRequired` are raised by the safety guards; both stop the
request (exit 3 through ``dacrew tools call``); inside a run, a refusal is reported to the model and an
approval request becomes a LangGraph interrupt.
"""

from __future__ import annotations

from typing import Any


class DacrewError(Exception):
    """Base class of every error dacrew raises on purpose."""

    exit_code: int = 1


class UserError(DacrewError):
    """Input the person must fix: a plan, a config file, a command-line argument."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        if self.line is None:
            return f"{self.path}: {self.message}"
        return f"{self.path}:{self.line}: {self.message}"


class ToolError(DacrewError):
    """A tool failed in a way the model can act on; the message is what the model reads."""

    exit_code = 1


class GuardRefused(DacrewError):
    """A safety guard refused the request outright, whatever the caller's permissions."""

    exit_code = 3

    def __init__(self, message: str, *, rule: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.rule = rule


class ApprovalRequired(DacrewError):
    """The request is allowed only with a person's approval of exactly this request.

    ``digest`` names the request (tool, arguments, target); an approval covers that digest and no other.
    """

    exit_code = 3

    def __init__(self, message: str, *, digest: str, action: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.digest = digest
        self.action = action
        self.detail = dict(detail or {})


class RunError(DacrewError):
    """Something ended a run."""

    exit_code = 1

    def __init__(self, message: str, *, run_id: str | None = None, task: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.run_id = run_id
        self.task = task


class BudgetExceeded(RunError):
    """The run's USD budget was reached; no new work starts."""

    exit_code = 4

"""One problem found in a plan: where (path, 1-based line), how bad (error or warning), a stable code
and one sentence.

Codes (stable, for ``plan validate --json``): ``empty``, ``no-tasks``, ``malformed-task``,
``heading-level``, ``no-title``, ``mixed-formats``, ``field-twice``, ``empty-owner``, ``bad-dependency``,
``check-shape``, ``duplicate-id``, ``self-dependency``, ``unknown-dependency``, ``cycle``, ``no-owner``,
``unknown-owner``, ``no-acceptance``, ``check-kind``, ``integration-point``, ``placeholder``,
``parallel-example``, ``overlapping-files``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dacrew.errors import UserError
from dacrew.plan.model import PlanDiagnostic

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Diagnostic:
    severity: Severity
    message: str
    path: str
    line: int
    code: str = ""

    def __str__(self) -> str:
        kind = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {kind}{self.message}"

    def to_error(self) -> UserError:
        return UserError(self.message, path=self.path, line=self.line)

    def record(self) -> PlanDiagnostic:
        """As the plan's JSON carries it: ``{path, line, severity, code, message}``."""
        return PlanDiagnostic(
            path=self.path, line=self.line, severity=self.severity, code=self.code, message=self.message
        )


class FieldProblem(ValueError):
    """A field's value does not parse; the parser records it at the field's line."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

"""What every check kind shares: the check as written, its three outcomes, and calling a tool."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dacrew.findings.format import CheckResult
from dacrew.tools.base import ToolContext

OUTPUT_CHARS = 2_000


@dataclass(frozen=True)
class CheckSpec:
    """One check, ``kind: argument`` as written in a plan or proposed by an agent."""

    kind: str
    argument: str


def clip(text: str) -> str:
    return text if len(text) <= OUTPUT_CHARS else text[:OUTPUT_CHARS] + "…"


def passed(kind: str, argument: str, output: str) -> CheckResult:
    return CheckResult(kind=kind, argument=argument, outcome="passed", output=clip(output))


def failed(kind: str, argument: str, output: str) -> CheckResult:
    return CheckResult(kind=kind, argument=argument, outcome="failed", output=clip(output))


def unverified(kind: str, argument: str, reason: str) -> CheckResult:
    return CheckResult(kind=kind, argument=argument, outcome="unverified", output=clip(reason))


def verdict(kind: str, argument: str, ok: bool, output: str) -> CheckResult:
    return (passed if ok else failed)(kind, argument, output)


def call_tool(ctx: ToolContext, name: str, args: dict[str, Any]) -> Any:
    """Call a registered tool the way an agent does (argument validation, guards, redaction)."""
    from dacrew.tools.registry import get

    return get(name).call(ctx, args)

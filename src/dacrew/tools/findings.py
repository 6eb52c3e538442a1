"""The findings toolset: read any task's finding, list them all. Read-only: an agent's own finding is
written by the parent from its ``complete_task`` result, never through a tool."""

from __future__ import annotations

from pydantic import BaseModel, Field

from dacrew.errors import ToolError, UserError
from dacrew.findings.format import render
from dacrew.findings.store import FindingsStore
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool


class FindingsReadArgs(ToolArgs):
    task: str = Field(description="The task id whose finding to read, e.g. T004.")


class FindingsReadResult(ToolResult):
    task: str
    status: str
    title: str = ""
    owner: str = ""
    markdown: str = Field(description="The whole finding: front matter and sections.")


@tool("findings")
def findings_read(ctx: ToolContext, args: FindingsReadArgs) -> FindingsReadResult:
    """Read the finding of a task (its status, summary, artifacts, checks and next steps).

    Use it for tasks beyond your direct dependencies; their findings are already in your brief."""
    store = FindingsStore(ctx.project_dir)
    try:
        finding = store.read(args.task.strip())
    except UserError as exc:
        raise ToolError(f"findings_read: {exc}") from None
    if finding is None:
        known = ", ".join(store.all()) or "none yet"
        raise ToolError(f"no finding for task {args.task!r} (findings exist for: {known})")
    return FindingsReadResult(
        task=finding.task, status=finding.status, title=finding.title, owner=finding.owner, markdown=render(finding)
    )


class FindingsListArgs(ToolArgs):
    pass


class FindingSummary(BaseModel):
    task: str
    title: str
    owner: str
    status: str
    summary: str


class FindingsListResult(ToolResult):
    findings: list[FindingSummary]


@tool("findings")
def findings_list(ctx: ToolContext, args: FindingsListArgs) -> FindingsListResult:
    """List every task that has a finding: id, title, owner, status and the first line of its summary."""
    try:
        found = FindingsStore(ctx.project_dir).all()
    except UserError as exc:
        raise ToolError(f"findings_list: {exc}") from None
    return FindingsListResult(
        findings=[
            FindingSummary(
                task=f.task,
                title=f.title,
                owner=f.owner,
                status=f.status,
                summary=(f.summary.strip().splitlines() or [""])[0],
            )
            for f in found.values()
        ]
    )

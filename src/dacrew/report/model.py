"""What a run did, read back from its event log and findings: a typed :class:`RunReport`, and its JSON and
form (JUnit is :mod:`dacrew.report.junit`, the HTML page :mod:`dacrew.report.html`).

:class:`~dacrew.report.tally.RunTally` folds events one at a time; :func:`build_report` uses it after the run and the live
board uses it during the run, so both tell the same story. A task's finding, when there is one, is the
record of its final status, times and checks; the events fill in what a finding does not hold (every
attempt's span, per-agent usage) and stand in for a finding that was never written.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from dacrew.findings.format import CheckResult, Finding, Usage
from dacrew.plan.model import TaskPlan
from dacrew.report.records import (
    ApprovalRecord,
    FallbackCall,
    PendingItem,
    Span,
    ToolCallRecord,
    parse_ts,
    seconds_between,
)
from dacrew.report.tally import RunTally, TaskTally

__all__ = [
    "AgentReport",
    "ApprovalRecord",
    "FallbackCall",
    "PendingItem",
    "RunReport",
    "RunTally",
    "Span",
    "TaskReport",
    "TaskTally",
    "Tokens",
    "ToolCallRecord",
    "build_report",
    "parse_ts",
    "report_json",
    "seconds_between",
    "write_json",
]

REPORT_VERSION = 1


# -- the report model ------------------------------------------------------------------------------


class Tokens(BaseModel):
    """Token counts; ``input`` includes the cached ones (LangChain's convention)."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0

    @property
    def total(self) -> int:
        return self.input + self.output

    @classmethod
    def of(cls, usage: Usage) -> Tokens:
        return cls(
            input=usage.input_tokens,
            output=usage.output_tokens,
            cache_read=usage.cache_read_tokens,
            cache_write=usage.cache_write_tokens,
        )


class TaskReport(BaseModel):
    id: str
    title: str = ""
    phase: str = ""
    owners: list[str] = Field(default_factory=list[str])
    owner: str = ""
    """Who worked on it (the lead owner unless the events or the finding say otherwise)."""
    dependencies: list[str] = Field(default_factory=list[str])
    status: str = "pending"
    started: str | None = None
    finished: str | None = None
    duration_s: float | None = None
    attempts: int = 0
    tokens: Tokens = Field(default_factory=Tokens)
    usd: float = 0.0
    estimated: bool = False
    """The tokens are estimated (a replayed cassette without usage); ``estimated_usd`` prices them."""
    estimated_usd: float = 0.0
    model_calls: int = 0
    checks: list[CheckResult] = Field(default_factory=list[CheckResult])
    error: str = ""
    question: str = ""
    """The open question when the task waits for input."""
    spans: list[Span] = Field(default_factory=list[Span])
    tool_problems: list[str] = Field(default_factory=list[str])
    """Tool calls that were refused, denied or failed — visible even when the task completed."""
    done_in_plan: bool = False
    """The plan marks the task done (``- [x]``) and the run did not run it."""
    finding: str = ""
    """The task's finding, relative to the project folder (``findings/T001.md``); empty when none."""
    artifacts: list[str] = Field(default_factory=list[str])
    """What the task produced, relative to the project folder (from its finding)."""
    tool_calls: list[ToolCallRecord] = Field(default_factory=list[ToolCallRecord])
    approvals: list[ApprovalRecord] = Field(default_factory=list[ApprovalRecord])

    @property
    def unverified(self) -> list[CheckResult]:
        """The checks that could not reach a verdict (their output says why)."""
        return [c for c in self.checks if c.outcome == "unverified"]


class AgentReport(BaseModel):
    agent: str
    model_calls: int = 0
    tool_calls: int = 0
    tokens: Tokens = Field(default_factory=Tokens)
    usd: float = 0.0
    estimated: bool = False
    estimated_usd: float = 0.0


class RunReport(BaseModel):
    version: int = REPORT_VERSION
    run_id: str = ""
    feature: str = ""
    plan: str = ""
    status: str = "running"
    """completed | failed | paused | budget, or ``running`` when the log has no end (a crash)."""
    exit_code: int | None = None
    started: str | None = None
    finished: str | None = None
    makespan_s: float | None = None
    """From the first task's start to the last task's finish."""
    wall_s: float | None = None
    """From the run's start to its end, pauses between resumes included."""
    model: str = ""
    max_parallel: int | None = None
    dry_run: bool = False
    headless: bool = False
    tokens: Tokens = Field(default_factory=Tokens)
    usd: float = 0.0
    estimated: bool = False
    """Some tokens are estimated; ``estimated_usd`` is what they would cost (not part of ``usd``)."""
    estimated_usd: float = 0.0
    agents: list[AgentReport] = Field(default_factory=list[AgentReport])
    counts: dict[str, int] = Field(default_factory=dict[str, int])
    """Tasks by status."""
    check_counts: dict[str, int] = Field(default_factory=dict[str, int])
    """The final checks of every task by outcome: passed, failed, unverified."""
    pending: list[PendingItem] = Field(default_factory=list[PendingItem])
    gates: dict[str, str] = Field(default_factory=dict[str, str])
    """Phase gates by phase: waiting | approved | denied (runs with ``--gate phases``)."""
    tasks: list[TaskReport] = Field(default_factory=list[TaskReport])
    fallback_calls: list[FallbackCall] = Field(default_factory=list[FallbackCall])
    """Model calls answered by ``models.fallback`` after repeated overloads."""
    sessions: list[Span] = Field(default_factory=list[Span])
    """The stretches the run was running (start or resume to stop, pause or finish); between two, the
    run was stopped."""


# -- building the report ---------------------------------------------------------------------------


def _current(finding: Finding | None, tally: TaskTally | None, run_id: str) -> Finding | None:
    """The finding, unless it is left over from another run and this run has already touched the task."""
    if finding is None:
        return None
    stale = bool(finding.run_id and run_id and finding.run_id != run_id and tally and tally.spans)
    return None if stale else finding


def _task_report(task_id: str, plan: TaskPlan, tally: TaskTally | None, finding: Finding | None) -> TaskReport:
    task = plan.task(task_id)
    t = tally or TaskTally()
    status = finding.status if finding is not None else t.status
    started = (finding.started if finding else None) or t.started
    finished = (finding.finished if finding else None) or t.finished
    if status in ("pending", "in_progress", "verifying"):
        finished = None
    if t.spans:
        attempts = max(t.attempt, finding.attempt if finding else 0)
    else:
        attempts = finding.attempt if finding and finding.started else 0
    usage = t.usage
    if not (usage.total_tokens or usage.usd) and finding is not None:
        usage = finding.usage
    checks = list(finding.checks) if finding and finding.checks else list(t.checks)
    error = t.error
    if status == "failed" and not error:
        failed = [f"check {c.kind}: {c.argument} {c.outcome}" for c in checks if not c.passed]
        error = "; ".join(failed)
    return TaskReport(
        id=task.id,
        title=task.title,
        phase=task.phase,
        owners=list(task.owners),
        owner=(finding.owner if finding else "") or t.agent or task.lead,
        dependencies=list(task.dependencies),
        status=status,
        started=started,
        finished=finished,
        duration_s=seconds_between(started, finished),
        attempts=attempts,
        tokens=Tokens.of(usage),
        usd=round(usage.usd, 6),
        estimated=usage.estimated,
        estimated_usd=round(usage.estimated_usd, 6),
        model_calls=t.calls,
        checks=checks,
        error=error,
        question=t.question or (t.approval if status == "needs_input" else ""),
        spans=[s.model_copy() for s in t.spans],
        tool_problems=list(t.tool_problems),
        done_in_plan=task.done and status == "completed" and not t.spans,
        finding=f"findings/{task.id}.md" if finding is not None else "",
        artifacts=list(finding.artifacts) if finding is not None else [],
        tool_calls=[c.model_copy() for c in t.tool_calls],
        approvals=[a.model_copy() for a in t.approvals],
    )


def _makespan(tasks: list[TaskReport]) -> float | None:
    worked = [t for t in tasks if t.started]  # a task skipped without starting has a finish only
    starts = [s for s in (parse_ts(t.started) for t in worked) if s is not None]
    ends = [e for e in (parse_ts(t.finished) for t in worked) if e is not None]
    if not starts or not ends:
        return None
    return round(max(0.0, (max(ends) - min(starts)).total_seconds()), 3)


def build_report(plan: TaskPlan, events: list[dict[str, Any]], findings: Mapping[str, Finding]) -> RunReport:
    """The report of one run: its events folded in order, each plan task's finding laid over them."""
    run = RunTally().apply_all(events)
    tasks = [
        _task_report(
            task.id, plan, run.tasks.get(task.id), _current(findings.get(task.id), run.tasks.get(task.id), run.run_id)
        )
        for task in plan.tasks
    ]
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task.status] = counts.get(task.status, 0) + 1
    check_counts: dict[str, int] = {}
    for task in tasks:
        for check in task.checks:
            check_counts[check.outcome] = check_counts.get(check.outcome, 0) + 1
    usage = run.usage
    if not run.agents and not (usage.total_tokens or usage.usd):
        # No events carried usage (a report from findings alone): the findings' own figures.
        for task in tasks:
            usage = usage + Usage(
                input_tokens=task.tokens.input,
                output_tokens=task.tokens.output,
                cache_read_tokens=task.tokens.cache_read,
                cache_write_tokens=task.tokens.cache_write,
                usd=task.usd,
                estimated=task.estimated,
                estimated_usd=task.estimated_usd,
            )
    agents = [
        AgentReport(
            agent=name,
            model_calls=a.model_calls,
            tool_calls=a.tool_calls,
            tokens=Tokens.of(a.usage),
            usd=round(a.usage.usd, 6),
            estimated=a.usage.estimated,
            estimated_usd=round(a.usage.estimated_usd, 6),
        )
        for name, a in sorted(
            run.agents.items(), key=lambda item: (-item[1].usage.usd, -item[1].usage.estimated_usd, item[0])
        )
    ]
    return RunReport(
        run_id=run.run_id,
        feature=run.feature or plan.feature,
        plan=run.plan or plan.path,
        status=run.status,
        exit_code=run.exit_code,
        started=run.started,
        finished=run.finished,
        makespan_s=_makespan(tasks),
        wall_s=seconds_between(run.started, run.finished),
        model=run.model,
        max_parallel=run.max_parallel,
        dry_run=run.dry_run,
        headless=run.headless,
        tokens=Tokens.of(usage),
        usd=round(usage.usd, 6),
        estimated=usage.estimated,
        estimated_usd=round(usage.estimated_usd, 6),
        agents=agents,
        counts=counts,
        check_counts=check_counts,
        pending=list(run.pending) if run.status == "paused" else [],
        gates=dict(run.gates),
        tasks=tasks,
        fallback_calls=list(run.fallback_calls),
        sessions=[s.model_copy() for s in run.sessions],
    )


# -- JSON --------------------------------------------------------------------------------


def report_json(report: RunReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


def write_json(report: RunReport, path: Path | str) -> Path:
    """``--report-json``: the whole report; per task its status, owner, started, finished, attempts,
    tokens and checks."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(report_json(report), encoding="utf-8")
    return target

"""What a run did, read back from its event log and findings: a typed :class:`RunReport`, and its JSON and
JUnit forms (the HTML page is :mod:`dacrew.findings.report_html`).

:class:`RunTally` folds events one at a time; :func:`build_report` uses it after the run and the live
board uses it during the run, so both tell the same story. A task's finding, when there is one, is the
record of its final status, times and checks; the events fill in what a finding does not hold (every
attempt's span, per-agent usage) and stand in for a finding that was never written.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from pydantic import BaseModel, Field

from dacrew.findings.format import CheckResult, Finding, Usage
from dacrew.graph.plan_model import TaskPlan

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


class Span(BaseModel):
    """One stretch of work on a task: an attempt, or the part of one before a pause or a crash."""

    attempt: int
    started: str
    finished: str | None = None
    status: str = "in_progress"
    """The status the span ended with; ``interrupted`` when the run stopped under it."""


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
    model_calls: int = 0
    checks: list[CheckResult] = Field(default_factory=list[CheckResult])
    error: str = ""
    question: str = ""
    """The open question when the task waits for input."""
    spans: list[Span] = Field(default_factory=list[Span])


class AgentReport(BaseModel):
    agent: str
    model_calls: int = 0
    tool_calls: int = 0
    tokens: Tokens = Field(default_factory=Tokens)
    usd: float = 0.0


class PendingItem(BaseModel):
    task: str = ""
    kind: str = ""
    text: str = ""


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
    agents: list[AgentReport] = Field(default_factory=list[AgentReport])
    counts: dict[str, int] = Field(default_factory=dict[str, int])
    """Tasks by status."""
    pending: list[PendingItem] = Field(default_factory=list[PendingItem])
    tasks: list[TaskReport] = Field(default_factory=list[TaskReport])


# -- folding events --------------------------------------------------------------------------------


def parse_ts(value: object) -> datetime | None:
    """An event or finding timestamp as an aware datetime, or ``None`` when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.astimezone()


def seconds_between(start: str | None, end: str | None) -> float | None:
    a, b = parse_ts(start), parse_ts(end)
    if a is None or b is None:
        return None
    return round(max(0.0, (b - a).total_seconds()), 3)


def usage_of(value: object) -> Usage:
    """A ``usage`` field of an event, tolerating missing or unknown keys."""
    if not isinstance(value, Mapping):
        return Usage()
    data = cast(Mapping[str, Any], value)
    numbers: dict[str, Any] = {}
    for key in Usage.model_fields:
        raw = data.get(key)
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            numbers[key] = float(raw) if key == "usd" else int(raw)
    return Usage(**numbers)


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


@dataclass
class TaskTally:
    """What the events say about one task so far."""

    status: str = "pending"
    agent: str = ""
    attempt: int = 0
    started: str | None = None
    finished: str | None = None
    last_ts: str | None = None
    calls: int = 0
    calls_usage: Usage = field(default_factory=Usage)
    finished_usage: Usage = field(default_factory=Usage)
    checks: list[CheckResult] = field(default_factory=list[CheckResult])
    error: str = ""
    question: str = ""
    """The last question asked; cleared by its answer."""
    approval: str = ""
    """An approval waiting for a decision."""
    activity: str = ""
    """The tool in use, or ``thinking`` while a model call is out."""
    spans: list[Span] = field(default_factory=list[Span])

    @property
    def usage(self) -> Usage:
        # Per-call usage is the finest record; task_finished's covers runs whose calls were not logged.
        return self.calls_usage if self.calls else self.finished_usage


@dataclass
class AgentTally:
    model_calls: int = 0
    tool_calls: int = 0
    usage: Usage = field(default_factory=Usage)


@dataclass
class RunTally:
    """A run's events folded into its current state. Not thread-safe: callers serialise :meth:`apply`."""

    run_id: str = ""
    feature: str = ""
    plan: str = ""
    model: str = ""
    max_parallel: int | None = None
    dry_run: bool = False
    headless: bool = False
    planned_tasks: int | None = None
    status: str = "running"
    exit_code: int | None = None
    started: str | None = None
    finished: str | None = None
    last_ts: str | None = None
    final_usage: Usage | None = None
    untasked_usage: Usage = field(default_factory=Usage)
    tasks: dict[str, TaskTally] = field(default_factory=dict[str, TaskTally])
    agents: dict[str, AgentTally] = field(default_factory=dict[str, AgentTally])
    pending: list[PendingItem] = field(default_factory=list[PendingItem])
    gates: dict[str, str] = field(default_factory=dict[str, str])

    def task(self, task_id: str) -> TaskTally:
        return self.tasks.setdefault(task_id, TaskTally())

    def agent(self, name: str) -> AgentTally:
        return self.agents.setdefault(name or "unknown", AgentTally())

    @property
    def usage(self) -> Usage:
        """Each task's usage plus calls outside tasks; the run's own figure when no task reported any."""
        total = self.untasked_usage
        for tally in self.tasks.values():
            total = total + tally.usage
        if total.total_tokens or total.usd or self.final_usage is None:
            return total
        return self.final_usage

    def apply(self, event: Mapping[str, Any]) -> None:
        kind = _text(event.get("type"))
        ts = _text(event.get("ts")) or None
        self.last_ts = ts or self.last_ts
        handler = _HANDLERS.get(kind)
        if handler is None:
            return
        handler(self, event, ts)
        task_id = _text(event.get("task"))
        if task_id:
            # After the handler: a restart reads the time of the task's last event before it.
            tally = self.task(task_id)
            tally.last_ts = ts or tally.last_ts

    def apply_all(self, events: Iterable[Mapping[str, Any]]) -> RunTally:
        for event in events:
            self.apply(event)
        return self


def _run_started(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.run_id = _text(e.get("run_id")) or run.run_id
    run.feature = _text(e.get("feature")) or run.feature
    run.plan = _text(e.get("plan")) or run.plan
    run.model = _text(e.get("model")) or run.model
    parallel = e.get("max_parallel")
    run.max_parallel = parallel if isinstance(parallel, int) else run.max_parallel
    run.dry_run = bool(e.get("dry_run", run.dry_run))
    run.headless = bool(e.get("headless", run.headless))
    total = e.get("tasks")
    run.planned_tasks = total if isinstance(total, int) else run.planned_tasks
    run.started = run.started or ts
    run.status = "running"


def _run_resumed(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.run_id = _text(e.get("run_id")) or run.run_id
    run.started = run.started or ts
    run.status = "running"
    run.pending = []
    run.finished = None


def _task_started(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    t = run.task(_text(e.get("task")))
    if t.spans and t.spans[-1].finished is None:
        # Started again without a finish: the run stopped under it (a crash, a kill).
        previous = t.spans[-1]
        previous.finished = t.last_ts or previous.started
        previous.status = "interrupted"
    t.attempt = _int(e.get("attempt"), max(t.attempt, 1))
    t.agent = _text(e.get("owner")) or t.agent
    t.status = "in_progress"
    t.started = ts
    t.finished = None
    t.checks = []
    t.error = ""
    t.activity = ""
    if ts:
        t.spans.append(Span(attempt=t.attempt, started=ts))


def _model_call(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    if e.get("task"):
        run.task(_text(e.get("task"))).activity = "thinking"


def _model_response(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    usage = usage_of(e.get("usage"))
    agent = run.agent(_text(e.get("agent")))
    agent.model_calls += 1
    agent.usage = agent.usage + usage
    task_id = _text(e.get("task"))
    if not task_id:
        run.untasked_usage = run.untasked_usage + usage
        return
    t = run.task(task_id)
    t.calls += 1
    t.calls_usage = t.calls_usage + usage
    t.activity = ""


def _tool_call(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.agent(_text(e.get("agent"))).tool_calls += 1
    if e.get("task"):
        run.task(_text(e.get("task"))).activity = _text(e.get("tool"))


def _tool_result(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    if e.get("task"):
        run.task(_text(e.get("task"))).activity = ""


def _question(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.task(_text(e.get("task"))).question = _text(e.get("question"))


def _answer(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.task(_text(e.get("task"))).question = ""


def _approval_requested(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    message = _text(e.get("message")) or _text(e.get("action"))
    run.task(_text(e.get("task"))).approval = f"{_text(e.get('tool'))}: {message}".strip(": ")


def _approval(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.task(_text(e.get("task"))).approval = ""


def _check(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    t = run.task(_text(e.get("task")))
    t.checks.append(
        CheckResult(
            kind=_text(e.get("kind")),
            argument=_text(e.get("argument")),
            passed=bool(e.get("passed")),
            output=_text(e.get("output")),
        )
    )
    if t.status == "in_progress":
        t.status = "verifying"


def _task_finished(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    t = run.task(_text(e.get("task")))
    t.status = _text(e.get("status")) or "failed"
    t.attempt = _int(e.get("attempt"), t.attempt)
    t.finished = ts
    t.finished_usage = t.finished_usage + usage_of(e.get("usage"))
    t.error = _text(e.get("error"))
    t.activity = ""
    if t.status != "needs_input":
        t.question = ""
    if t.spans and t.spans[-1].finished is None:
        t.spans[-1].finished = ts
        t.spans[-1].status = t.status


def _gate(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.gates[_text(e.get("phase"))] = _text(e.get("status"))


def _run_paused(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.status = "paused"
    raw = e.get("pending")
    items = cast(list[Any], raw) if isinstance(raw, list) else []
    run.pending = [
        PendingItem(task=_text(i.get("task")), kind=_text(i.get("kind")), text=_text(i.get("text")))
        for i in (cast(Mapping[str, Any], item) for item in items if isinstance(item, Mapping))
    ]


def _run_finished(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.status = _text(e.get("status")) or run.status
    code = e.get("exit_code")
    run.exit_code = code if isinstance(code, int) else run.exit_code
    run.finished = ts
    if "usage" in e:
        run.final_usage = usage_of(e.get("usage"))


_HANDLERS = {
    "run_started": _run_started,
    "run_resumed": _run_resumed,
    "task_started": _task_started,
    "model_call": _model_call,
    "model_response": _model_response,
    "tool_call": _tool_call,
    "tool_result": _tool_result,
    "question": _question,
    "answer": _answer,
    "approval_requested": _approval_requested,
    "approval": _approval,
    "check": _check,
    "task_finished": _task_finished,
    "gate": _gate,
    "run_paused": _run_paused,
    "run_finished": _run_finished,
}


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
        failed = [f"check {c.kind}: {c.argument} failed" for c in checks if not c.passed]
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
        model_calls=t.calls,
        checks=checks,
        error=error,
        question=t.question or (t.approval if status == "needs_input" else ""),
        spans=[s.model_copy() for s in t.spans],
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
            )
    agents = [
        AgentReport(
            agent=name,
            model_calls=a.model_calls,
            tool_calls=a.tool_calls,
            tokens=Tokens.of(a.usage),
            usd=round(a.usage.usd, 6),
        )
        for name, a in sorted(run.agents.items(), key=lambda item: (-item[1].usage.usd, item[0]))
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
        agents=agents,
        counts=counts,
        pending=list(run.pending) if run.status == "paused" else [],
        tasks=tasks,
    )


# -- JSON and JUnit --------------------------------------------------------------------------------


def report_json(report: RunReport) -> str:
    return report.model_dump_json(indent=2) + "\n"


def write_json(report: RunReport, path: Path | str) -> Path:
    """``--report-json``: the whole report; per task its status, owner, started, finished, attempts,
    tokens and checks."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(report_json(report), encoding="utf-8")
    return target


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    # XML 1.0 cannot hold most control characters, even escaped; tool output sometimes does.
    return _XML_ILLEGAL.sub("?", text)


def _secs(value: float | None) -> str:
    return f"{value or 0.0:.3f}"


def _failure_text(task: TaskReport) -> str:
    parts = [task.error] if task.error else []
    for check in task.checks:
        if not check.passed:
            parts.append(f"check {check.kind}: {check.argument} failed\n{check.output}".rstrip())
    return "\n\n".join(parts)


def _system_out(task: TaskReport) -> str:
    lines = [
        f"owner: {task.owner}",
        f"attempts: {task.attempts}",
        f"tokens: {task.tokens.input} in, {task.tokens.output} out; usd: {task.usd:.4f}",
    ]
    lines += [f"check {c.kind}: {c.argument} {'passed' if c.passed else 'failed'}" for c in task.checks]
    return "\n".join(lines)


def _testcase(suite: ET.Element, report: RunReport, task: TaskReport) -> str:
    """Add the task's testcase; returns its outcome (passed | failure | error | skipped)."""
    case = ET.SubElement(
        suite,
        "testcase",
        name=_xml(f"{task.id}: {task.title}" if task.title else task.id),
        classname=_xml(f"dacrew.{report.feature or 'run'}.{task.phase or 'tasks'}"),
        time=_secs(task.duration_s),
    )
    outcome = "passed"
    if task.status == "failed":
        node = ET.SubElement(case, "failure", message=_xml(task.error.splitlines()[0] if task.error else "failed"))
        node.set("type", "failed")
        node.text = _xml(_failure_text(task))
        outcome = "failure"
    elif task.status == "needs_input":
        ET.SubElement(case, "skipped", message="waiting for input").text = _xml(task.question) or None
        outcome = "skipped"
    elif task.status == "skipped":
        ET.SubElement(case, "skipped", message=_xml(task.error or "a dependency did not complete"))
        outcome = "skipped"
    elif task.status == "pending":
        ET.SubElement(case, "skipped", message="not run")
        outcome = "skipped"
    elif task.status != "completed":
        ET.SubElement(case, "error", message=_xml(f"did not finish ({task.status})"), type="unfinished")
        outcome = "error"
    ET.SubElement(case, "system-out").text = _xml(_system_out(task))
    return outcome


def junit_xml(report: RunReport) -> str:
    """JUnit XML: one testsuite per phase, a testcase per task."""
    root = ET.Element("testsuites", name=_xml(f"dacrew {report.feature}".strip()))
    phases: dict[str, list[TaskReport]] = {}
    for task in report.tasks:
        phases.setdefault(task.phase or "Tasks", []).append(task)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for phase, tasks in phases.items():
        suite = ET.SubElement(root, "testsuite", name=_xml(phase))
        outcomes = [_testcase(suite, report, task) for task in tasks]
        counts = {
            "tests": len(outcomes),
            "failures": outcomes.count("failure"),
            "errors": outcomes.count("error"),
            "skipped": outcomes.count("skipped"),
        }
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", _secs(sum(t.duration_s or 0.0 for t in tasks)))
        first = min((t.started for t in tasks if t.started), default=None)
        if first:
            suite.set("timestamp", first)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _secs(report.makespan_s))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: RunReport, path: Path | str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit_xml(report), encoding="utf-8")
    return target


def write_html(report: RunReport, plan: TaskPlan, path: Path | str) -> Path:
    """One self-contained HTML page: header, DAG, timeline, costs and the task table."""
    from dacrew.findings.report_html import render_html

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(report, plan), encoding="utf-8")
    return target

"""A run's events folded into its state, one event at a time: what the live board shows and what the
run report is built from.

Events come from :class:`~dacrew.findings.events.EventLog`; unknown types and missing fields are
tolerated, so an older or newer log still folds.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from dacrew.findings.format import OUTCOMES, CheckResult, Outcome, Usage
from dacrew.report.records import ApprovalRecord, FallbackCall, PendingItem, Span, ToolCallRecord, usage_of
from dacrew.report.requests import describe_request


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
    tool_problems: list[str] = field(default_factory=list[str])
    """Tool calls that did not succeed (``warehouse_execute: refused``), in order."""
    tool_calls: list[ToolCallRecord] = field(default_factory=list[ToolCallRecord])
    approvals: list[ApprovalRecord] = field(default_factory=list[ApprovalRecord])

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
    fallback_calls: list[FallbackCall] = field(default_factory=list[FallbackCall])
    sessions: list[Span] = field(default_factory=list[Span])
    """Each stretch the run was running: from a start or resume to a stop, pause or finish (the gaps
    between them are when nobody ran it). ``status``: how the session ended."""

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
        if kind in ("run_started", "run_resumed") and self.sessions and self.sessions[-1].finished is None:
            # A new session while the last never ended: that one crashed at its last event.
            self.sessions[-1].finished = self.last_ts or self.sessions[-1].started
            self.sessions[-1].status = "crashed"
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
    _open_session(run, ts)


def _open_session(run: RunTally, ts: str | None) -> None:
    if ts:
        run.sessions.append(Span(attempt=len(run.sessions) + 1, started=ts))


def _close_session(run: RunTally, ts: str | None, status: str) -> None:
    if run.sessions and run.sessions[-1].finished is None:
        run.sessions[-1].finished = ts or run.sessions[-1].started
        run.sessions[-1].status = status


def _run_resumed(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.run_id = _text(e.get("run_id")) or run.run_id
    run.started = run.started or ts
    run.status = "running"
    run.pending = []
    run.finished = None
    _open_session(run, ts)


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
    if e.get("fallback"):
        call = FallbackCall(
            task=task_id, agent=_text(e.get("agent")), step=_int(e.get("step")), model=_text(e["fallback"])
        )
        run.fallback_calls.append(call)
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
        t = run.task(_text(e.get("task")))
        t.activity = _text(e.get("tool"))
        args = json.dumps(e.get("args", {}), ensure_ascii=False, default=str, separators=(", ", ": "))
        cut = args if len(args) <= 400 else args[:399] + "…"
        t.tool_calls.append(ToolCallRecord(agent=_text(e.get("agent")), tool=_text(e.get("tool")), args=cut))


def _tool_result(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    if e.get("task"):
        t = run.task(_text(e.get("task")))
        t.activity = ""
        status = _text(e.get("status"))
        if status and status != "ok":
            t.tool_problems.append(f"{_text(e.get('tool'))}: {status}")
        tool = _text(e.get("tool"))
        waiting = next((c for c in t.tool_calls if c.tool == tool and not c.status), None)
        if waiting is not None:
            waiting.status = status or "ok"


def _question(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.task(_text(e.get("task"))).question = _text(e.get("question"))


def _answer(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.task(_text(e.get("task"))).question = ""


def _approval_requested(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    message = _text(e.get("message")) or _text(e.get("action"))
    request = describe_request(e.get("request"), _text(e.get("digest")))
    text = f"{_text(e.get('tool'))}: {message}".strip(": ")
    t = run.task(_text(e.get("task")))
    t.approval = f"{text}\nrequest: {request}" if request else text
    t.approvals.append(
        ApprovalRecord(
            tool=_text(e.get("tool")),
            action=_text(e.get("action")),
            message=f"{message}\nrequest: {request}" if e.get("request") else message,
        )
    )


def _approval(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    t = run.task(_text(e.get("task")))
    t.approval = ""
    decision = "approved" if e.get("approved") else "denied"
    waiting = next((a for a in t.approvals if a.tool == _text(e.get("tool")) and a.decision == "waiting"), None)
    if waiting is None:  # decided by the policy without a request
        waiting = ApprovalRecord(tool=_text(e.get("tool")), action=_text(e.get("action")))
        t.approvals.append(waiting)
    waiting.decision = decision
    waiting.by = _text(e.get("by")) or "a person"


def _outcome(e: Mapping[str, Any]) -> Outcome:
    """A check event's outcome; events written before outcomes existed have ``passed`` only."""
    value = e.get("outcome")
    if value in OUTCOMES:
        return cast(Outcome, value)
    return "passed" if e.get("passed") else "failed"


def _check(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    t = run.task(_text(e.get("task")))
    t.checks.append(
        CheckResult(
            kind=_text(e.get("kind")),
            argument=_text(e.get("argument")),
            passed=bool(e.get("passed")),
            outcome=_outcome(e),
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
    # The task's usage so far, every attempt included (not this attempt's alone).
    t.finished_usage = usage_of(e.get("usage"))
    t.error = _text(e.get("error"))
    t.activity = ""
    if t.status != "needs_input":
        t.question = ""
    if t.spans and t.spans[-1].finished is None:
        t.spans[-1].finished = ts
        t.spans[-1].status = t.status


def _gate(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.gates[_text(e.get("phase"))] = _text(e.get("status"))


def _run_stopped(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.status = "stopped"
    run.finished = ts
    _close_session(run, ts, "stopped")
    for t in run.tasks.values():
        if t.spans and t.spans[-1].finished is None:
            t.spans[-1].finished = ts
            t.spans[-1].status = "interrupted"


def _run_paused(run: RunTally, e: Mapping[str, Any], ts: str | None) -> None:
    run.status = "paused"
    _close_session(run, ts, "paused")
    run.exit_code = 3  # stopped, waiting for input or approval (DESIGN: exit codes)
    run.finished = ts
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
    _close_session(run, ts, run.status)
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
    "run_stopped": _run_stopped,
    "run_paused": _run_paused,
    "run_finished": _run_finished,
}

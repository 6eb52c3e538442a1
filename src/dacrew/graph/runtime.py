"""What a run's tasks share: the plan, the findings store, the event log, the models, usage and approvals."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dacrew.agents.tool_replay import ToolReplay
from dacrew.config import ApprovalRule, policy_decision
from dacrew.findings.events import EventLog
from dacrew.findings.format import Finding, Usage
from dacrew.findings.store import FindingsStore
from dacrew.graph.scheduler import Admission, Scheduler
from dacrew.graph.state import RunSettings
from dacrew.models.cassette import CassetteWriter
from dacrew.models.resolve import ModelSource
from dacrew.plan.model import TaskPlan
from dacrew.plan.schedule import admit


@dataclass
class Runtime:
    """Everything a run's tasks share; built once per process for one run."""

    settings: RunSettings
    plan: TaskPlan
    store: FindingsStore
    events: EventLog
    models: ModelSource
    spec: str = ""
    pricing: Any = None
    approval_rules: list[ApprovalRule] = field(default_factory=list[ApprovalRule])
    observers: list[Callable[[dict[str, Any]], None]] = field(default_factory=list[Callable[[dict[str, Any]], None]])
    usage: Usage = field(default_factory=Usage)
    """The run's spending so far (all sessions): the budget is checked against it."""
    gate_answers: dict[str, bool] = field(default_factory=dict[str, bool])
    """Phase gates a person answered in this session, by phase (True: approved)."""
    admission: Admission = admit
    """The scheduler's admission policy (see :attr:`Scheduler.admission`)."""
    scheduler: Scheduler | None = None
    recorder: CassetteWriter | None = None
    """Records the run's cassette (``.dacrew/runs/<id>/cassette.jsonl``)."""
    replay: ToolReplay | None = None
    """A replayed run's tool records (full replay serves them; model replay compares with them)."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def run_id(self) -> str:
        return self.settings.run_id

    def emit(self, type_: str, task: str | None = None, **fields: Any) -> None:
        event = self.events.emit(type_, task=task, **fields)
        for observe in list(self.observers):
            try:
                observe(event)
            except Exception:
                # A display that fails (a closed pipe, a resized terminal) must not stop the run:
                # the event log has the event; this observer is dropped.
                self.observers.remove(observe)

    def task_finished(self, finding: Finding, error: str = "") -> None:
        """The ``task_finished`` event of a task whose final (or waiting) status its finding holds."""
        self.emit(
            "task_finished",
            task=finding.task,
            status=finding.status,
            attempt=finding.attempt,
            usage=finding.usage.model_dump(),
            error=error,
        )

    def add_usage(self, usage: Usage) -> None:
        with self._lock:
            self.usage = self.usage + usage

    def policy(self, action: str) -> bool | None:
        """Headless runs decide approvals by the project's rules (None: stop and ask a person)."""
        if not self.settings.headless:
            return None
        return policy_decision(self.approval_rules, action)

    def over_budget(self) -> bool:
        budget = self.settings.budget_usd
        return budget is not None and self.usage.usd >= budget

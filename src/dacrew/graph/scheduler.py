"""The runtime scheduler: DESIGN's admission rules, applied the moment any task finishes.

Every plan task's coroutine is started up front (in a fixed order, so LangGraph's cached results stay
matched after a resume) and waits in :meth:`Scheduler.acquire` until the scheduler admits it. Admission
is the pure :func:`dacrew.graph.plan_schedule.admit` — the same rule the preview simulates — so who
reaches a lock first never decides the order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dacrew.graph.plan_model import TaskPlan
from dacrew.graph.plan_schedule import admit, task_sort_key

FINAL = ("completed", "failed", "skipped")


class Deferred(Exception):
    """The task cannot run in this session (an upstream task waits for a person); it runs on resume."""


@dataclass
class Verdict:
    action: str  # run | done | skip | defer
    reason: str = ""


@dataclass
class Scheduler:
    plan: TaskPlan
    max_parallel: int = 4
    gates: bool = False
    over_budget: Callable[[], bool] = lambda: False
    status: dict[str, str] = field(default_factory=dict[str, str])
    running: set[str] = field(default_factory=set[str])
    halted: str = ""
    """Why no new work is dispatched (a failed non-[P] task, a denied gate, the budget), or empty."""
    stopped_by_budget: bool = False
    open_phases: set[str] = field(default_factory=set[str])

    def __post_init__(self) -> None:
        self._tasks = self.plan.by_id
        self._events: dict[str, asyncio.Event] = {t: asyncio.Event() for t in self._tasks}
        self._verdicts: dict[str, Verdict] = {}
        self._dependents: dict[str, list[str]] = {t: [] for t in self._tasks}
        for t in self.plan.tasks:
            for d in t.dependencies:
                if d in self._dependents:
                    self._dependents[d].append(t.id)
        self._phase_order = [p.title for p in self.plan.phases] or sorted({t.phase for t in self.plan.tasks})
        for t in self._tasks:
            self.status.setdefault(t, "pending")
        for t, s in list(self.status.items()):
            if s in FINAL:
                self._decide(t, Verdict("done"))
        self._phase_waiters: dict[str, asyncio.Event] = {}

    # -- what tasks call ----------------------------------------------------------------------

    async def acquire(self, task_id: str) -> Verdict:
        """Wait until the scheduler decides for this task: run it, it is already done, skip it (with the
        reason), or raise :class:`Deferred`."""
        self.pump()
        await self._events[task_id].wait()
        verdict = self._verdicts[task_id]
        if verdict.action == "defer":
            raise Deferred(verdict.reason)
        return verdict

    def release(self, task_id: str, status: str) -> None:
        """Record a task's end (``completed``, ``failed``, ``needs_input``) and dispatch what it frees."""
        self.running.discard(task_id)
        self.status[task_id] = status
        task = self._tasks[task_id]
        if status == "failed":
            for dep in self._transitive(task_id):
                self._decide(dep, Verdict("skip", f"skipped: {task_id} failed"))
            if not task.parallel:
                self.halt(f"{task_id} failed and runs alone (not [P]): no new work is dispatched")
        elif status == "needs_input":
            for dep in self._transitive(task_id):
                self._decide(dep, Verdict("defer", f"waits for {task_id}, which waits for input"))
            if not task.parallel:
                # It runs alone: nothing may start until its question is answered.
                self._defer_all_pending(f"{task_id} runs alone and waits for input")
        self.pump()

    def halt(self, reason: str) -> None:
        if not self.halted:
            self.halted = reason
        for t in self._pending():
            self._decide(t, Verdict("skip", f"not run: {reason}"))

    # -- phase gates ------------------------------------------------------------------------------

    def phase_finished(self, phase: str) -> bool:
        return all(self.status[t.id] in (*FINAL, "needs_input") for t in self.plan.tasks if t.phase == phase)

    async def wait_phase(self, phase: str) -> None:
        while not self.phase_finished(phase):
            ev = self._phase_waiters.setdefault(phase, asyncio.Event())
            await ev.wait()
            ev.clear()

    def open_phase(self, phase: str) -> None:
        self.open_phases.add(phase)
        self.pump()

    def _gate_allows(self, task_id: str) -> bool:
        if not self.gates:
            return True
        phase = self._tasks[task_id].phase
        if phase not in self._phase_order:
            return True
        earlier = self._phase_order[: self._phase_order.index(phase)]
        return all(p in self.open_phases for p in earlier)

    # -- admission ------------------------------------------------------------------------------

    def pump(self) -> None:
        """Decide whatever can be decided now."""
        for waiter in self._phase_waiters.values():
            waiter.set()
        if self.halted:
            return
        if self.over_budget():
            self.stopped_by_budget = True
            self.halt("the run's budget was reached")
            return
        ready = [
            t
            for t in self._pending()
            if all(self.status.get(d) == "completed" for d in self._tasks[t].dependencies) and self._gate_allows(t)
        ]
        for t in admit(self.plan, ready, self.running, self.max_parallel):
            self.running.add(t)
            self.status[t] = "in_progress"
            self._decide(t, Verdict("run"))

    def settle(self) -> None:
        """Nothing runs and nothing can start: whatever still waits is deferred to a resume."""
        if not self.running:
            for t in self._pending():
                self._decide(t, Verdict("defer", "waits for input elsewhere in the plan"))

    def _pending(self) -> list[str]:
        return sorted((t for t in self._tasks if t not in self._verdicts), key=task_sort_key)

    def _defer_all_pending(self, reason: str) -> None:
        for t in self._pending():
            self._decide(t, Verdict("defer", reason))

    def _decide(self, task_id: str, verdict: Verdict) -> None:
        if task_id in self._verdicts:
            return
        self._verdicts[task_id] = verdict
        if verdict.action == "skip":
            self.status[task_id] = "skipped"
        self._events[task_id].set()

    def _transitive(self, task_id: str) -> Iterable[str]:
        seen: set[str] = set()
        stack = list(self._dependents[task_id])
        while stack:
            t = stack.pop()
            if t not in seen:
                seen.add(t)
                stack.extend(self._dependents[t])
        return sorted(seen, key=task_sort_key)

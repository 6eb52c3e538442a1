"""The runtime scheduler: DESIGN's admission rules, applied the moment any task finishes.

Every plan task's coroutine is started up front (in a fixed order, so LangGraph's cached results stay
matched after a resume) and waits in :meth:`Scheduler.acquire` until the scheduler admits it. Admission
is the pure :func:`dacrew.plan.schedule.admit` — the same rule the preview simulates — so who
reaches a lock first never decides the order.

When nothing runs and nothing can be admitted, whatever still waits is *deferred*: it waits for a
person (a question, an approval, a phase gate) and runs on resume. So a session always ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from dacrew.plan.model import TaskPlan, task_sort_key
from dacrew.plan.schedule import admit

FINAL = ("completed", "failed", "skipped")

Admission = Callable[[TaskPlan, list[str], set[str], int], list[str]]
BUDGET_REASON = "the run's budget was reached"


class Deferred(Exception):
    """The task cannot run in this session (it waits, directly or not, for a person); it runs on resume."""


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
    """Final statuses known at start (a resumed run); every task's status as the run goes on."""
    open_phases: set[str] = field(default_factory=set[str])
    """Phases whose gate a person already approved."""
    gate_policy: Callable[[str], bool | None] = lambda phase: None
    """Decides a phase's gate without a person (headless policy), or None."""
    admission: Admission = admit
    """Which ready tasks start now (``plan, ready, running, max_parallel -> ids``): DESIGN's rule,
    :func:`dacrew.plan.schedule.admit`, unless a caller measures another policy against it."""
    running: set[str] = field(default_factory=set[str])
    halted: str = ""
    """Why no new work is dispatched (a failed non-[P] task, a denied gate, the budget), or empty."""
    stopped_by_budget: bool = False
    gates_asked: set[str] = field(default_factory=set[str])
    """Phases whose gate asked a person in this session (and got no answer yet)."""

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
        self._changed = asyncio.Event()
        for t in self._tasks:
            self.status.setdefault(t, "pending")
        for t, s in list(self.status.items()):
            if s in FINAL:
                self._decide(t, Verdict("done"))
        for t, s in self.status.items():
            if s == "failed" and not self._tasks[t].parallel:
                self.halt(f"{t} failed and runs alone (not [P]): no new work is dispatched")

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
        self._decide(task_id, Verdict("done"))
        task = self._tasks[task_id]
        if status == "failed":
            for dep in self._transitive(task_id):
                self._decide(dep, Verdict("skip", f"{task_id} failed"))
            if not task.parallel:
                self.halt(f"{task_id} failed and runs alone (not [P]): no new work is dispatched")
        elif status == "needs_input":
            for dep in self._transitive(task_id):
                self._decide(dep, Verdict("defer", f"waits for {task_id}, which waits for input"))
            if not task.parallel:
                # It runs alone: nothing may start until its question is answered.
                self._defer_pending(f"{task_id} runs alone and waits for input")
        self.pump()

    def observe(self, task_id: str, status: str) -> None:
        """A task's result arrived without its body running (LangGraph's cache after a resume)."""
        if self.status.get(task_id) not in FINAL and status in (*FINAL, "needs_input"):
            self.release(task_id, status)

    def halt(self, reason: str) -> None:
        if not self.halted:
            self.halted = reason
        for t in self._pending():
            self._decide(t, Verdict("skip", f"not run: {reason}"))
        self._wake()

    # -- phase gates ------------------------------------------------------------------------------

    def phase_state(self, phase: str) -> str:
        """``done`` when every task of the phase is final; ``deferred`` when the rest wait for a person;
        ``open`` while work of the phase can still happen in this session."""
        states = [self._task_state(t.id) for t in self.plan.tasks if t.phase == phase]
        if all(s == "final" for s in states):
            return "done"
        if all(s in ("final", "deferred") for s in states):
            return "deferred"
        return "open"

    async def wait_phase(self, phase: str) -> str:
        while (state := self.phase_state(phase)) == "open":
            self._changed.clear()
            await self._changed.wait()
        return state

    def gate_waits(self, phase: str) -> None:
        """The gate after ``phase`` asked a person and has no answer in this session."""
        self.gates_asked.add(phase)
        self.pump()

    def _gate_to_ask(self) -> bool:
        """The next closed gate's phase is done and its gate has not asked yet: it may hold this
        session's answer (a resume), so waiting work is not deferred before the gate has run."""
        if not self.gates or self.halted:
            return False
        with_tasks = [p for p in self._phase_order if self._has_tasks(p)]
        for phase in with_tasks[:-1]:
            if phase not in self.open_phases:
                return self.phase_state(phase) == "done" and phase not in self.gates_asked
        return False

    def open_phase(self, phase: str) -> None:
        self.open_phases.add(phase)
        self.pump()

    def _decide_gates_by_policy(self) -> None:
        # A gate the policy decides opens (or halts) the moment its phase is done, before anything
        # could mistake the next phase for waiting on a person.
        if not self.gates:
            return
        for phase in self._phase_order[:-1]:
            if phase in self.open_phases or self.halted or not self._has_tasks(phase):
                continue
            if self.phase_state(phase) != "done":
                return
            decided = self.gate_policy(phase)
            if decided is None:
                return
            if decided:
                self.open_phases.add(phase)
            else:
                self.halt(f"the gate after '{phase}' was denied")
                return

    def _task_state(self, task_id: str) -> str:
        if self.status.get(task_id) in FINAL:
            return "final"
        verdict = self._verdicts.get(task_id)
        if self.status.get(task_id) == "needs_input" or (verdict is not None and verdict.action == "defer"):
            return "deferred"
        return "open"

    def _gate_allows(self, task_id: str) -> bool:
        if not self.gates:
            return True
        phase = self._tasks[task_id].phase
        if phase not in self._phase_order:
            return True
        earlier = self._phase_order[: self._phase_order.index(phase)]
        return all(p in self.open_phases or not self._has_tasks(p) for p in earlier)

    def _has_tasks(self, phase: str) -> bool:
        return any(t.phase == phase for t in self.plan.tasks)

    # -- admission ------------------------------------------------------------------------------

    def pump(self) -> None:
        """Decide whatever can be decided now."""
        self._decide_gates_by_policy()
        if not self.halted and self.over_budget():
            self.stopped_by_budget = True
            self.halt(BUDGET_REASON)
        if not self.halted:
            ready = [
                t
                for t in self._pending()
                if all(self.status.get(d) == "completed" for d in self._tasks[t].dependencies) and self._gate_allows(t)
            ]
            for t in self.admission(self.plan, ready, self.running, self.max_parallel):
                self.running.add(t)
                self.status[t] = "in_progress"
                self._decide(t, Verdict("run"))
        if not self.running and self._pending() and not self._gate_to_ask():
            # Nothing runs and nothing can start: the rest waits for a person (or a gate).
            self._defer_pending("waits for input or approval elsewhere in the plan")
        self._wake()

    def _pending(self) -> list[str]:
        return sorted((t for t in self._tasks if t not in self._verdicts), key=task_sort_key)

    def _defer_pending(self, reason: str) -> None:
        for t in self._pending():
            self._decide(t, Verdict("defer", reason))

    def _decide(self, task_id: str, verdict: Verdict) -> None:
        if task_id in self._verdicts and self._verdicts[task_id].action != "run":
            return
        if task_id in self._verdicts and verdict.action != "done":
            return
        self._verdicts[task_id] = verdict
        if verdict.action == "skip":
            self.status[task_id] = "skipped"
        self._events[task_id].set()

    def _wake(self) -> None:
        self._changed.set()

    def _transitive(self, task_id: str) -> Iterable[str]:
        seen: set[str] = set()
        stack = list(self._dependents[task_id])
        while stack:
            t = stack.pop()
            if t not in seen:
                seen.add(t)
                stack.extend(self._dependents[t])
        return sorted(seen, key=task_sort_key)

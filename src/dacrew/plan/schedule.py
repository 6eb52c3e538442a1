"""Scheduling semantics of a plan, as pure functions shared by the preview and the runtime scheduler.

The admission rule (:func:`admit`) is the one place that decides which ready tasks start: the schedule
preview (:func:`simulate`) and the parent's runtime scheduler both call it, so the preview is the schedule.
Rules (DESIGN, "Scheduling semantics"): ready tasks are considered in task-id order; a task without
``[P]`` starts only when nothing runs, and while it waits no higher-id task starts; a ``[P]`` task starts
when no lower-id non-``[P]`` task runs or waits, its Files overlap no running task's, and a slot is free.
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from dacrew.errors import UserError
from dacrew.plan.globs import files_overlap
from dacrew.plan.model import Task, TaskPlan, task_sort_key

_DIGITS = re.compile(r"\d+")

# -- admission ------------------------------------------------------------------------------------


def admit(plan: TaskPlan, ready: Iterable[str], running: Collection[str], max_parallel: int) -> list[str]:
    """The ids of ``ready`` tasks to start now, given the ``running`` ones.

    ``ready`` holds the tasks not started whose dependencies all completed, in any order; they are
    considered by id. The result is in id order.
    """
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    tasks = plan.by_id
    if any(not tasks[r].parallel for r in running):
        return []
    busy = [tasks[r].files for r in running]
    admitted: list[str] = []
    rejected: set[tuple[str, ...]] = set()
    for task_id in sorted(ready, key=task_sort_key):
        task = tasks[task_id]
        if not task.parallel:
            if not running and not admitted:
                admitted.append(task_id)
            break
        if len(running) + len(admitted) >= max_parallel:
            break
        files = tuple(task.files)
        if files in rejected:
            continue
        if any(files_overlap(task.files, other) for other in busy):
            # Busy Files only grow during a call, so the same Files stay refused (many tasks often
            # share a folder).
            rejected.add(files)
            continue
        admitted.append(task_id)
        busy.append(task.files)
    return admitted


class _ReadyQueue:
    """Ready tasks in id order; hands :func:`admit` only the lowest ids it can reach.

    ``admit`` stops at the first non-``[P]`` task or when the slots are full, so a prefix of the ready
    tasks gives the same answer as all of them unless the prefix ran out first; then all are given.
    Without this, a plan with thousands of ready tasks would sort them all on every completion.
    """

    def __init__(self, plan: TaskPlan) -> None:
        self.plan = plan
        self.items: list[tuple[tuple[tuple[int, int, str], ...], str]] = []

    def __len__(self) -> int:
        return len(self.items)

    def push(self, task_id: str) -> None:
        bisect.insort(self.items, (task_sort_key(task_id), task_id))

    def admit(self, running: Collection[str], max_parallel: int) -> list[str]:
        free = max_parallel - len(running)
        if not self.items or free <= 0:
            return []
        tasks = self.plan.by_id
        if any(not tasks[r].parallel for r in running):
            return []
        size = max(2 * free, 8)
        while True:
            prefix = [t for _, t in self.items[:size]]
            chosen = admit(self.plan, prefix, running, max_parallel)
            if size >= len(self.items) or len(chosen) >= free or any(not tasks[t].parallel for t in prefix):
                break
            size = len(self.items)
        for task_id in chosen:
            del self.items[bisect.bisect_left(self.items, (task_sort_key(task_id), task_id))]
        return chosen


# -- graph helpers --------------------------------------------------------------------------------


def _dependents_index(plan: TaskPlan) -> dict[str, list[str]]:
    known = plan.by_id
    out: dict[str, list[str]] = {t.id: [] for t in plan.tasks}
    for task in plan.tasks:
        for dep in dict.fromkeys(task.dependencies):
            if dep in known and dep != task.id:
                out[dep].append(task.id)
    return out


def find_cycle(plan: TaskPlan) -> list[str] | None:
    """A dependency cycle as upstream → downstream ids, first and last the same, starting at its lowest
    id; ``None`` when the plan is acyclic. Iterative, so a 20,000-task chain does not hit recursion limits."""
    known = plan.by_id
    state: dict[str, int] = {}  # 1 on the DFS stack, 2 done
    for root in sorted(known, key=task_sort_key):
        if state.get(root):
            continue
        path: list[str] = [root]
        iters = [iter(known[root].dependencies)]
        state[root] = 1
        while path:
            dep = next(iters[-1], None)
            if dep is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            if dep not in known:
                continue
            if state.get(dep) == 1:
                # ``path`` follows "depends on" edges; a cycle reads upstream → downstream, so reverse it.
                cycle = path[path.index(dep) :][::-1]
                start = min(range(len(cycle)), key=lambda i: task_sort_key(cycle[i]))
                cycle = cycle[start:] + cycle[:start]
                return [*cycle, cycle[0]]
            if not state.get(dep):
                state[dep] = 1
                path.append(dep)
                iters.append(iter(known[dep].dependencies))
    return None


def topological_order(plan: TaskPlan) -> list[str]:
    """Every task after its dependencies, lowest id first among the ready ones (deterministic)."""
    dependents = _dependents_index(plan)
    waiting = {t.id: len(set(d for d in t.dependencies if d in dependents and d != t.id)) for t in plan.tasks}
    heap = [(task_sort_key(t), t) for t, n in waiting.items() if n == 0]
    heapq.heapify(heap)
    order: list[str] = []
    while heap:
        _, task_id = heapq.heappop(heap)
        order.append(task_id)
        for nxt in dependents[task_id]:
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(heap, (task_sort_key(nxt), nxt))
    if len(order) < len(waiting):
        cycle = find_cycle(plan) or []
        raise UserError("dependency cycle: " + " → ".join(cycle), path=plan.path or None)
    return order


def dependents(plan: TaskPlan, task_id: str) -> set[str]:
    """Every task that depends on ``task_id``, directly or transitively (what a failure skips)."""
    index = _dependents_index(plan)
    seen: set[str] = set()
    stack = list(index.get(task_id, []))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(index[current])
    return seen


# -- simulation -----------------------------------------------------------------------------------


@dataclass
class Simulation:
    """A run of the admission rule with known durations and zero overhead."""

    max_parallel: int
    start: dict[str, float] = field(default_factory=dict[str, float])
    finish: dict[str, float] = field(default_factory=dict[str, float])
    order: list[str] = field(default_factory=list[str])
    """Ids in the order they started (id order within an instant)."""
    waves: list[list[str]] = field(default_factory=list[list[str]])
    """Tasks that start at the same instant, in time order."""

    @property
    def makespan(self) -> float:
        return max(self.finish.values(), default=0.0)


def _durations(plan: TaskPlan, durations: Mapping[str, float] | None) -> dict[str, float]:
    out: dict[str, float] = {}
    for task in plan.tasks:
        value = 1.0 if durations is None else float(durations.get(task.id, 1.0))
        if value < 0 or value != value:
            raise ValueError(f"duration of {task.id} must be a non-negative number, not {value}")
        out[task.id] = value
    return out


def _record(sim: Simulation, started: list[str], now: float, length: dict[str, float]) -> None:
    if not started:
        return
    for task_id in started:
        sim.start[task_id] = now
        sim.finish[task_id] = now + length[task_id]
    sim.order.extend(started)
    if sim.waves and sim.start[sim.waves[-1][0]] == now:
        sim.waves[-1].extend(started)
    else:
        sim.waves.append(list(started))


def simulate(plan: TaskPlan, durations: Mapping[str, float] | None = None, max_parallel: int = 4) -> Simulation:
    """Event-driven: new work is admitted the moment any running task finishes (no batch barrier)."""
    if max_parallel < 1:
        raise ValueError("max_parallel must be at least 1")
    order = topological_order(plan)  # raises on a cycle before anything is simulated
    length = _durations(plan, durations)
    index = _dependents_index(plan)
    waiting = {t.id: len(set(d for d in t.dependencies if d in index and d != t.id)) for t in plan.tasks}
    ready = _ReadyQueue(plan)
    for task_id in order:
        if waiting[task_id] == 0:
            ready.push(task_id)
    sim = Simulation(max_parallel=max_parallel)
    running: set[str] = set()
    events: list[tuple[float, tuple[tuple[int, int, str], ...], str]] = []
    now = 0.0
    while True:
        started = ready.admit(running, max_parallel)
        _record(sim, started, now, length)
        for task_id in started:
            running.add(task_id)
            heapq.heappush(events, (sim.finish[task_id], task_sort_key(task_id), task_id))
        if not events:
            break
        now = events[0][0]
        while events and events[0][0] == now:
            _, _, done = heapq.heappop(events)
            running.discard(done)
            for nxt in index[done]:
                waiting[nxt] -= 1
                if waiting[nxt] == 0:
                    ready.push(nxt)
    return sim


def critical_path(plan: TaskPlan, durations: Mapping[str, float] | None = None) -> tuple[list[str], float]:
    """The longest dependency chain by duration, upstream first, and its length."""
    length = _durations(plan, durations)
    known = plan.by_id
    best: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for task_id in topological_order(plan):
        prior: str | None = None
        for dep in known[task_id].dependencies:
            if dep in best and dep != task_id and (prior is None or best[dep] > best[prior]):
                prior = dep
        best[task_id] = length[task_id] + (best[prior] if prior is not None else 0.0)
        via[task_id] = prior
    if not best:
        return [], 0.0
    end = max(best, key=lambda t: (best[t], [-x for x in _numbers(t)]))
    path: list[str] = []
    cursor: str | None = end
    while cursor is not None:
        path.append(cursor)
        cursor = via[cursor]
    return path[::-1], best[end]


def _numbers(task_id: str) -> list[int]:
    return [int(c) for c in _DIGITS.findall(task_id)]


def lower_bound(plan: TaskPlan, durations: Mapping[str, float] | None = None, max_parallel: int = 4) -> float:
    """No schedule beats this: the critical path, or exclusive work plus parallel work spread over the
    slots."""
    length = _durations(plan, durations)
    exclusive = sum(length[t.id] for t in plan.tasks if not t.parallel)
    shared = sum(length[t.id] for t in plan.tasks if t.parallel)
    return max(critical_path(plan, length)[1], exclusive + shared / max_parallel)


def with_phase_barriers(plan: TaskPlan) -> TaskPlan:
    """A copy of ``plan`` where phases are barriers (``gates: phases``): every task of a phase also
    depends on the tasks of the phase before it. Only that phase's last tasks (those no other task of the
    phase waits for) are added; the rest follow transitively, so the edge count stays small."""
    gated = plan.model_copy(deep=True)
    by_phase: dict[str, list[Task]] = {}
    for task in gated.tasks:
        by_phase.setdefault(task.phase, []).append(task)
    previous: list[str] = []
    for members in by_phase.values():
        ids = {t.id for t in members}
        waited_on = {d for t in members for d in t.dependencies if d in ids}
        for task in members:
            task.dependencies = list(dict.fromkeys([*task.dependencies, *previous]))
        previous = [t.id for t in members if t.id not in waited_on]
    return gated

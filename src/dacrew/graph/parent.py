"""The parent state machine, as LangGraph sees it:

    load_plan → execute → report

``load_plan`` records what is about to run, ``execute`` runs every task under the scheduler (see
:mod:`dacrew.graph.executor`), ``report`` writes the run's reports and decides its exit code. The
graph is checkpointed, so a run stopped anywhere resumes from where it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dacrew.graph.executor import execute_plan
from dacrew.graph.runtime import Runtime
from dacrew.graph.state import ParentState


def exit_code_for(outcomes: dict[str, dict[str, Any]], *, budget_stop: bool, tasks: int) -> tuple[str, int]:
    if budget_stop:
        return "budget", 4
    if any(o.get("status") in ("failed", "skipped") for o in outcomes.values()):
        return "failed", 1
    if len(outcomes) < tasks:
        # Never report success for a plan whose tasks did not all end.
        return "incomplete", 1
    return "completed", 0


def build_parent_graph(runtime: Runtime | Callable[[ParentState], Runtime], checkpointer: Any = None) -> Any:
    """The compiled parent graph for one run (a LangGraph ``CompiledStateGraph``). ``runtime`` is the
    run's :class:`Runtime`, or a function that gives it from the graph's state when a node first needs
    it (the LangGraph server builds the graph before it has the run's input)."""
    from langgraph.graph import END, START, StateGraph

    runtime_of: Callable[[ParentState], Runtime] = (lambda _state: runtime) if isinstance(runtime, Runtime) else runtime

    async def load_plan(state: ParentState) -> ParentState:
        rt = runtime_of(state)
        rt.emit(
            "plan_loaded",
            feature=rt.plan.feature,
            tasks=len(rt.plan.tasks),
            phases=[p.title for p in rt.plan.phases],
        )
        return {"run_id": rt.run_id, "feature": rt.plan.feature, "tasks": len(rt.plan.tasks)}

    async def execute(state: ParentState) -> ParentState:
        rt = runtime_of(state)
        outcomes = await execute_plan(rt)
        return {"outcomes": outcomes}

    async def report(state: ParentState) -> ParentState:
        rt = runtime_of(state)
        outcomes = state.get("outcomes", {})
        budget = bool(rt.scheduler and rt.scheduler.stopped_by_budget)
        status, code = exit_code_for(outcomes, budget_stop=budget, tasks=len(rt.plan.tasks))
        return {"status": status, "exit_code": code}

    graph = StateGraph(ParentState)
    graph.add_node("load_plan", load_plan)
    graph.add_node("execute", execute)
    graph.add_node("report", report)
    graph.add_edge(START, "load_plan")
    graph.add_edge("load_plan", "execute")
    graph.add_edge("execute", "report")
    graph.add_edge("report", END)
    return graph.compile(checkpointer=checkpointer, name="dacrew-parent")

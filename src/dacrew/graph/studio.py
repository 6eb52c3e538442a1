"""The parent graph for ``langgraph dev``, LangGraph Studio and the LangGraph server (see ``langgraph.json``).

The server calls :func:`make_graph` with each run's config, so each thread is a run of its own (run id
= thread id). The run's input names the plan: ``{"plan": "tasks.md"}``, a file relative to the project
(default: ``DACREW_PLAN``, else ``tasks.md``). The project is ``DACREW_PROJECT`` (default: the server's
current folder) and its ``dacrew.yml`` applies (``gates``, ``run.*``, ``approvals``); the model is
``DACREW_MODEL`` (``replay:<cassette>`` or a provider model), else the dry-run model. Runs are headless:
questions, approvals and phase gates the project's approval rules do not decide stop the run as
LangGraph interrupts, answered through the API with ``Command(resume={interrupt id: answer})`` — a
question's answer is its text, an approval's or a gate's ``{"approved": true|false}``, the answers
``dacrew resume`` takes. Every event the run writes to its ``events.jsonl`` is also streamed (stream
mode ``custom``). The server supplies the checkpointer and the store.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def make_graph(config: dict[str, Any] | None = None) -> Any:
    from dacrew.graph.parent import build_parent_graph
    from dacrew.graph.runtime import Runtime
    from dacrew.graph.state import ParentState

    configurable = dict((config or {}).get("configurable") or {})
    thread = configurable.get("thread_id")
    project = Path(os.environ.get("DACREW_PROJECT", ".")).resolve()
    built: list[Runtime] = []

    def runtime_for(state: ParentState) -> Runtime:
        # Built when the run's first node needs it (nothing is written when the server only asks the
        # graph for its schema), once per graph: the server builds a graph for every run it executes.
        if not built:
            run_id = str(thread or state.get("run_id") or "")
            built.append(_runtime(project, run_id, state.get("plan")))
        return built[0]

    return build_parent_graph(runtime_for)


def _runtime(project: Path, run_id: str, plan: str | None) -> Any:
    from dacrew.config import load_config
    from dacrew.errors import UserError
    from dacrew.findings.format import now_iso
    from dacrew.graph.runner import prepare_runtime
    from dacrew.graph.state import RunSettings, load_settings, new_run_id, run_dir, save_settings

    run_id = run_id or new_run_id()
    if (run_dir(project, run_id) / "run.json").is_file():
        settings = load_settings(project, run_id)
    else:
        chosen = plan or os.environ.get("DACREW_PLAN", "tasks.md")
        if not (project / chosen).resolve().is_relative_to(project):
            raise UserError(f"the plan {chosen!r} is not inside the project folder", path=str(project))
        config = load_config(project)
        model = os.environ.get("DACREW_MODEL")
        settings = RunSettings(
            run_id=run_id,
            plan=chosen,
            project_dir=str(project),
            model=model,
            dry_run=model is None,
            headless=True,
            max_parallel=config.run.max_parallel,
            gates=config.gates == "phases",
            budget_usd=config.run.budget_usd,
            step_limit=config.run.step_limit,
            created=now_iso(),
        )
        save_settings(settings)
    return prepare_runtime(settings, [_stream])


def _stream(event: dict[str, Any]) -> None:
    """Send a run event to the LangGraph stream (``custom`` mode) when it is emitted inside the graph."""
    from langgraph.config import get_stream_writer

    try:
        writer = get_stream_writer()
    except RuntimeError:
        return  # emitted outside a graph step: the event log has it
    writer(event)

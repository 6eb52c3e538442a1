"""The parent graph for LangGraph Studio and ``langgraph dev`` (see ``langgraph.json``).

The LangGraph server calls :func:`make_graph` for every run with the run's config, so each thread is a
run of its own (run id = thread id). It runs the plan named by ``DACREW_PLAN`` (default ``tasks.md``) in
``DACREW_PROJECT`` (default: the current folder), with the dry-run model unless ``DACREW_MODEL`` names
one; the server supplies its own checkpointer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def make_graph(config: dict[str, Any] | None = None) -> Any:
    from dacrew.graph.parent import build_parent_graph
    from dacrew.graph.runner import prepare_runtime
    from dacrew.graph.state import RunSettings, new_run_id, save_settings

    configurable = dict((config or {}).get("configurable") or {})
    project = Path(os.environ.get("DACREW_PROJECT", ".")).resolve()
    model = os.environ.get("DACREW_MODEL")
    settings = RunSettings(
        run_id=str(configurable.get("thread_id") or new_run_id()),
        plan=os.environ.get("DACREW_PLAN", "tasks.md"),
        project_dir=str(project),
        model=model,
        dry_run=model is None,
        headless=True,
    )
    save_settings(settings)
    return build_parent_graph(prepare_runtime(settings, []))

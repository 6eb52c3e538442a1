"""The parent graph for LangGraph Studio and ``langgraph dev`` (see ``langgraph.json``).

Studio needs a module-level graph. This one runs the plan named by ``DACREW_PLAN`` (default
``tasks.md``) in ``DACREW_PROJECT`` (default: the current folder) with the dry-run model unless
``DACREW_MODEL`` names one; the LangGraph server supplies its own checkpointer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def make_graph() -> Any:
    from dacrew.graph.parent import build_parent_graph
    from dacrew.graph.runner import prepare_runtime
    from dacrew.graph.state import RunSettings, new_run_id

    project = Path(os.environ.get("DACREW_PROJECT", ".")).resolve()
    model = os.environ.get("DACREW_MODEL")
    settings = RunSettings(
        run_id=os.environ.get("DACREW_RUN_ID", new_run_id()),
        plan=os.environ.get("DACREW_PLAN", "tasks.md"),
        project_dir=str(project),
        model=model,
        dry_run=model is None,
        headless=True,
    )
    return build_parent_graph(prepare_runtime(settings, []))


def __getattr__(name: str) -> Any:
    # Built on first access, so importing this module (e.g. by import-linter) costs nothing.
    if name == "graph":
        return make_graph()
    raise AttributeError(name)

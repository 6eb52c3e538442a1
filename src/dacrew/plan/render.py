"""Views of a compiled plan for ``dacrew plan show``: plain text, mermaid and JSON.

Each view shows the same three things: the DAG, the schedule waves (all durations 1) and the critical
path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from dacrew.plan.model import TaskPlan
from dacrew.plan.schedule import Simulation, critical_path, lower_bound, simulate

FORMATS = ("text", "mermaid", "json")
# One colour per owner; an unknown (project-defined) owner gets the neutral style.
_OWNER_STYLES = {
    "Parent Agent": "fill:#e8e8e8,stroke:#555,color:#111",
    "Sub-Agents": "fill:#f3e8ff,stroke:#7e22ce,color:#111",
    "dbt-expert": "fill:#ffe4d6,stroke:#ff694a,color:#111",
    "snowflake-expert": "fill:#dbf1fb,stroke:#29b5e8,color:#111",
    "tableau-expert": "fill:#dde7f5,stroke:#1f457e,color:#111",
    "orchestra-expert": "fill:#e2f7e9,stroke:#16a34a,color:#111",
    "business-context": "fill:#fff6d6,stroke:#ca8a04,color:#111",
}
_OTHER_STYLE = "fill:#ffffff,stroke:#333,color:#111"


@dataclass(frozen=True)
class Preview:
    """The schedule preview: waves with unit durations, the critical path and the bounds."""

    plan: TaskPlan
    simulation: Simulation
    critical_path: list[str]
    critical_length: float
    lower_bound: float


def preview(plan: TaskPlan, max_parallel: int = 4) -> Preview:
    sim = simulate(plan, None, max_parallel)
    path, length = critical_path(plan)
    return Preview(plan, sim, path, length, lower_bound(plan, None, max_parallel))


def render(plan: TaskPlan, fmt: str = "text", max_parallel: int = 4) -> str:
    view = preview(plan, max_parallel)
    if fmt == "mermaid":
        return render_mermaid(view)
    if fmt == "json":
        return render_json(view)
    return render_text(view)


def _flat(text: str) -> str:
    """One line of user text: control characters become spaces."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+", " ", text).strip()


def render_text(view: Preview) -> str:
    plan = view.plan
    out: list[str] = [f"Plan: {_flat(plan.feature) or '(untitled)'} — {len(plan.tasks)} tasks ({plan.format} format)"]
    by_phase: dict[str, list[str]] = {}
    for task in plan.tasks:
        by_phase.setdefault(task.phase, []).append(task.id)
    known = plan.by_id
    for phase, ids in by_phase.items():
        out.append("")
        out.append(_flat(phase) or "(no phase)")
        for task_id in ids:
            task = known[task_id]
            marker = " [P]" if task.parallel else ""
            deps = f"  ← {', '.join(task.dependencies)}" if task.dependencies else ""
            out.append(f"  {task.id}{marker} {_flat(task.title)} ({_flat(' + '.join(task.owners))}){deps}")
    sim = view.simulation
    out.append("")
    out.append(f"Schedule (max {sim.max_parallel} in parallel, every task 1 unit): {len(sim.waves)} waves")
    for number, wave in enumerate(sim.waves, start=1):
        out.append(f"  wave {number:>3} @ {sim.start[wave[0]]:g}: {', '.join(wave)}")
    out.append("")
    out.append(f"Critical path ({view.critical_length:g}): {' → '.join(view.critical_path)}")
    out.append(f"Makespan {sim.makespan:g}; no schedule beats {view.lower_bound:g}")
    for note in plan.notes:
        out.append(f"Note (line {note.line}): {_flat(note.message)}")
    return "\n".join(out)


def _mermaid_label(text: str) -> str:
    # Mermaid reads quotes and brackets inside labels as syntax; its entity codes keep them as text.
    text = _flat(text)
    for char, code in (("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("`", "#96;")):
        text = text.replace(char, code)
    return text


def _class_name(owner: str) -> str:
    return "owner_" + (re.sub(r"[^A-Za-z0-9]+", "_", owner).strip("_").lower() or "unnamed")


def render_mermaid(view: Preview) -> str:
    """A flowchart grouped by phase (subgraphs), nodes coloured by their lead owner; ``[P]`` tasks are
    rounded and labelled ``[P]``; the critical path's edges are thick."""
    plan = view.plan
    out = ["flowchart TD"]
    phases: dict[str, list[str]] = {}
    for task in plan.tasks:
        phases.setdefault(task.phase, []).append(task.id)
    known = plan.by_id
    for number, (phase, ids) in enumerate(phases.items(), start=1):
        indent = "    "
        if phase:
            out.append(f'    subgraph phase{number}["{_mermaid_label(phase)}"]')
            indent = "        "
        for task_id in ids:
            task = known[task_id]
            label = _mermaid_label(f"{task.id}: {task.title}" + (" [P]" if task.parallel else ""))
            shape = ('(["', '"])') if task.parallel else ('["', '"]')
            out.append(f"{indent}{task.id}{shape[0]}{label}{shape[1]}")
        if phase:
            out.append("    end")
    critical = set(zip(view.critical_path, view.critical_path[1:], strict=False))
    for task in plan.tasks:
        for dep in task.dependencies:
            if dep in known:
                arrow = "==>" if (dep, task.id) in critical else "-->"
                out.append(f"    {dep} {arrow} {task.id}")
    owners: dict[str, list[str]] = {}
    for task in plan.tasks:
        owners.setdefault(task.lead, []).append(task.id)
    for owner, ids in owners.items():
        name = _class_name(owner)
        out.append(f"    classDef {name} {_OWNER_STYLES.get(owner, _OTHER_STYLE)}")
        out.append(f"    class {','.join(ids)} {name}")
    return "\n".join(out)


def render_json(view: Preview) -> str:
    sim = view.simulation
    data: dict[str, Any] = {
        "plan": view.plan.model_dump(mode="json"),
        "schedule": {
            "max_parallel": sim.max_parallel,
            "waves": sim.waves,
            "start": sim.start,
            "makespan": sim.makespan,
            "lower_bound": view.lower_bound,
            "critical_path": view.critical_path,
            "critical_path_length": view.critical_length,
        },
    }
    return json.dumps(data, indent=2, ensure_ascii=False)

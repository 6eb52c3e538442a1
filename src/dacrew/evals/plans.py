"""One task as a plan of its own, in the template format: a case that runs a single task of a plan,
and an imported ADE-bench task."""

from __future__ import annotations

from dacrew.plan.model import Task

PHASE = "Eval Tasks"


def one_task_plan(feature: str, task: Task) -> str:
    """The markdown of a plan holding only ``task``, without its dependencies (a case's project
    fixture holds what they would have produced)."""
    lines = [f"# Data Analytics Tasks: {feature}", "", f"## {PHASE}", ""]
    lines += [
        f"### {task.id}: {task.title}",
        f"**Owner**: {' + '.join(task.owners) or 'parent'}",
        "**Dependencies**: None",
        f"**Files**: {', '.join(f'`{f}`' for f in task.files) or 'None'}",
        "**Description**:",
        *(f"- {line}" for line in task.description),
    ]
    if task.acceptance:
        lines.append(f"**Acceptance**: {' '.join(task.acceptance.split())}")
    if task.checks:
        lines.append("**Checks**:")
        lines += [f"- {c.kind}: {c.argument}" for c in task.checks]
    return "\n".join(lines) + "\n"

"""spec-kit's rules for checklist plans: owners inferred from the paths a task names, and dependencies from phases and ``[P]`` (a phase waits for the phases before it; inside a phase, a task without ``[P]`` waits for the task before it)."""

from __future__ import annotations

import re

from dacrew.plan.model import (
    PARENT,
    Task,
)

PATH_TOKEN = re.compile(
    r"(?<![\w/.])((?:[\w.*{}\[\]-]+/)+[\w.*{}\[\]-]*|[\w*-]+\.(?:sql|ya?ml|md|py|json|csv|tds|tdsx|twb|twbx|hyper|txt|toml))"
)


# Spec-kit owners come from the paths a task names: the first folder that names a specialist's domain.
PATH_OWNERS = {
    "models": "dbt-expert",
    "snowflake": "snowflake-expert",
    "tableau": "tableau-expert",
    "orchestration": "orchestra-expert",
    "documentation": "business-context",
    "training": "business-context",
}


def paths_in(text: str) -> list[str]:
    spans = [s.strip() for s in re.findall(r"`([^`]*)`", text) if "/" in s or "." in s]
    if spans:
        return list(dict.fromkeys(spans))
    return list(dict.fromkeys(m.rstrip(".,;:") for m in PATH_TOKEN.findall(text)))


def owners_from_paths(files: list[str]) -> list[str]:
    owners: list[str] = []
    for path in files:
        for segment in path.split("/"):
            owner = PATH_OWNERS.get(segment.lower())
            if owner:
                if owner not in owners:
                    owners.append(owner)
                break
    return owners or [PARENT]


def speckit_dependencies(tasks: list[tuple[Task, int]]) -> None:
    """Spec-kit's rules: a phase waits for the phases before it; inside a phase, a task without ``[P]``
    waits for the task before it.

    A task depends on the last tasks of the previous phase that nothing else in that phase waits for;
    the earlier phases follow transitively, which keeps the edge count linear for chained phases.
    """
    by_phase: dict[int, list[Task]] = {}
    for task, phase_index in tasks:
        by_phase.setdefault(phase_index, []).append(task)
    previous_sinks: list[str] = []
    for phase_index in sorted(by_phase):
        members = by_phase[phase_index]
        waited_on: set[str] = set()
        for position, task in enumerate(members):
            deps = [*task.dependencies, *previous_sinks]
            if not task.parallel and position > 0:
                before = members[position - 1].id
                deps.append(before)
                waited_on.add(before)
            task.dependencies = list(dict.fromkeys(d for d in deps if d != task.id))
        previous_sinks = [t.id for t in members if t.id not in waited_on]

"""Which Tableau project a name means: an id, a path from the top (``Sales/Finance``) or a name only one
project has."""

from __future__ import annotations

from typing import Any

from dacrew.errors import ToolError


def resolve_project(server: Any, project: str) -> str:
    """The id of the project ``project`` names: a project id, a path from the top (``Sales/Finance``)
    or a name that only one project has. A name several projects share is an error listing them."""
    import tableauserverclient as TSC

    items = {p.id: p for p in TSC.Pager(server.projects)}

    def path(item: Any) -> str:
        parts: list[str] = []
        seen: set[str] = set()
        while item is not None and item.id not in seen:
            seen.add(item.id)
            parts.append(str(item.name))
            item = items.get(item.parent_id) if item.parent_id else None
        return "/".join(reversed(parts))

    if project in items:
        return project
    paths = {p.id: path(p) for p in items.values()}
    if "/" in project:
        by_path = [pid for pid, where in paths.items() if where == project.strip("/")]
        if len(by_path) == 1:
            return by_path[0]
    named = [pid for pid, p in items.items() if p.name == project]
    if len(named) == 1:
        return named[0]
    if named:
        listed = ", ".join(f"{paths[pid]} (id {pid})" for pid in sorted(named, key=lambda i: paths[i]))
        raise ToolError(
            f"{len(named)} Tableau projects are named {project!r}: {listed}; give the project's path "
            "from the top (Parent/Child) or its id"
        )
    known = sorted(paths.values())
    raise ToolError(f"no Tableau project {project!r} (projects: {', '.join(known) or 'none'})")

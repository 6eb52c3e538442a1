"""``dbt_manifest``: what the project holds (models, sources, tests) and a node's lineage up and down,
read from the parsed manifest the dbt tools share (no warehouse involved)."""

from __future__ import annotations

from collections import deque
from typing import Any

from pydantic import BaseModel, Field

from dacrew.errors import ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool


class ManifestArgs(ToolArgs):
    node: str | None = Field(
        default=None,
        description="A model, seed, snapshot or test name, `source_name.table`, or a unique_id; "
        "leave out for the project overview.",
    )


class NodeInfo(BaseModel):
    unique_id: str
    name: str
    resource_type: str
    path: str | None = None
    materialized: str | None = None
    description: str = ""
    columns: list[str] = Field(default_factory=list[str])
    tags: list[str] = Field(default_factory=list[str])
    attached_to: str | None = None
    """For a test: the node it tests."""


class Lineage(BaseModel):
    parents: list[str]
    children: list[str]
    upstream: list[str]
    """Every ancestor, nearest first."""
    downstream: list[str]
    """Every descendant, nearest first."""


class ManifestResult(ToolResult):
    models: list[NodeInfo] = Field(default_factory=list[NodeInfo])
    sources: list[NodeInfo] = Field(default_factory=list[NodeInfo])
    tests: list[NodeInfo] = Field(default_factory=list[NodeInfo])
    seeds: list[NodeInfo] = Field(default_factory=list[NodeInfo])
    snapshots: list[NodeInfo] = Field(default_factory=list[NodeInfo])
    node: NodeInfo | None = None
    lineage: Lineage | None = None


def _info(node: Any) -> NodeInfo:
    rtype = str(getattr(node.resource_type, "value", node.resource_type))
    config = getattr(node, "config", None)
    attached = getattr(node, "attached_node", None)
    name = f"{node.source_name}.{node.name}" if rtype == "source" else node.name
    return NodeInfo(
        unique_id=node.unique_id,
        name=name,
        resource_type=rtype,
        path=getattr(node, "original_file_path", None),
        materialized=getattr(config, "materialized", None) if rtype != "source" else None,
        description=getattr(node, "description", "") or "",
        columns=list(getattr(node, "columns", {}) or {}),
        tags=list(getattr(node, "tags", []) or []),
        attached_to=attached,
    )


def by_name(items: list[NodeInfo]) -> list[NodeInfo]:
    return sorted(items, key=lambda i: i.unique_id)


def _graph(manifest: Any) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for uid, node in manifest.nodes.items():
        ups = list(dict.fromkeys(getattr(node.depends_on, "nodes", None) or []))
        parents[uid] = ups
        for up in ups:
            children.setdefault(up, []).append(uid)
    for uid in manifest.sources:
        parents.setdefault(uid, [])
    return parents, children


def _walk(start: str, edges: dict[str, list[str]]) -> list[str]:
    seen: dict[str, None] = {}
    queue = deque(edges.get(start, []))
    while queue:
        uid = queue.popleft()
        if uid in seen or uid == start:
            continue
        seen[uid] = None
        queue.extend(edges.get(uid, []))
    return list(seen)


def _find(manifest: Any, ref: str) -> Any:
    every = {**manifest.nodes, **manifest.sources}
    if ref in every:
        return every[ref]
    matches = [n for n in manifest.nodes.values() if n.name == ref]
    matches += [s for s in manifest.sources.values() if f"{s.source_name}.{s.name}" == ref]
    if not matches:
        raise ToolError(f"no node {ref!r} in the project; dbt_manifest without `node` lists them")
    if len(matches) > 1:
        kinds = ", ".join(m.unique_id for m in matches)
        raise ToolError(f"{ref!r} names several nodes ({kinds}): give the unique_id")
    return matches[0]


@tool("dbt")
def dbt_manifest(ctx: ToolContext, args: ManifestArgs) -> ManifestResult:
    """Read the dbt project's manifest: what it holds, or one node's lineage.

    Without `node`: its models, sources, seeds, snapshots and tests. With `node`: that node's details and
    its lineage (direct parents and children, and everything up- and downstream).
    """
    from dacrew.tools.dbt.runner import ParseFailed, parsed_manifest
    from dacrew.tools.profiles import locate

    try:
        manifest = parsed_manifest(locate(ctx))
    except ParseFailed as exc:
        raise ToolError(f"the dbt project does not parse: {exc}") from None
    if args.node is not None:
        node = _find(manifest, args.node)
        parents, children = _graph(manifest)
        uid = node.unique_id
        lineage = Lineage(
            parents=parents.get(uid, []),
            children=children.get(uid, []),
            upstream=_walk(uid, parents),
            downstream=_walk(uid, children),
        )
        return ManifestResult(node=_info(node), lineage=lineage)
    groups: dict[str, list[NodeInfo]] = {"model": [], "test": [], "seed": [], "snapshot": []}
    for node in manifest.nodes.values():
        info = _info(node)
        if info.resource_type in groups:
            groups[info.resource_type].append(info)
    return ManifestResult(
        models=by_name(groups["model"]),
        tests=by_name(groups["test"]),
        seeds=by_name(groups["seed"]),
        snapshots=by_name(groups["snapshot"]),
        sources=by_name([_info(s) for s in manifest.sources.values()]),
    )

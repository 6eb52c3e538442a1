"""dbt selectors named by a pipeline's steps, checked against the project's manifest."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, cast

import yaml

from dacrew.tools.base import ToolContext
from dacrew.tools.orchestra.spec import Problem, Step, dbt_commands, selectors_of, yaml_pos


# -- dbt selectors against the manifest -------------------------------------------------------------
def matches(node: dict[str, Any], method: str, value: str) -> bool:
    fqn = [str(p) for p in cast(list[Any], node.get("fqn") or [])]
    if method == "tag":
        return any(fnmatch(str(t), value) for t in cast(list[Any], node.get("tags") or []))
    if method == "path":
        path = str(node.get("original_file_path", ""))
        return path == value or path.startswith(value.rstrip("/") + "/") or fnmatch(path, value)
    if method == "resource_type":
        return node.get("resource_type") == value
    if method == "package":
        return node.get("package_name") == value
    if method == "source":
        if node.get("resource_type") != "source":
            return False
        parts = value.split(".")
        ok = fnmatch(str(node.get("source_name", "")), parts[0])
        return ok and (len(parts) == 1 or fnmatch(str(node.get("name", "")), parts[1]))
    if method.startswith("config."):
        config = cast(dict[str, Any], node.get("config") or {})
        return str(config.get(method.split(".", 1)[1])) == value
    # fqn (the default): the node's name, or a dotted prefix of its fqn with or without the project
    parts = value.split(".")
    if len(parts) == 1 and fnmatch(str(node.get("name", "")), value):
        return True
    for candidate in (fqn, fqn[1:]):
        if len(candidate) >= len(parts) and all(fnmatch(c, p) for c, p in zip(candidate, parts, strict=False)):
            return True
    return False


CHECKABLE = {"tag", "path", "resource_type", "package", "source", "fqn"}


def selector_matches(manifest: dict[str, Any], selector: str) -> bool | None:
    """True if the selector selects at least one node; None if it cannot be checked offline."""
    nodes = [cast(dict[str, Any], n) for n in cast(dict[str, Any], manifest.get("nodes") or {}).values()]
    nodes += [cast(dict[str, Any], n) for n in cast(dict[str, Any], manifest.get("sources") or {}).values()]
    for union_part in selector.split():
        selected: set[int] | None = None
        for atom in union_part.split(","):
            atom = re.sub(r"^(@|\d*\+)", "", re.sub(r"\+\d*$", "", atom))
            if ":" in atom:
                method, value = atom.split(":", 1)
            elif "/" in atom or atom.endswith((".sql", ".py", ".csv")):
                method, value = "path", atom
            else:
                method, value = "fqn", atom
            if method not in CHECKABLE and not method.startswith("config."):
                return None  # state:, result:, selector: … need dbt itself
            hits = {i for i, n in enumerate(nodes) if matches(n, method, value)}
            selected = hits if selected is None else selected & hits
        if selected:
            return True
    return False


def defined_selectors(dbt_dir: Path) -> set[str] | None:
    """The names selectors.yml defines (none when the file is absent); ``None`` when it does not read."""
    path = dbt_dir / "selectors.yml"
    if not path.is_file():
        return set()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    entries = cast(dict[str, Any], data).get("selectors") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return set()
    return {str(cast(dict[str, Any], e).get("name")) for e in cast(list[Any], entries) if isinstance(e, dict)}


def manifest_problems(ctx: ToolContext, steps: list[Step], node: yaml.Node | None) -> tuple[list[Problem], bool]:
    """Every dbt selector of the pipeline checked against target/manifest.json; True if it was read."""
    dbt_steps = [(s, c) for s in steps for c in dbt_commands(s)]
    if not dbt_steps:
        return [], True
    dbt_dir = ctx.project_dir / (ctx.config.dbt.project_dir or ".")
    manifest_path = dbt_dir / "target" / "manifest.json"
    if not manifest_path.is_file():
        return [
            Problem(
                severity="warning",
                message="no target/manifest.json, so dbt selectors were not checked: parse the project first (dbt_ls)",
                source="dbt-manifest",
            )
        ], False
    from dacrew.tools.base import WAREHOUSE_FILE_LOCK

    try:
        with WAREHOUSE_FILE_LOCK:  # dbt, in another task of this process, may be writing it
            manifest = cast(dict[str, Any], json.loads(manifest_path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        return [
            Problem(
                severity="warning",
                message=f"target/manifest.json could not be read ({type(exc).__name__}), so dbt selectors were "
                "not checked: run dbt_ls and validate again",
                source="dbt-manifest",
            )
        ], False
    problems: list[Problem] = []
    named = defined_selectors(dbt_dir)
    for step, command in dbt_steps:
        for selector in selectors_of(command):
            if "${{" in selector:
                continue
            if selector.startswith("selector:"):
                name = selector.removeprefix("selector:")
                found = None if named is None or name in named else False
                why = f"is not defined in selectors.yml (defined: {', '.join(sorted(named or ())) or 'none'})"
            else:
                found = selector_matches(manifest, selector)
                why = "matches no node of the project"
            if found is False:
                path = ["pipeline", step.group, "tasks", step.id] if step.group else ["pipeline", step.id]
                problems.append(
                    Problem(
                        severity="error",
                        message=f"dbt selector {selector!r} (in `dbt {' '.join(command)}`) {why}",
                        task=step.id,
                        path=".".join(path),
                        line=yaml_pos(node, path)[0],
                        column=yaml_pos(node, path)[1],
                        source="dbt-manifest",
                    )
                )
    return problems, True

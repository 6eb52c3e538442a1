"""The agent registry: one markdown file per agent in ``prompts/`` — YAML front matter (name,
description, model, tools, permissions) and the system prompt as its body.

A project may override or add agents with its own ``prompts/<agent>.md``; the shipped ones are the
default.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dacrew.errors import UserError
from dacrew.tools.base import PERMISSIONS

PARENT_PROMPT = "parent"
OWNER_TO_AGENT = {"Parent Agent": PARENT_PROMPT, "Sub-Agents": PARENT_PROMPT}


class AgentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    model: str | None = None
    tools: list[str] = Field(default_factory=list[str])
    permissions: list[str] = Field(default_factory=lambda: ["read"])
    prompt: str = ""
    source: str = ""

    @property
    def permission_set(self) -> frozenset[str]:
        return frozenset(self.permissions)


def parse_agent_file(text: str, source: str) -> AgentSpec:
    if not text.startswith("---"):
        raise UserError("an agent file starts with YAML front matter between --- lines", path=source, line=1)
    parts = text.split("\n---", 1)
    if len(parts) != 2:
        raise UserError("front matter is not closed with a --- line", path=source, line=1)
    head, body = parts[0][3:], parts[1].split("\n", 1)[1] if "\n" in parts[1] else ""
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"invalid front matter: {exc}", path=source, line=1) from None
    if not isinstance(meta, dict):
        raise UserError("front matter must be a mapping", path=source, line=1)
    try:
        spec = AgentSpec(**meta, prompt=body.strip(), source=source)  # pyright: ignore[reportUnknownArgumentType]
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UserError(f"front matter {where}: {err['msg']}", path=source, line=1) from None
    unknown = set(spec.permissions) - PERMISSIONS
    if unknown:
        raise UserError(
            f"unknown permission {sorted(unknown)[0]!r} (known: {', '.join(sorted(PERMISSIONS))})",
            path=source,
            line=1,
        )
    return spec


@cache
def _shipped(name: str) -> AgentSpec | None:
    ref = resources.files("dacrew.prompts").joinpath(f"{name}.md")
    if not ref.is_file():
        return None
    return parse_agent_file(ref.read_text(encoding="utf-8"), f"prompts/{name}.md")


def agent_name(owner: str) -> str:
    """The prompt file name for a plan owner (``Parent Agent`` → ``parent``)."""
    return OWNER_TO_AGENT.get(owner, owner)


def load_agent(owner: str, project_dir: Path | None = None) -> AgentSpec:
    """The spec for ``owner``: the project's ``prompts/<name>.md`` if present, else the shipped one."""
    name = agent_name(owner)
    if project_dir is not None:
        local = project_dir / "prompts" / f"{name}.md"
        if local.is_file():
            return parse_agent_file(local.read_text(encoding="utf-8"), str(local))
    spec = _shipped(name)
    if spec is None:
        known = ", ".join(sorted(shipped_agents()))
        raise UserError(f"unknown agent {owner!r} (known: {known})")
    return spec


def shipped_agents() -> list[str]:
    root = resources.files("dacrew.prompts")
    return sorted(p.name[:-3] for p in root.iterdir() if p.name.endswith(".md") and p.name != "tasks-template.md")

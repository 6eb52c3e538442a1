"""A conversation's saved state: where it stands (stage), its feature folder, the two model threads
(interview and planning) and its run — so ``dacrew chat --resume`` picks it up where it stopped.

Saved as JSON at ``.dacrew/chat/<conversation-id>/state.json`` after every step (written to a temporary
file, then renamed). The person's input history lives beside it (``.dacrew/chat/history``).
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dacrew.errors import UserError
from dacrew.findings.format import Usage

CHAT_DIR = Path(".dacrew") / "chat"
Stage = Literal["describe", "interview", "plan", "run", "done"]


class ChatState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    conversation_id: str
    project_dir: str
    model: str | None = None
    stage: Stage = "describe"
    feature: str = ""
    """The feature folder under ``specs/`` (``001-churn-dashboard``), once the spec is written."""
    request: str = ""
    """The feature as the person first described it."""
    interview: list[dict[str, Any]] = Field(default_factory=list[dict[str, Any]])
    planning: list[dict[str, Any]] = Field(default_factory=list[dict[str, Any]])
    questions: int = 0
    enough: bool = False
    """The person said "enough": further questions are answered for them with "write the spec now"."""
    plan_version: int = 0
    """The last version of tasks.md written (``tasks.v<N>.md``); 0 before the first."""
    plan_valid: bool = False
    run_id: str | None = None
    usage: Usage = Field(default_factory=Usage)
    """What the conversation's own model calls cost (the run's tasks count in their findings)."""

    @property
    def project(self) -> Path:
        return Path(self.project_dir)

    @property
    def folder(self) -> Path:
        """The feature folder: ``specs/<###-feature>/``."""
        return self.project / "specs" / self.feature

    @property
    def plan_path(self) -> Path:
        return self.folder / "tasks.md"

    @property
    def state_path(self) -> Path:
        return self.project / CHAT_DIR / self.conversation_id / "state.json"


def new_state(project: Path, model: str | None) -> ChatState:
    conversation_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
    return ChatState(conversation_id=conversation_id, project_dir=str(project), model=model)


def save_state(state: ChatState) -> None:
    path = state.state_path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    os.replace(partial, path)


def last_state(project: Path) -> ChatState:
    """The project's latest conversation; :class:`UserError` when there is none (or it cannot be read)."""
    root = project / CHAT_DIR
    saved = sorted(p for p in root.glob("*/state.json")) if root.is_dir() else []
    if not saved:
        raise UserError(f"no conversation to resume in {project}: start one with `dacrew chat`")
    path = saved[-1]
    try:
        return ChatState.model_validate_json(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise UserError(f"cannot read the saved conversation: {str(exc).splitlines()[0]}", path=str(path)) from None


def history_path(project: Path) -> Path:
    """The person's input history, shared by the project's conversations."""
    return project / CHAT_DIR / "history"


def feature_folder(project: Path, name: str) -> str:
    """``###-slug`` for a new feature: the next free number under ``specs/``, the name in lowercase words."""
    slug = "-".join(re.findall(r"[a-z0-9]+", name.lower()))[:48].strip("-") or "feature"
    taken = [int(m.group(1)) for p in (project / "specs").glob("*") if (m := re.match(r"(\d{3})-", p.name))]
    return f"{max(taken, default=0) + 1:03d}-{slug}"

"""What a run is made of: its settings (saved with the run, so ``resume`` needs none of them again) and
the serialisable state the parent graph passes between its nodes."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from pydantic import BaseModel, ConfigDict

from dacrew.errors import UserError

STATE_DIR = ".dacrew"
RUNS_DIR = "runs"


class RunSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    plan: str
    """The plan file, relative to the project folder when inside it."""
    project_dir: str
    model: str | None = None
    dry_run: bool = False
    headless: bool = False
    max_parallel: int = 4
    gates: bool = False
    budget_usd: float | None = None
    strict_checks: bool = False
    """An unverified check fails its task, as a failed one does (``--strict-checks``, ``checks: strict``)."""
    step_limit: int = 25
    full_replay: bool = False
    """With ``model: replay:<cassette>``: tool results and checks come from the cassette too."""
    strict_replay: bool = False
    """A replayed request or tool result that differs from the recording fails its task."""
    report_json: str | None = None
    junit: str | None = None
    rerun_done: bool = False
    """Run the tasks the plan marks done (``- [x]``) too."""
    created: str = ""

    @property
    def project(self) -> Path:
        return Path(self.project_dir).resolve()

    @property
    def plan_path(self) -> Path:
        p = Path(self.plan)
        return p if p.is_absolute() else self.project / p

    @property
    def run_dir(self) -> Path:
        return run_dir(self.project, self.run_id)


class ParentState(TypedDict, total=False):
    run_id: str
    plan: str
    """The plan file, relative to the project folder (an input of runs started on a LangGraph server)."""
    feature: str
    tasks: int
    outcomes: dict[str, dict[str, Any]]
    status: str
    exit_code: int


def new_run_id() -> str:
    """Sortable and unique: ``20261128-130405-3fa2``."""
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)


def run_dir(project: Path, run_id: str) -> Path:
    return project / STATE_DIR / RUNS_DIR / run_id


def save_settings(settings: RunSettings) -> None:
    path = settings.run_dir / "run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(settings.model_dump_json(indent=2), encoding="utf-8")


def load_settings(project: Path, run_id: str) -> RunSettings:
    path = run_dir(project, run_id) / "run.json"
    if not path.is_file():
        known = list_runs(project)
        hint = f" (runs here: {', '.join(known[-5:])})" if known else " (no runs in this project yet)"
        raise UserError(f"no run {run_id!r} in {project / STATE_DIR / RUNS_DIR}{hint}")
    try:
        return RunSettings.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, json.JSONDecodeError) as exc:
        raise UserError(f"run settings are unreadable: {exc}", path=str(path)) from None


def list_runs(project: Path) -> list[str]:
    root = project / STATE_DIR / RUNS_DIR
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "run.json").is_file())

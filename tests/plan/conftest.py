"""Shared plans for the plan compiler's tests: the shipped template, the example, and small builders."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from dacrew.plan.model import Task, TaskPlan

EXAMPLE = Path(__file__).parents[2] / "examples" / "customer_ltv" / "tasks.md"


def template_text() -> str:
    # The package copy: what users get, not a test fixture that could drift from it.
    return resources.files("dacrew.prompts").joinpath("tasks-template.md").read_text(encoding="utf-8")


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.md"
    path.write_text(template_text(), encoding="utf-8")
    return path


def make_plan(*specs: tuple[str, bool, list[str], list[str]]) -> TaskPlan:
    """Tasks as ``(id, parallel, dependencies, files)``."""
    return TaskPlan(
        tasks=[
            Task(id=i, title=i, owners=["dbt-expert"], parallel=p, dependencies=d, files=f, acceptance="ok")
            for i, p, d, f in specs
        ]
    )

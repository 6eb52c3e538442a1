"""The template itself, as users get it: its tasks, its graph, and the warnings it must raise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.errors import UserError
from dacrew.plan.model import TaskPlan
from dacrew.plan.parse import parse_plan
from dacrew.plan.validate import compile_plan

from .conftest import template_text


@pytest.fixture
def plan() -> TaskPlan:
    return parse_plan(template_text(), "tasks.md")


def test_template_has_its_18_tasks_in_5_phases(plan: TaskPlan) -> None:
    assert [t.id for t in plan.tasks] == [f"T{n:03d}" for n in range(1, 19)]
    assert [p.title for p in plan.phases] == [
        "Setup & Configuration Tasks",
        "Data Foundation Tasks",
        "Business Logic Implementation Tasks",
        "Integration & Testing Tasks",
        "Deployment & Go-Live Tasks",
    ]
    assert plan.phases[1].note == "can execute in parallel"
    assert plan.phases[1].tasks == ["T004", "T005", "T006", "T007"]
    assert plan.format == "template"
    assert plan.feature == "[FEATURE]"


def test_template_fields(plan: TaskPlan) -> None:
    t = plan.by_id
    assert t["T005"].parallel
    assert t["T005"].dependencies == ["T004"]
    assert not t["T009"].parallel
    assert t["T014"].owners == ["dbt-expert", "orchestra-expert"]
    assert t["T016"].owners == ["Parent Agent", "Sub-Agents"]
    assert t["T017"].owners == ["business-context", "Parent Agent"]
    assert t["T016"].dependencies == ["T012", "T013", "T014", "T015"]
    assert t["T001"].dependencies == []
    assert t["T003"].files == ["Repository root"]
    assert t["T005"].files == ["models/staging/stg_*.sql", "models/staging/_sources.yml"]
    assert t["T001"].files == ["config/", ".env", "dbt_project.yml"]
    assert t["T001"].description[0] == "Initialize project structure and tool configurations"
    assert t["T001"].description[1:] == [
        "Create dbt project structure",
        "Configure Snowflake connection parameters",
        "Set up Tableau Server connection",
        "Initialize Orchestra workspace",
    ]
    assert t["T018"].acceptance == "System stable in production with user adoption"
    assert t["T012"].phase == "Integration & Testing Tasks"
    # Lines as in the file: the heading, then each field below it.
    assert t["T004"].line == 64
    assert t["T004"].lines["owners"] == 65
    assert t["T004"].lines["acceptance"] == 73


def test_template_sections(plan: TaskPlan) -> None:
    assert [(p.upstream, p.downstream) for p in plan.integration_points] == [
        ("T005", "T008"),
        ("T009", "T010"),
        ("T011", "T013"),
        ("T012", "T016"),
    ]
    assert [e.tasks for e in plan.parallel_examples] == [
        ["T004", "T005", "T006", "T007"],
        ["T008"],
        ["T009", "T010", "T011"],
        ["T013", "T014", "T015"],
    ]
    assert plan.parallel_examples[0].section.startswith("Phase 1: Foundation")


def test_template_warnings(template_path: Path) -> None:
    plan, warnings = compile_plan(template_path)
    messages = [(w.line, w.message) for w in warnings]
    assert messages == [
        (1, "unfilled template placeholder [FEATURE]"),
        (3, "unfilled template placeholders [###-feature-name], [DATE], [link]"),
        (7, "unfilled template placeholder [COUNT]"),
        (8, "unfilled template placeholder [TIMEFRAME]"),
        (9, "unfilled template placeholder [LIST]"),
        (235, "parallel example runs T004, T005, T006, T007 together, but T005 depends on T004"),
        (242, "parallel example runs T009, T010, T011 together, but T010 depends on T009; T011 depends on T009"),
        (281, "unfilled template placeholder [TIMESTAMP]"),
    ]
    assert all(str(w).startswith(f"{template_path}:{w.line}: warning: ") for w in warnings)
    # The integration point T011 → T013 is not among T013's dependencies: the compiler adds it and says so.
    assert plan.by_id["T013"].dependencies == ["T010", "T011"]
    assert [n.line for n in plan.notes] == [261]
    assert "T013 now depends on T011" in plan.notes[0].message


def test_template_under_strict_fails_on_its_first_placeholder(template_path: Path) -> None:
    with pytest.raises(UserError) as info:
        compile_plan(template_path, strict=True)
    assert str(info.value) == f"{template_path}:1: unfilled template placeholder [FEATURE]"


def test_validate_json_prints_the_template(template_path: Path) -> None:
    result = CliRunner().invoke(app, ["plan", "validate", str(template_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert len(data["tasks"]) == 18
    t14 = data["tasks"][13]
    assert t14["id"] == "T014"
    assert t14["owners"] == ["dbt-expert", "orchestra-expert"]
    assert t14["phase"] == "Integration & Testing Tasks"
    assert t14["parallel"] is True
    assert t14["dependencies"] == ["T008", "T012"]
    assert t14["files"] == ["models/tests/", "orchestration/monitoring/"]
    assert isinstance(t14["description"], list)
    assert isinstance(t14["acceptance"], str)
    assert t14["checks"] == []
    assert t14["line"] == 173
    assert {"feature", "phases", "tasks"} <= set(data)
    assert "warning: unfilled template placeholder [FEATURE]" in result.stderr
    # JSON round trip: what we print reads back to the same plan.
    assert TaskPlan.model_validate(data).model_dump(mode="json") == data

"""spec-kit checklists as they are written in public repositories: ids in bold or code spans, wrapped
lines and nested bullets, checked-off tasks, and every problem reported at its line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.errors import UserError
from dacrew.plan.parse import parse_plan, read_plan
from dacrew.plan.validate import compile_plan, diagnose_plan

runner = CliRunner()

BOLD = """\
## Phase 1: Staging
- [ ] T001 [P] Create models/staging/stg_token_usage.sql
- [ ] **T002** [P] Create models/staging/stg_accounts.sql
## Phase 2: Marts
- [ ] T003 Build models/marts/fct_token_usage_daily.sql
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tasks.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_bold_id_is_a_task(tmp_path: Path) -> None:
    plan, warnings = compile_plan(_write(tmp_path, BOLD), strict=True)
    assert warnings == []
    assert [t.id for t in plan.tasks] == ["T001", "T002", "T003"]
    assert plan.by_id["T002"].files == ["models/staging/stg_accounts.sql"]
    assert plan.by_id["T002"].line == 3
    assert plan.by_id["T003"].dependencies == ["T001", "T002"]


@pytest.mark.parametrize("written", ["**T002**", "`T002`", "*T002*", "__T002__", "_T002_"])
def test_wrapped_ids_parse(written: str) -> None:
    plan = parse_plan(f"## Phase 1: A\n- [ ] T001 Setup\n- [ ] {written} [P] Create models/a.sql\n")
    task = plan.by_id["T002"]
    assert (task.parallel, task.title, task.owners) == (True, "Create models/a.sql", ["dbt-expert"])


def test_wrapped_id_in_a_template_heading() -> None:
    plan = parse_plan("## Setup Tasks\n### **T001**: Work [P]\n**Owner**: dbt-expert\n**Acceptance**: ok\n")
    assert (plan.tasks[0].id, plan.tasks[0].title, plan.tasks[0].parallel) == ("T001", "Work", True)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("- [ ] **T00x** [P] Create models/b.sql", "malformed task line '**T00x** [P]"),
        ("- [ ] `T0 2` Create models/b.sql", "malformed task line '`T0 2` Create"),
        ("* [ ] TXXX Docs in docs/", "malformed task line 'TXXX Docs"),
        ("1. [x] T002", "task T002 has no description"),
    ],
)
def test_a_task_line_that_does_not_parse_is_an_error_at_its_line(tmp_path: Path, line: str, message: str) -> None:
    path = _write(tmp_path, f"## Phase 1: A\n- [ ] T001 ok in models/a.sql\n{line}\n- [ ] T003 more\n")
    with pytest.raises(UserError) as info:
        compile_plan(path)
    assert (info.value.line, info.value.message[: len(message)]) == (3, message)


def test_explicit_dependency_error_points_at_its_task(tmp_path: Path) -> None:
    text = BOLD.replace("fct_token_usage_daily.sql", "fct_token_usage_daily.sql (depends on T009)")
    with pytest.raises(UserError) as info:
        compile_plan(_write(tmp_path, text))
    assert (info.value.line, info.value.message) == (5, "T003 depends on unknown task T009")


SUB_BULLETS = """\
## Phase 1: Staging
- [ ] T001 [P] Build the invoice staging model
  - File: models/staging/stg_invoices.sql
  - Rename amount_cents to amount and divide by 100
- [ ] T002 [P] Build the customer staging model
  - File: models/staging/stg_invoices.sql
"""


def test_sub_bullets_belong_to_their_task(tmp_path: Path) -> None:
    plan, warnings = compile_plan(_write(tmp_path, SUB_BULLETS))
    t1, t2 = plan.tasks
    assert t1.files == t2.files == ["models/staging/stg_invoices.sql"]
    assert t1.description == ["Rename amount_cents to amount and divide by 100"]
    assert t2.description == []
    assert t1.owners == t2.owners == ["dbt-expert"]
    assert t2.lines["files"] == 6
    assert [(w.line, w.code, w.message) for w in warnings] == [
        (
            6,
            "overlapping-files",
            "[P] tasks T001 and T002 write overlapping Files; they will not run at the same time",
        )
    ]


def test_wrapped_lines_and_labelled_sub_bullets() -> None:
    text = """\
# Tasks: Usage

## Phase 1: Setup
- [ ] T001 Set up the project

## Phase 2: Build
* [ ] T002 [P] [US1] Build the daily usage mart, one row per account and day,
  wrapped in models/marts/fct_usage_daily.sql
    * **Files:** `models/marts/fct_usage_daily.sql`, `models/marts/_marts.yml`
    * **Depends on**: T001
    * Verification: dbt build --select fct_usage_daily passes

  A second paragraph of the same task.
- [ ] T003 [P] Publish the extract
  - Files: tableau/usage.tds
  - depends on: T002
  - verify: the extract opens
"""
    plan, problems = read_plan(text)
    assert problems == []
    t2, t3 = plan.by_id["T002"], plan.by_id["T003"]
    assert t2.title == "Build the daily usage mart, one row per account and day,"
    assert t2.labels == ["US1"]
    assert t2.description == [
        "wrapped in models/marts/fct_usage_daily.sql",
        "A second paragraph of the same task.",
    ]
    assert t2.files == ["models/marts/fct_usage_daily.sql", "models/marts/_marts.yml"]
    assert t2.owners == ["dbt-expert"]
    assert t2.acceptance == "dbt build --select fct_usage_daily passes"
    assert t2.lines["dependencies"] == 10
    assert t2.dependencies == ["T001"]
    assert t3.files == ["tableau/usage.tds"]
    assert t3.owners == ["tableau-expert"]
    assert t3.dependencies == ["T002", "T001"]
    assert t3.acceptance == "the extract opens"


def test_bad_dependency_sub_bullet_is_located(tmp_path: Path) -> None:
    text = "## Phase 1: A\n- [ ] T001 Setup\n  - Depends on: the setup\n"
    with pytest.raises(UserError) as info:
        compile_plan(_write(tmp_path, text))
    assert (info.value.line, info.value.message) == (3, "T001: dependency 'the' is not a task id like T001")


def test_checked_tasks_are_done_in_the_json(tmp_path: Path) -> None:
    text = "## Phase 1: A\n- [X] T001 Setup in models/a.sql\n- [x] T002 More\n- [ ] T003 Rest\n"
    result = runner.invoke(app, ["plan", "validate", str(_write(tmp_path, text)), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(t["id"], t["done"]) for t in data["tasks"]] == [("T001", True), ("T002", True), ("T003", False)]
    assert data["diagnostics"] == []
    summary = runner.invoke(app, ["plan", "validate", str(tmp_path / "tasks.md")])
    assert "3 tasks in 1 phases (0 [P], 2 done)" in summary.stdout


BROKEN = """\
# Data Analytics Tasks: Broken [DATE]

## Setup Tasks

### T001: Work
**Owner**: dbt-exprt
**Dependencies**: T009
**Acceptance**: ok

### T002: Other
**Owner**: dbt-expert
**Acceptance**: ok
"""


def test_every_problem_is_printed_and_in_the_json(tmp_path: Path) -> None:
    path = _write(tmp_path, BROKEN)
    result = runner.invoke(app, ["plan", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:6: unknown owner 'dbt-exprt' (did you mean 'dbt-expert'?)",
        f"{path}:7: T001 depends on unknown task T009",
        f"{path}:1: warning: unfilled template placeholder [DATE]",
    ]
    as_json = runner.invoke(app, ["plan", "validate", str(path), "--json"])
    assert as_json.exit_code == 2
    assert as_json.stderr.splitlines() == [f"{path}:6: unknown owner 'dbt-exprt' (did you mean 'dbt-expert'?)"]
    diagnostics = json.loads(as_json.stdout)["diagnostics"]
    assert [(d["path"], d["line"], d["severity"], d["code"]) for d in diagnostics] == [
        (str(path), 6, "error", "unknown-owner"),
        (str(path), 7, "error", "unknown-dependency"),
        (str(path), 1, "warning", "placeholder"),
    ]
    assert diagnostics[1]["message"] == "T001 depends on unknown task T009"


def test_several_shape_errors_are_all_reported(tmp_path: Path) -> None:
    text = "## Phase 1: A\n- [ ] T001 ok\n- [ ] T0x2 broken\n- [ ] T003 ok\n- [ ] **T0y4** broken too\n"
    _, problems = diagnose_plan(_write(tmp_path, text))
    assert [(p.line, p.severity, p.code) for p in problems] == [
        (3, "error", "malformed-task"),
        (5, "error", "malformed-task"),
    ]


def test_fenced_and_commented_task_lines_are_not_tasks() -> None:
    text = "## Phase 1: A\n- [ ] T001 ok\n<!--\n- [ ] T002 an example in a comment\n-->\n```\n- [ ] T003 code\n```\n"
    assert [t.id for t in parse_plan(text).tasks] == ["T001"]

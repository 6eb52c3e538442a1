"""A filled plan of our own (no warnings, with Checks) and a spec-kit checklist plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dacrew.errors import UserError
from dacrew.plan.parse import parse_plan
from dacrew.plan.schedule import simulate
from dacrew.plan.validate import compile_plan, validate

from .conftest import EXAMPLE

SPECKIT = """\
# Tasks: Customer Lifetime Value

## Phase 1: Setup
- [ ] T001 Create the project structure per the implementation plan
- [ ] T002 [P] Declare raw sources in models/staging/_sources.yml
- [ ] T003 [P] Create the warehouse schemas in snowflake/schemas/analytics.sql

## Phase 2: Foundational
- [ ] T004 [P] [US1] Build `models/staging/stg_orders.sql` and `models/staging/stg_payments.sql`
- [ ] T005 [P] [US1] Pipeline skeleton in orchestration/pipelines/customer_ltv.yml
- [ ] T006 [US1] Join payments in models/intermediate/int_order_payments.sql
- [x] T007 [US2] Publish tableau/datasources/customer_ltv.tds (depends on T004)

## Phase 3: Polish
- [ ] T008 [P] Write documentation/customer_ltv.md
- [ ] T009 [P] Training notes in training/ltv.md
"""


def test_example_plan_is_clean_and_complete() -> None:
    plan, warnings = compile_plan(EXAMPLE, strict=True)
    assert warnings == []
    assert plan.notes == []
    assert plan.feature == "Customer Lifetime Value"
    assert plan.branch == "014-customer-ltv"
    assert plan.date == "2026-11-28"
    assert 10 <= len(plan.tasks) <= 14
    parallel = [t.id for t in plan.tasks if t.parallel]
    assert 0 < len(parallel) < len(plan.tasks)
    kinds = {c.kind for t in plan.tasks for c in t.checks}
    assert kinds == {"dbt", "sql", "table", "file", "tableau", "orchestra", "finding"}
    ltv = plan.by_id["T008"]
    assert [(c.kind, c.argument) for c in ltv.checks] == [
        ("dbt", "build --select customer_ltv"),
        ("sql", "select count(*) = 50 from analytics.customer_ltv"),
        ("sql", "select sum(lifetime_value) = 3964.76 from analytics.customer_ltv"),
        ("table", "analytics.customer_ltv matches expected/customer_ltv_tiers.csv"),
    ]
    assert ltv.checks[0].line == ltv.lines["checks"] + 1
    assert plan.by_id["T012"].owners == ["orchestra-expert", "dbt-expert"]
    assert simulate(plan).waves[2] == ["T003", "T004", "T005"]


def test_speckit_owners_dependencies_and_phases() -> None:
    plan = parse_plan(SPECKIT, "tasks.md")
    assert plan.format == "speckit"
    assert [p.title for p in plan.phases] == ["Phase 1: Setup", "Phase 2: Foundational", "Phase 3: Polish"]
    t = plan.by_id
    assert t["T001"].owners == ["Parent Agent"]
    assert not t["T001"].parallel
    assert t["T002"].owners == ["dbt-expert"]
    assert t["T002"].files == ["models/staging/_sources.yml"]
    assert t["T003"].owners == ["snowflake-expert"]
    assert t["T004"].files == ["models/staging/stg_orders.sql", "models/staging/stg_payments.sql"]
    assert t["T004"].labels == ["US1"]
    assert t["T004"].title.startswith("Build")
    assert t["T005"].owners == ["orchestra-expert"]
    assert t["T007"].owners == ["tableau-expert"]
    assert t["T008"].owners == t["T009"].owners == ["business-context"]
    # Inside a phase a [P] task does not wait for the task before it; a task without [P] does.
    assert t["T001"].dependencies == []
    assert t["T002"].dependencies == []
    assert t["T003"].dependencies == []
    # A phase waits for the phases before it: the previous phase's last tasks.
    assert t["T004"].dependencies == ["T001", "T002", "T003"]
    assert t["T006"].dependencies == ["T001", "T002", "T003", "T005"]
    # spec-kit's own "(depends on T004)" adds to the rules.
    assert t["T007"].dependencies == ["T004", "T001", "T002", "T003", "T006"]
    assert t["T008"].dependencies == ["T004", "T007"]
    # No Acceptance in spec-kit lines, and none is required.
    assert [d for d in validate(plan) if d.severity == "error"] == []


@pytest.mark.parametrize("line", ["- [ ] T0x2 broken", "- [ ] TXXX [P] Documentation updates in docs/"])
def test_speckit_malformed_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "tasks.md"
    path.write_text(f"# Tasks: x\n## Phase 1: Setup\n- [ ] T001 ok in models/a.sql\n{line}\n")
    with pytest.raises(UserError, match=rf":4: malformed task line '{re.escape(line[6:16])}"):
        compile_plan(path)


def test_mixing_formats_is_an_error() -> None:
    text = "## A Tasks\n### T001: a\n**Owner**: dbt-expert\n**Acceptance**: ok\n\n## Other\n- [ ] T002 b\n"
    with pytest.raises(UserError, match=r"tasks.md:7: mixes task headings"):
        parse_plan(text)


def _plan(tmp_path: Path, t2_deps: str, example: str = "") -> Path:
    text = (
        "# Data Analytics Tasks: Overlaps\n\n## Data Foundation Tasks\n\n"
        "### T001: Staging [P]\n**Owner**: dbt-expert\n**Dependencies**: None\n"
        "**Files**: `models/staging/`\n**Acceptance**: ok\n\n"
        f"### T002: One model [P]\n**Owner**: dbt-expert\n**Dependencies**: {t2_deps}\n"
        "**Files**: `models/staging/stg_orders.sql`\n**Acceptance**: ok\n\n"
        "### T003: Docs [P]\n**Owner**: business-context\n**Dependencies**: None\n"
        "**Files**: `documentation/`\n**Acceptance**: ok\n"
    )
    if example:
        text += f"\n## Parallel Execution Examples\n\n### Together\n```bash\nTask run {example}\n```\n"
    path = tmp_path / "tasks.md"
    path.write_text(text, encoding="utf-8")
    return path


def test_overlapping_parallel_files_warn_only_when_independent(tmp_path: Path) -> None:
    _, warnings = compile_plan(_plan(tmp_path, "None"))
    assert [(w.line, w.message) for w in warnings] == [
        (14, "[P] tasks T001 and T002 write overlapping Files; they will not run at the same time")
    ]
    _, warnings = compile_plan(_plan(tmp_path, "T001"))
    assert warnings == []
    with pytest.raises(UserError, match=r"tasks.md:14: \[P\] tasks T001 and T002"):
        compile_plan(_plan(tmp_path, "None"), strict=True)


def test_parallel_examples_checked_against_dependencies(tmp_path: Path) -> None:
    _, warnings = compile_plan(_plan(tmp_path, "T001", example="T001 T002 T003 T009"))
    assert [(w.line, w.message) for w in warnings] == [
        (27, "parallel example names unknown task T009"),
        (27, "parallel example runs T001, T002, T003 together, but T002 depends on T001"),
    ]
    _, warnings = compile_plan(_plan(tmp_path, "T001", example="T002 T003"))
    assert warnings == []

"""Malformed plans: each gives exit 2 and one line, ``path:line: message``, at the field at fault."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.errors import UserError
from dacrew.plan.validate import compile_plan


def _task(tid: str, *, owner: str = "dbt-expert", deps: str = "None", title: str = "Work", accept: bool = True) -> str:
    lines = [f"### {tid}: {title}", f"**Owner**: {owner}", f"**Dependencies**: {deps}", "**Files**: `models/`"]
    if accept:
        lines.append("**Acceptance**: done")
    return "\n".join(lines) + "\n\n"


HEAD = "# Data Analytics Tasks: Test\n\n## Setup Tasks\n\n"  # the first task heading is on line 5

CASES: list[tuple[str, str, int, str]] = [
    ("empty", "", 1, "the plan is empty"),
    ("blank", "  \n\n\t\n", 1, "the plan is empty"),
    ("no tasks", "# Just notes\n\nNothing to do.\n", 1, "no tasks found"),
    ("no colon", HEAD + "### T001 Work\n**Owner**: dbt-expert\n", 5, "malformed task heading 'T001 Work'"),
    ("bad id", HEAD + _task("T001") + "### T00x: Other\n", 11, "malformed task heading 'T00x: Other'"),
    ("not a task in a phase", HEAD + "### Notes\n", 5, "malformed task heading 'Notes'"),
    ("empty title", HEAD + "### T001:   [P]\n", 5, "task T001 has no title"),
    ("level 2 task", "## T001: Work\n", 1, "must be a level-3 heading"),
    (
        "duplicate id",
        HEAD + _task("T001") + _task("T002") + _task("T001"),
        17,
        "duplicate task id T001 (first defined at line 5)",
    ),
    ("self dependency", HEAD + _task("T001") + _task("T002", deps="T001, T002"), 13, "T002 depends on itself"),
    (
        "unknown dependency",
        HEAD + _task("T001") + _task("T002", deps="T001, T099"),
        13,
        "T002 depends on unknown task T099",
    ),
    ("not an id", HEAD + _task("T001", deps="the setup task"), 7, "dependency 'the' is not a task id"),
    (
        "cycle",
        HEAD + _task("T001") + _task("T002", deps="T003") + _task("T003", deps="T002"),
        13,
        "dependency cycle: T002 → T003 → T002",
    ),
    (
        "long cycle",
        HEAD + _task("T001", deps="T003") + _task("T002", deps="T001") + _task("T003", deps="T002"),
        7,
        "dependency cycle: T001 → T002 → T003 → T001",
    ),
    (
        "unknown owner",
        HEAD + _task("T001", owner="dbt-exprt"),
        6,
        "unknown owner 'dbt-exprt' (did you mean 'dbt-expert'?)",
    ),
    (
        "owner case",
        HEAD + _task("T001", owner="parent agent"),
        6,
        "unknown owner 'parent agent' (did you mean 'Parent Agent'?)",
    ),
    ("far owner", HEAD + _task("T001", owner="zzz"), 6, "unknown owner 'zzz' (known: "),
    ("second owner", HEAD + _task("T001", owner="dbt-expert + tablo-expert"), 6, "did you mean 'tableau-expert'?"),
    ("no acceptance", HEAD + _task("T001", accept=False), 5, "T001 has no **Acceptance** criteria"),
    ("no owner", HEAD + "### T001: Work\n**Acceptance**: ok\n", 5, "T001 has no **Owner**"),
    (
        "twice a field",
        HEAD + "### T001: Work\n**Owner**: dbt-expert\n**Owner**: dbt-expert\n",
        7,
        "second **Owner** field",
    ),
    (
        "bad check",
        HEAD + _task("T001") + "**Checks**:\n- dbtt: build\n",
        12,
        "unknown check kind 'dbtt' (did you mean 'dbt'?)",
    ),
    (
        "table check shape",
        HEAD + _task("T001") + "**Checks**:\n- table: analytics.customer_ltv equals expected.csv\n",
        12,
        "T001: a table check reads '<relation> matches <file.csv> [ordered] [within <tolerance>]'",
    ),
    (
        "check shape",
        HEAD + _task("T001") + "**Checks**:\n- just words\n",
        12,
        "check 'just words' must read 'kind: argument'",
    ),
    (
        "integration point",
        HEAD + _task("T001") + "## Coordination\n### Critical Integration Points\n- **T001 → T042**: handoff\n",
        13,
        "integration point names unknown task T042",
    ),
    (
        "integration cycle",
        HEAD
        + _task("T001")
        + _task("T002", deps="T001")
        + "## Coordination\n### Critical Integration Points\n- **T002 → T001**: back\n",
        7,
        "dependency cycle: T001 → T002 → T001",
    ),
    ("backwards range", HEAD + _task("T001", deps="T009-T003"), 7, "runs backwards"),
]


@pytest.mark.parametrize(("text", "line", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_plan(tmp_path: Path, text: str, line: int, message: str) -> None:
    path = tmp_path / "tasks.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(UserError) as info:
        compile_plan(path)
    assert info.value.line == line
    assert message in info.value.message
    result = CliRunner().invoke(app, ["plan", "validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"{path}:{line}: {info.value.message}"]
    assert result.stdout == ""


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("make", "line", "message"),
    [
        (lambda d: d / "missing.md", 1, "no such file"),
        (lambda d: d, 1, "is a directory"),
        (lambda d: _write(d / "b.md", b"# x\n\n\x00\x01binary"), 3, "binary file"),
        (lambda d: _write(d / "u.md", b"# ok\n## A Tasks\n### T001: caf\xe9\n"), 3, "not valid UTF-8 (byte 0xe9)"),
    ],
    ids=["missing", "directory", "binary", "latin-1"],
)
def test_unreadable_inputs(tmp_path: Path, make: object, line: int, message: str) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    result = CliRunner().invoke(app, ["plan", "validate", str(path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}:{line}: {message}")


def test_bom_and_crlf_are_fine(tmp_path: Path) -> None:
    text = "\ufeff# Data Analytics Tasks: X\r\n\r\n## A Tasks\r\n### T001: Work [P]\r\n**Owner**: dbt-expert\r\n**Acceptance**: ok\r\n"
    path = tmp_path / "tasks.md"
    path.write_bytes(text.encode("utf-8"))
    plan, warnings = compile_plan(path)
    assert warnings == []
    assert plan.feature == "X"
    assert plan.tasks[0].parallel
    assert plan.tasks[0].lines["acceptance"] == 6


def test_dependency_range_expands(tmp_path: Path) -> None:
    text = HEAD + "".join(_task(f"T00{i}") for i in range(1, 5)) + _task("T005", deps="T001\u2013T003 and T004")
    path = tmp_path / "tasks.md"
    path.write_text(text, encoding="utf-8")
    plan, _ = compile_plan(path)
    assert plan.by_id["T005"].dependencies == ["T001", "T002", "T003", "T004"]


def test_project_agents_are_known_owners(tmp_path: Path) -> None:
    path = tmp_path / "tasks.md"
    path.write_text(HEAD + _task("T001", owner="dq-expert"), encoding="utf-8")
    with pytest.raises(UserError, match="unknown owner 'dq-expert'"):
        compile_plan(path)
    plan, _ = compile_plan(path, known_owners=["dq-expert"])
    assert plan.tasks[0].owners == ["dq-expert"]

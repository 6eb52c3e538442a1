"""``dacrew plan`` end to end: outputs, and no input whatsoever gets a traceback past the CLI."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from dacrew.cli import app

from .conftest import EXAMPLE, template_text

runner = CliRunner()


def test_validate_summary_and_notes(template_path: Path) -> None:
    result = runner.invoke(app, ["plan", "validate", str(template_path)])
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == f"{template_path}: 18 tasks in 5 phases (9 [P]), template format: ok"
    assert f"{template_path}:261: note: T013 now depends on T011" in result.stdout


def test_strict_makes_warnings_errors(template_path: Path) -> None:
    result = runner.invoke(app, ["plan", "validate", str(template_path), "--strict"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    # Every problem, each labelled: --strict fails on warnings but still calls them warnings.
    assert lines[0] == f"{template_path}:1: warning: unfilled template placeholder [FEATURE]"
    assert [line.split(":")[1] for line in lines] == ["1", "3", "7", "8", "9", "235", "242", "281"]
    assert all(": warning: " in line for line in lines)
    assert result.stdout == ""


def test_show_text() -> None:
    result = runner.invoke(app, ["plan", "show", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "  T004 [P] Source Data Validation (dbt-expert)  ← T002" in out
    assert "  wave   4 @ 3: T004, T006, T007" in out
    assert "Critical path (10): T001 → T002 → T004 → T005 → T008 → T009 → T010 → T013 → T016 → T018" in out
    assert result.stderr == ""


def test_show_mermaid_groups_by_phase_and_colours_by_owner(template_path: Path) -> None:
    result = runner.invoke(app, ["plan", "show", str(template_path), "--format", "mermaid"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart TD"
    assert '    subgraph phase2["Data Foundation Tasks"]' in lines
    assert sum(1 for line in lines if line.strip() == "end") == 5
    assert '        T005(["T005: dbt Staging Models [P]"])' in lines
    assert '        T009["T009: dbt Mart Models"]' in lines
    assert "    T004 ==> T005" in lines
    assert "    T007 --> T012" in lines
    assert "    class T004,T005,T008,T009,T014 owner_dbt_expert" in lines
    assert any(line.startswith("    classDef owner_tableau_expert fill:") for line in lines)
    assert "    class T016 owner_parent_agent" not in lines  # T016 is in the Parent Agent class with the others
    assert "    class T001,T003,T016,T018 owner_parent_agent" in lines


def test_show_json_and_max_parallel(template_path: Path) -> None:
    result = runner.invoke(app, ["plan", "show", str(template_path), "-f", "json", "--max-parallel", "1"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert len(data["plan"]["tasks"]) == 18
    assert data["schedule"]["max_parallel"] == 1
    assert all(len(w) == 1 for w in data["schedule"]["waves"])
    assert data["schedule"]["makespan"] == 18.0
    assert data["schedule"]["critical_path"][-1] == "T018"


def test_show_refuses_bad_options(template_path: Path) -> None:
    bad = runner.invoke(app, ["plan", "show", str(template_path), "--format", "svg"])
    assert bad.exit_code == 2
    assert bad.stderr.splitlines() == ["unknown --format 'svg' (choose one of: text, mermaid, json)"]
    zero = runner.invoke(app, ["plan", "show", str(template_path), "--max-parallel", "0"])
    assert zero.exit_code == 2
    assert "--max-parallel must be at least 1" in zero.stderr


def _assert_clean(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith(args[2] + ":")


_FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_never_escape(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "fuzz.md"
    path.write_bytes(data)
    _assert_clean(["plan", "validate", str(path)])


_MARKDOWNISH = st.lists(
    st.sampled_from(
        [*"#*`[]-:()T0123P \n\t→x,.|", "**Owner**: ", "### T1: ", "\n## A Tasks\n", "**Acceptance**: ok\n"]
    ),
    max_size=120,
).map("".join)


@_FUZZ
@given(text=st.one_of(_MARKDOWNISH, st.text(max_size=200)))
def test_random_text_never_escapes(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.md"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    _assert_clean(["plan", "show", str(path), "--format", "mermaid"])


_SNIPPETS = [
    "### T001: X",
    "### T0",
    "**Owner**:",
    "**Dependencies**: T001, T999",
    "**Dependencies**: T5-T2",
    "**Files**: ``",
    "**Checks**:",
    "- sql:",
    "- [ ] T003 [P]",
    "## Phase 9: x",
    "```",
    "- **T001 → T001**: x",
    "Task run T001 T001",
    "\u2028",
    "\x0c",
    "[P]",
]


@_FUZZ
@given(seed=st.integers(0, 2**32 - 1), source=st.sampled_from(["template", "example"]), edits=st.integers(1, 6))
def test_mutated_plans_never_escape(tmp_path: Path, seed: int, source: str, edits: int) -> None:
    rng = random.Random(seed)
    lines = (template_text() if source == "template" else EXAMPLE.read_text(encoding="utf-8")).split("\n")
    for _ in range(edits):
        i = rng.randrange(len(lines))
        op = rng.randrange(5)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif op == 2:
            lines[i] = rng.choice(_SNIPPETS)
        elif op == 3 and lines[i]:
            j = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:j] + rng.choice("#*`[]:-→ T0P\t") + lines[i][j + 1 :]
        else:
            lines.insert(i, rng.choice(_SNIPPETS))
    path = tmp_path / "mutated.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    _assert_clean(["plan", "validate", str(path), "--json"])
    _assert_clean(["plan", "show", str(path), "--format", rng.choice(["text", "mermaid", "json"])])


def test_subprocess_smoke(tmp_path: Path) -> None:
    good = subprocess.run(
        [sys.executable, "-m", "dacrew", "plan", "validate", str(EXAMPLE), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert good.returncode == 0, good.stderr
    assert [t["id"] for t in json.loads(good.stdout)["tasks"]][-1] == "T018"
    broken = tmp_path / "tasks.md"
    broken.write_bytes(b"\xff\xfe garbage")
    bad = subprocess.run(
        [sys.executable, "-m", "dacrew", "plan", "validate", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert bad.stderr == f"{broken}:1: not valid UTF-8 (byte 0xff)\n"


def test_project_agents_beside_the_plan_are_owners(tmp_path: Path) -> None:
    plan = tmp_path / "tasks.md"
    plan.write_text("## A Tasks\n### T001: Check quality\n**Owner**: dq-expert\n**Acceptance**: ok\n", encoding="utf-8")
    refused = runner.invoke(app, ["plan", "validate", str(plan)])
    assert refused.exit_code == 2
    assert "unknown owner 'dq-expert'" in refused.stderr
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "dq-expert.md").write_text("---\nname: dq-expert\n---\n", encoding="utf-8")
    accepted = runner.invoke(app, ["plan", "validate", str(plan)])
    assert accepted.exit_code == 0, accepted.stderr

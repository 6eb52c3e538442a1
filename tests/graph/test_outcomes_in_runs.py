"""The three check outcomes through a whole run: findings, reports and exit codes; --strict-checks and
`checks: strict`; tasks without checks."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from runkit import T, turn, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore
from dacrew.graph.verify import NO_CHECKS

runner = CliRunner()
pytestmark = pytest.mark.timeout(90)
PUBLISHED = "tableau: datasource customer_ltv published"


def run(project: Path, cassette: Path, *extra: str, run_id: str = "r") -> tuple[int, str]:
    model = f"replay:{cassette}"
    arguments = ["run", str(project / "tasks.md"), "--project-dir", str(project), "--model", model, "--headless"]
    result = runner.invoke(app, [*arguments, "--run-id", run_id, *extra])
    return result.exit_code, result.output


def finish(task: str, attempt: int = 1, **result: object) -> dict[str, object]:
    return turn(task, [("complete_task", {"summary": f"{task} delivered", **result})], attempt=attempt)


@pytest.fixture
def tableau_project(tmp_path: Path) -> tuple[Path, Path]:
    write_plan(tmp_path, [T("T001", owner="tableau-expert", files=["tableau/"], checks=[PUBLISHED])])
    (tmp_path / "tableau" / "datasources").mkdir(parents=True)
    (tmp_path / "tableau" / "datasources" / "customer_ltv.tds").write_text("<datasource/>")
    cassette = write_cassette(tmp_path / "c.jsonl", [finish("T001"), finish("T001", attempt=2)])
    return tmp_path, cassette


def test_an_unverified_check_completes_the_task_and_shows_apart(tableau_project: tuple[Path, Path]) -> None:
    project, cassette = tableau_project
    code, output = run(project, cassette)
    assert code == 0, output
    finding = FindingsStore(project).read("T001")
    assert finding is not None
    assert finding.status == "completed"
    assert [(c.kind, c.outcome) for c in finding.checks] == [("tableau", "unverified")]
    assert "T001 check tableau: datasource customer_ltv published unverified: no Tableau server configured" in output
    assert "1 of 1 tasks completed, 1 checks unverified (T001: tableau: no Tableau server configured;" in output
    folder = project / ".dacrew" / "runs" / "r"
    report = json.loads((folder / "report.json").read_text())
    assert report["check_counts"] == {"unverified": 1}
    assert report["tasks"][0]["checks"][0]["outcome"] == "unverified"
    case = ET.parse(folder / "junit.xml").getroot().find(".//testcase")
    assert case is not None
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("unverified: tableau: datasource customer_ltv published — no Tableau")
    html = (folder / "report.html").read_text()
    assert 'class="unverified"' in html
    assert "1 unverified" in html


def test_strict_checks_make_unverified_a_failure(tableau_project: tuple[Path, Path]) -> None:
    project, cassette = tableau_project
    code, output = run(project, cassette, "--strict-checks")
    assert code == 1, output
    finding = FindingsStore(project).read("T001")
    assert finding is not None
    assert (finding.status, finding.attempt) == ("failed", 2)
    assert finding.checks[0].outcome == "unverified"


def test_checks_strict_in_dacrew_yml(tableau_project: tuple[Path, Path]) -> None:
    project, cassette = tableau_project
    (project / "dacrew.yml").write_text("checks: strict\n")
    code, output = run(project, cassette)
    assert code == 1, output


def test_a_task_without_checks_runs_the_checks_its_agent_proposes(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", files=["work/"])])
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "out.txt").write_text("42")
    proposed = [{"kind": "file", "argument": "work/out.txt contains 42"}]
    cassette = write_cassette(tmp_path / "c.jsonl", [finish("T001", checks=proposed)])
    code, output = run(tmp_path, cassette)
    assert code == 0, output
    finding = FindingsStore(tmp_path).read("T001")
    assert finding is not None
    assert [(c.kind, c.argument, c.outcome) for c in finding.checks] == [("file", "work/out.txt contains 42", "passed")]


def test_a_task_verified_by_its_summary_alone_is_unverified(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001")])
    cassette = write_cassette(tmp_path / "c.jsonl", [finish("T001"), finish("T001", attempt=2)])
    code, output = run(tmp_path, cassette)
    assert code == 0, output
    finding = FindingsStore(tmp_path).read("T001")
    assert finding is not None
    assert finding.status == "completed"
    assert [(c.kind, c.outcome, c.output) for c in finding.checks] == [("finding", "unverified", NO_CHECKS)]
    text = (tmp_path / "findings" / "T001.md").read_text()
    assert "outcome: unverified" in text
    assert NO_CHECKS in text
    strict_code, _ = run(tmp_path, cassette, "--strict-checks", run_id="r2")
    assert strict_code == 1


def test_the_specialist_is_asked_for_checks_only_when_the_plan_has_none(tmp_path: Path) -> None:
    from dacrew.agents.specialist import PROPOSE_CHECKS, Assignment, task_prompt
    from dacrew.plan.model import Check, Task

    bare = Task(id="T001", title="Work", owners=["dbt-expert"])
    prompt = task_prompt(Assignment(task=bare, attempt=1, project_dir=tmp_path, run_id="r"), "dbt-expert", ())
    assert f"## Checks\n{PROPOSE_CHECKS}" in prompt
    checked = bare.model_copy(update={"checks": [Check(kind="sql", argument="select 1 = 1")]})
    prompt = task_prompt(Assignment(task=checked, attempt=1, project_dir=tmp_path, run_id="r"), "dbt-expert", ())
    assert "## Checks the parent will run\n- sql: select 1 = 1" in prompt
    assert PROPOSE_CHECKS not in prompt

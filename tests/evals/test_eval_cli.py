"""``dacrew eval`` end to end on a small suite: run, reports, seal, strict and full replay, baselines."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from evalkit import notes_project, notes_turns, write_cassette
from typer.testing import CliRunner

from dacrew.cli import app

runner = CliRunner()

SUITE = """\
name: notes
source: scripted
thresholds: {pass_rate: 0.0, tokens: 0.10, usd: 0.10, seconds: 100.0}
cases:
  - name: both
    project: project
    cassette: notes.jsonl
    scorers:
      - check: "file: notes/b.md contains beta"
      - tool_called: files_read
      - tool_not_called: warehouse_execute
      - max_tool_calls: 3
      - max_turns: 5
      - no_guard_refusal: true
  - name: second-only
    project: project
    task: T002
    cassette: second.jsonl
    scorers:
      - check: "finding: Summary"
      - max_turns: 2
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    notes_project(folder / "project")
    write_cassette(folder / "notes.jsonl", notes_turns())
    write_cassette(folder / "second.jsonl", [t for t in notes_turns() if t["task"] == "T002"])
    (folder / "suite.yml").write_text(SUITE)
    return folder


def _invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["eval", *args])
    return result.exit_code, result.output


def test_a_suite_runs_scores_and_writes_its_reports(tmp_path: Path, suite: Path) -> None:
    code, output = _invoke(
        "run",
        str(suite),
        "--out",
        str(tmp_path / "runs"),
        "--json",
        str(tmp_path / "r.json"),
        "--junit",
        str(tmp_path / "r.xml"),
        "--html",
        str(tmp_path / "r.html"),
    )
    assert code == 0, output
    assert "second-only" in output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] is True
    assert report["totals"]["pass_rate"] == 1.0
    both = next(c for c in report["cases"] if c["case"] == "both")
    assert [s["outcome"] for s in both["scores"]] == ["passed"] * 7
    assert both["tool_calls"] == 3
    assert both["tokens"] == 3 * 120 + 2 * 120
    second = next(c for c in report["cases"] if c["case"] == "second-only")
    assert list(second["findings"]) == ["T002"]  # the one task ran, alone
    cases = ET.parse(tmp_path / "r.xml").getroot().findall("testcase")
    assert [c.get("name") for c in cases] == ["both[1]", "second-only[1]"]
    page = (tmp_path / "r.html").read_text()
    assert "tool_called: files_read" in page
    assert "<script" not in page
    assert "http" not in page.split("<body>")[1]


def test_failing_scorers_fail_the_case_with_exit_1(tmp_path: Path, suite: Path) -> None:
    text = (suite / "suite.yml").read_text().replace("max_tool_calls: 3", "max_tool_calls: 2")
    (suite / "suite.yml").write_text(text)
    code, output = _invoke("run", str(suite), "--out", str(tmp_path / "runs"))
    assert code == 1
    assert "max_tool_calls: 2: failed\n3 tool calls" in output


def test_seal_makes_strict_and_full_replay_possible(tmp_path: Path, suite: Path) -> None:
    code, output = _invoke("run", str(suite), "--replay", "full", "--strict", "--out", str(tmp_path / "before"))
    assert code == 1
    assert "no recorded result for files_write" in output
    code, output = _invoke("seal", str(suite), "--out", str(tmp_path / "seal"))
    assert code == 0, output
    assert "both: sealed" in output
    sealed = [json.loads(line) for line in (suite / "notes.jsonl").read_text().splitlines()]
    assert all(r["request_digest"] for r in sealed if r["type"] == "model")
    assert any(r["type"] == "tool" and r["task"] == "eval" for r in sealed)
    for mode in ("model", "full"):
        code, output = _invoke("run", str(suite), "--replay", mode, "--strict", "--out", str(tmp_path / mode))
        assert code == 0, output
    assert not (tmp_path / "full" / "both-1" / "notes").exists()  # nothing ran in full replay
    # One changed line of a prompt: strict replay fails, and the diff names the line.
    prompt = resources.files("dacrew.prompts").joinpath("dbt-expert.md").read_text(encoding="utf-8")
    line = next(x for x in prompt.split("---", 2)[2].splitlines() if len(x.split()) > 4)
    (suite / "project" / "prompts").mkdir()
    (suite / "project" / "prompts" / "dbt-expert.md").write_text(prompt.replace(line, line.rstrip() + " Be brief."))
    code, output = _invoke("run", str(suite), "--strict", "--out", str(tmp_path / "changed"))
    assert code == 1
    assert f"-system: {line.strip()}\n+system: {line.strip()} Be brief." in output
    code, output = _invoke("run", str(suite), "--out", str(tmp_path / "lenient"))
    assert code == 0
    assert "warning: both [1] drifted: the request for task T001 attempt 1 step 0 no longer matches" in output


def test_a_regression_against_the_baseline_exits_1(tmp_path: Path, suite: Path) -> None:
    code, output = _invoke("baseline", str(suite), "--out", str(tmp_path / "b"))
    assert code == 0, output
    baseline = json.loads((suite / "baseline.json").read_text())
    assert baseline["totals"]["pass_rate"] == 1.0
    code, _ = _invoke("run", str(suite), "--baseline", str(suite / "baseline.json"), "--out", str(tmp_path / "same"))
    assert code == 0
    # The model now takes an extra turn (and its tokens) before finishing the first task.
    turns = notes_turns()
    extra = json.loads(json.dumps(turns[1]))
    for later in turns[2:3]:
        later["step"] += 1
    extra["step"] = 2
    write_cassette(suite / "notes.jsonl", [*turns[:2], extra, *turns[2:]])
    code, output = _invoke(
        "run", str(suite), "--baseline", str(suite / "baseline.json"), "--out", str(tmp_path / "more")
    )
    assert code == 1
    assert "regression: tokens per case" in output


def test_a_bad_suite_is_one_located_line_and_exit_2(tmp_path: Path, suite: Path) -> None:
    text = (
        (suite / "suite.yml")
        .read_text()
        .replace("      - max_turns: 2\n", "      - max_turns: 2\n        tool_called: x\n")
    )
    (suite / "suite.yml").write_text(text)
    code, output = _invoke("run", str(suite))
    assert code == 2
    assert output.strip().startswith(f"{suite / 'suite.yml'}:21: cases.1.scorers.1: a scorer has exactly one of")
    shutil.rmtree(suite / "project")
    code, output = _invoke("run", str(suite))
    assert code == 2

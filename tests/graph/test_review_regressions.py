"""Regressions for questions, gates, budgets and resumes found in review: each hung, misrouted an answer
or lost state before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runkit import T, complete, events, turn, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.cli.answers import resolve_answers
from dacrew.errors import UserError
from dacrew.findings.store import FindingsStore
from dacrew.graph.state import RunSettings, save_settings
from dacrew.testing import AnthropicFake

runner = CliRunner()
pytestmark = pytest.mark.timeout(90)


def invoke(project: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--project-dir", str(project)])
    return result.exit_code, result.output


def answers_of(project: Path, run: str, task: str) -> dict[str, str]:
    path = project / ".dacrew" / "runs" / run / "journal" / f"{task}.answers.jsonl"
    return {e["key"]: e["answer"] for e in map(json.loads, path.read_text().splitlines())}


def phased_plan(project: Path, phases: list[list[str]], asks: str = "") -> Path:
    lines = ["# Data Analytics Tasks: Phases", ""]
    for n, tasks in enumerate(phases, 1):
        lines += [f"## Phase {n} Tasks", ""]
        for spec in tasks:
            tid, _, deps = spec.partition("<")
            lines += [
                f"### {tid}: Work {tid} [P]",
                "**Owner**: dbt-expert",
                f"**Dependencies**: {deps or 'None'}",
                f"**Files**: `work/{tid.lower()}/`",
                "**Description**: Work",
                "- do it",
                "**Acceptance**: done",
                "",
            ]
    (project / "tasks.md").write_text("\n".join(lines))
    return project / "tasks.md"


def test_three_gated_phases_pause_at_each_gate_and_finish(tmp_path: Path) -> None:
    phased_plan(tmp_path, [["T001"], ["T002<T001"], ["T003<T002"]])
    code, out = invoke(
        tmp_path, "run", str(tmp_path / "tasks.md"), "--dry-run", "--headless", "--gate", "phases", "--run-id", "g"
    )
    assert code == 3, out
    assert "Phase 1 Tasks" in out
    code, out = invoke(tmp_path, "resume", "g", "--approve")
    assert code == 3, out
    assert "Phase 2 Tasks" in out
    assert FindingsStore(tmp_path).read("T002").status == "completed"  # type: ignore[union-attr]
    code, out = invoke(tmp_path, "resume", "g", "--approve")
    assert code == 0, out
    assert FindingsStore(tmp_path).read("T003").status == "completed"  # type: ignore[union-attr]


def test_a_question_inside_a_gated_phase_pauses_instead_of_hanging(tmp_path: Path) -> None:
    phased_plan(tmp_path, [["T001", "T002<T001"], ["T003"]])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn("T001", [("request_input", {"question": "Which grain?"})]),
            complete("T001", step=1),
            complete("T002"),
            complete("T003"),
        ],
    )
    code, out = invoke(
        tmp_path,
        "run",
        str(tmp_path / "tasks.md"),
        "--model",
        f"replay:{cas}",
        "--headless",
        "--gate",
        "phases",
        "--run-id",
        "q",
    )
    assert code == 3, out
    assert "Which grain?" in out
    code, out = invoke(tmp_path, "resume", "q", "--answer", "daily")
    assert code == 3, out  # now the gate after phase 1
    assert FindingsStore(tmp_path).read("T002").status == "completed"  # type: ignore[union-attr]
    assert FindingsStore(tmp_path).read("T003") is None
    code, out = invoke(tmp_path, "resume", "q", "--approve")
    assert code == 0, out


def test_a_resume_after_an_approved_gate_keeps_the_gate_open(tmp_path: Path) -> None:
    phased_plan(tmp_path, [["T001"], ["T002<T001"]])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [complete("T001"), turn("T002", [("request_input", {"question": "Gross or net?"})]), complete("T002", step=1)],
    )
    code, out = invoke(
        tmp_path,
        "run",
        str(tmp_path / "tasks.md"),
        "--model",
        f"replay:{cas}",
        "--headless",
        "--gate",
        "phases",
        "--run-id",
        "o",
    )
    assert code == 3, out
    code, out = invoke(tmp_path, "resume", "o", "--approve")
    assert code == 3, out
    assert "Gross or net?" in out
    code, out = invoke(tmp_path, "resume", "o", "--answer", "net")
    assert code == 0, out


def test_answers_reach_their_own_questions_across_attempts(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", checks=["file: out/x.txt"], files=["out/"])])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn("T001", [("request_input", {"question": "first?"})]),
            complete("T001", step=1),
            turn("T001", [("request_input", {"question": "second?"})], attempt=2),
            turn("T001", [("files_write", {"path": "out/x.txt", "content": "x"})], attempt=2, step=1),
            complete("T001", attempt=2, step=2),
        ],
    )
    code, out = invoke(
        tmp_path, "run", str(tmp_path / "tasks.md"), "--model", f"replay:{cas}", "--headless", "--run-id", "a"
    )
    assert code == 3, out
    code, out = invoke(tmp_path, "resume", "a", "--answer", "ONE")
    assert code == 3, out
    assert "second?" in out
    code, out = invoke(tmp_path, "resume", "a", "--answer", "TWO")
    assert code == 0, out
    answers = answers_of(tmp_path, "a", "T001")
    assert answers == {"T001/1/m0/cT001100": "ONE", "T001/2/m0/cT001200": "TWO"}
    assert [e["answer"] for e in events(tmp_path) if e["type"] == "answer"] == ["ONE", "TWO"]


def test_a_delegate_question_and_a_lead_question_keep_their_answers(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", owner="dbt-expert + orchestra-expert")])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn("T001", [("delegate", {"agent": "orchestra-expert", "instructions": "schedule it"})]),
            turn("T001/orchestra-expert", [("request_input", {"question": "which cron?"})]),
            complete("T001/orchestra-expert", step=1),
            turn("T001", [("request_input", {"question": "which owner?"})], step=1),
            complete("T001", step=2),
        ],
    )
    code, out = invoke(
        tmp_path, "run", str(tmp_path / "tasks.md"), "--model", f"replay:{cas}", "--headless", "--run-id", "d"
    )
    assert code == 3, out
    code, out = invoke(tmp_path, "resume", "d", "--answer", "DELEGATE-ANSWER")
    assert code == 3, out
    assert "which owner?" in out
    code, out = invoke(tmp_path, "resume", "d", "--answer", "LEAD-ANSWER")
    assert code == 0, out
    answers = answers_of(tmp_path, "d", "T001")
    assert answers == {
        "T001/1/orchestra-expert/m0/cT001/orchestra-expert100": "DELEGATE-ANSWER",
        "T001/1/m1/cT001110": "LEAD-ANSWER",
    }


def test_a_halt_survives_a_resume(tmp_path: Path) -> None:
    write_plan(
        tmp_path,
        [T("T001", parallel=True), T("T002", checks=["file: never.txt"]), T("T003", parallel=True)],
    )
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn("T001", [("request_input", {"question": "ok?"})], delay=0.5),
            complete("T001", step=1),
            complete("T002"),
            complete("T002", attempt=2),
            complete("T003"),
        ],
    )
    # T001 [P] asks while running; T002 (alone) waits for it, so T002 runs only after the answer.
    code, out = invoke(
        tmp_path, "run", str(tmp_path / "tasks.md"), "--model", f"replay:{cas}", "--headless", "--run-id", "h"
    )
    assert code == 3, out
    code, out = invoke(tmp_path, "resume", "h", "--answer", "ok")
    assert code == 1, out
    found = FindingsStore(tmp_path).all()
    assert found["T002"].status == "failed"
    assert found["T003"].status == "skipped"
    assert found["T003"].finished is not None


def test_resume_of_a_run_killed_before_its_first_checkpoint_starts_it(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001")])
    save_settings(RunSettings(run_id="k", plan="tasks.md", project_dir=str(tmp_path), dry_run=True, headless=True))
    code, out = invoke(tmp_path, "resume", "k")
    assert code == 0, out
    assert FindingsStore(tmp_path).read("T001").status == "completed"  # type: ignore[union-attr]


def test_an_unusable_model_is_exit_2_before_any_work(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001")])
    code, out = invoke(tmp_path, "run", str(tmp_path / "tasks.md"), "--model", "nosuchprovider:model-x", "--headless")
    assert code == 2, out
    assert "Traceback" not in out
    assert not (tmp_path / "findings").exists()


def test_answers_are_checked_against_what_waits() -> None:
    pending = [
        {"id": "i1", "kind": "question", "task": "T002", "text": "?"},
        {"id": "i2", "kind": "approval", "task": "T003", "text": "drop?"},
    ]
    assert resolve_answers(pending, ["T002=net"], ["T003"], []) == {"i1": "net", "i2": {"approved": True}}
    assert resolve_answers(pending, ["plain text"], [], []) == {"i1": "plain text"}
    with pytest.raises(UserError, match="T009 asks nothing"):
        resolve_answers(pending, ["T009=use EUR"], [], [])
    with pytest.raises(UserError, match="answered twice"):
        resolve_answers(pending, ["T002=a", "T002=b"], [], [])
    with pytest.raises(UserError, match="both approved and denied"):
        resolve_answers(pending, [], ["T003"], ["T003"])
    with pytest.raises(UserError, match="no such request"):
        resolve_answers(pending, [], ["T004"], [])
    with pytest.raises(UserError, match="waits for no answer"):
        resolve_answers([], ["x"], [], [])


SECRET = "sk-ant-" + "review-0000000000000000000000"


def test_budget_counts_every_session_and_a_raised_budget_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plan(tmp_path, [T("T001"), T("T002", ["T001"]), T("T003", ["T002"])])
    big = {"input_tokens": 100_000, "output_tokens": 0}
    with AnthropicFake() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
        fake.reply_tool_use("request_input", {"question": "go on?"}, usage=big)
        fake.reply_tool_use("complete_task", {"summary": "T001 done"}, usage=big)
        args = ["--model", "anthropic:claude-sonnet-5-5", "--headless", "--run-id", "b"]
        code, out = invoke(tmp_path, "run", str(tmp_path / "tasks.md"), *args, "--budget-usd", "0.5")
        assert code == 3, out
        # $0.30 so far per model call; after the answer T001 costs $0.60 in all, over the $0.50 budget.
        code, out = invoke(tmp_path, "resume", "b", "--answer", "yes")
        assert code == 4, out
        found = FindingsStore(tmp_path).all()
        assert found["T001"].status == "completed"
        assert found["T001"].usage.input_tokens == 200_000
        assert found["T002"].status == "skipped"
        fake.reply_tool_use("complete_task", {"summary": "T002 done"})
        fake.reply_tool_use("complete_task", {"summary": "T003 done"})
        code, out = invoke(tmp_path, "resume", "b", "--budget-usd", "5")
        assert code == 0, out
    found = FindingsStore(tmp_path).all()
    assert [found[t].status for t in ("T001", "T002", "T003")] == ["completed"] * 3
    db = (tmp_path / ".dacrew" / "checkpoints.sqlite").read_bytes()
    wal = tmp_path / ".dacrew" / "checkpoints.sqlite-wal"
    assert SECRET.encode() not in db + (wal.read_bytes() if wal.exists() else b"")
    assert (
        json.loads(runner.invoke(app, ["status", "b", "--project-dir", str(tmp_path), "--json"]).output)["status"]
        == "completed"
    )


def test_a_headless_gate_policy_approves_or_denies_phases(tmp_path: Path) -> None:
    phased_plan(tmp_path, [["T001"], ["T002<T001"]])
    (tmp_path / "dacrew.yml").write_text("approvals:\n  - {action: 'gate:Phase 1*', decision: approve}\n")
    code, out = invoke(tmp_path, "run", str(tmp_path / "tasks.md"), "--dry-run", "--headless", "--gate", "phases")
    assert code == 0, out
    assert FindingsStore(tmp_path).read("T002").status == "completed"  # type: ignore[union-attr]
    (tmp_path / "dacrew.yml").write_text("approvals:\n  - {action: 'gate:*', decision: deny}\n")
    code, out = invoke(tmp_path, "run", str(tmp_path / "tasks.md"), "--dry-run", "--headless", "--gate", "phases")
    assert code == 1, out
    assert FindingsStore(tmp_path).read("T002").status == "skipped"  # type: ignore[union-attr]

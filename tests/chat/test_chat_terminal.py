"""``dacrew chat`` driven as a person drives it: through a real pseudo-terminal (pexpect), with a scripted
cassette — from "we need a churn dashboard" to an approved, valid plan and a completed run, with a
question mid-run answered in the chat; then a paused conversation resumed, and a reply cancelled."""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from chatkit import write_cassette

pexpect = pytest.importorskip("pexpect")

DACREW = Path(sys.executable).parent / "dacrew"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")
EDITOR = """\
import pathlib, sys
path = pathlib.Path(sys.argv[1])
path.write_text(path.read_text().replace("### T003: Churn dashboard", "### T003: Churn dashboard in Tableau"))
"""


class Terminal:
    """One ``dacrew chat`` session on a pseudo-terminal, with everything it showed (ANSI codes removed)."""

    def __init__(self, project: Path, *args: str, env: dict[str, str] | None = None) -> None:
        environment = {**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1", **(env or {})}
        self.child: Any = pexpect.spawn(
            str(DACREW),
            ["chat", "--project-dir", str(project), *args],
            cwd=str(project.parent),
            env=environment,
            encoding="utf-8",
            timeout=30,
            dimensions=(50, 160),
        )
        self.shown = ""

    def expect(self, text: str) -> None:
        self.child.expect(re.escape(text))
        self.shown += ANSI.sub("", self.child.before + self.child.after)

    def answer(self, after: str, text: str) -> None:
        self.expect(after)
        self.child.sendline(text)

    def end(self) -> int:
        self.child.expect(pexpect.EOF)
        self.shown += ANSI.sub("", self.child.before)
        self.child.close()
        return int(self.child.exitstatus)


def _talk_to_the_plan(term: Terminal) -> None:
    term.answer("Describe the feature you need", "we need a churn dashboard")
    term.answer("who signs it off?", "The Head of Customer Success signs off")
    term.answer("subscriptions and cancellations?", "skip")
    term.answer("How fresh must the numbers be?", "enough")
    term.expect("saved specs/001-churn-dashboard/spec.md")
    term.expect("T002 depends on unknown task T009")
    term.answer("(version 2)", "Tableau can start after T002 only: add the dashboard")
    term.expect("(version 3)")


def _events(project: Path) -> list[dict[str, Any]]:
    (run,) = (project / ".dacrew" / "runs").iterdir()
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if line.strip()]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "shop"
    folder.mkdir()
    write_cassette(tmp_path / "chat.jsonl")
    (tmp_path / "editor.py").write_text(EDITOR)
    return folder


def test_a_conversation_goes_from_a_sentence_to_a_completed_run(project: Path) -> None:
    term = Terminal(
        project, "--model", "replay:chat.jsonl", env={"EDITOR": f"{sys.executable} {project.parent / 'editor.py'}"}
    )
    _talk_to_the_plan(term)
    term.child.sendline("/edit")
    term.answer("(version 4)", "/approve")
    term.answer("Do paused subscriptions count as churned?", "/status")
    term.answer("needs_input", "paused subscriptions are not churned")
    term.expect("3 of 3 tasks completed")
    term.answer("(exit 0)", "/findings T001")
    term.answer("Churn definition agreed", "/cost")
    term.answer("total", "/quit")
    assert term.end() == 0

    shown = term.shown
    # The interview: questions on their topics, the person's skip and "enough", then the spec.
    assert "Question 1 (stakeholders): Who uses the churn dashboard" in shown
    assert "Question 3 (freshness)" in shown
    assert "Question 4" not in shown
    # The plan with its schedule, and the error the parent fixed before the person saw a plan.
    assert shown.index("T002 depends on unknown task T009") < shown.index("The plan (2 tasks)")
    assert "Critical path (3): T001 → T002 → T003" in shown
    assert "T003 Churn dashboard in Tableau (tableau-expert)  ← T002" in shown
    # The run: the question mid-run, answered in the chat.
    assert "T001 (business-context) asks: Do paused subscriptions count as churned?" in shown

    feature = project / "specs" / "001-churn-dashboard"
    assert "Monthly churn rate" in (feature / "spec.md").read_text()
    versions = {p.name: p.read_text() for p in feature.glob("tasks.v*.md")}
    assert sorted(versions) == ["tasks.v1.md", "tasks.v2.md", "tasks.v3.md", "tasks.v4.md"]
    assert "T001, T009" in versions["tasks.v1.md"]
    assert "T003" not in versions["tasks.v2.md"]
    assert (feature / "tasks.md").read_text() == versions["tasks.v4.md"]
    assert "T002 ==> T003" in (feature / "tasks.mmd").read_text()
    events = _events(project)
    answers = [e["answer"] for e in events if e["type"] == "answer"]
    assert answers == ["paused subscriptions are not churned"]
    assert events[-1]["type"] == "run_finished"
    assert events[-1]["status"] == "completed"
    state = json.loads(next((project / ".dacrew" / "chat").glob("*/state.json")).read_text())
    assert state["stage"] == "done"
    assert state["plan_version"] == 4
    history = (project / ".dacrew" / "chat" / "history").read_text()
    assert "+we need a churn dashboard" in history


def test_a_paused_conversation_resumes_with_its_run(project: Path) -> None:
    term = Terminal(project, "--model", "replay:chat.jsonl")
    _talk_to_the_plan(term)
    term.child.sendline("/approve")
    term.answer("Do paused subscriptions count as churned?", "/pause")
    term.expect("dacrew chat --resume")
    assert term.end() == 0
    assert _events(project)[-1]["type"] == "run_paused"

    again = Terminal(project, "--resume")
    again.expect("resumed (run)")
    again.answer("Do paused subscriptions count as churned?", "no")
    again.expect("3 of 3 tasks completed")
    again.child.sendline("/quit")
    assert again.end() == 0
    events = _events(project)
    assert [e["answer"] for e in events if e["type"] == "answer"] == ["no"]
    assert events[-1]["status"] == "completed"


def test_ctrl_c_cancels_the_reply_not_the_conversation(project: Path, tmp_path: Path) -> None:
    write_cassette(tmp_path / "chat.jsonl", slow_question=2.0)
    term = Terminal(project, "--model", "replay:chat.jsonl")
    term.answer("Describe the feature you need", "we need a churn dashboard")
    term.answer("who signs it off?", "The Head of Customer Success")
    time.sleep(0.5)  # the reply is on its way (the scripted model takes 2 s to "write" it)
    term.child.sendintr()
    term.expect("cancelled")
    term.answer("answer>", "The Head of Customer Success, again")
    term.expect("subscriptions and cancellations?")
    term.child.sendline("/quit")
    assert term.end() == 0
    assert "Question 2" in term.shown

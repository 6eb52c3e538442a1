"""The conversation engine without a terminal: what the model reads for skip and "enough", the plan
checks, hand edits that break the plan, and how approvals and phase gates are asked in the chat."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from chatkit import EDITED, FIXED, model_turn, plan, write_cassette

from dacrew.chat.engine import Conversation
from dacrew.chat.interview import answer_text
from dacrew.chat.live import Asker
from dacrew.chat.planning import check_plan
from dacrew.chat.session import feature_folder, last_state, new_state
from dacrew.config import load_config
from dacrew.errors import UserError
from dacrew.models.resolve import resolve_model_source
from dacrew.plan.model import TaskPlan
from dacrew.report.board import Board


class ScriptIO:
    """A person who types ``inputs`` one by one; everything shown is kept in ``shown``."""

    def __init__(self, inputs: list[str], edit: Callable[[Path], None] | None = None) -> None:
        self.inputs = list(inputs)
        self.shown: list[str] = []
        self._edit = edit

    def show(self, markdown: str) -> None:
        self.shown.append(markdown)

    def note(self, text: str) -> None:
        self.shown.append(text)

    @contextlib.contextmanager
    def streaming(self) -> Iterator[Callable[[str], None]]:
        yield self.shown.append

    def read(self, prompt: str) -> str | None:
        return self.inputs.pop(0) if self.inputs else None

    def edit(self, path: Path) -> None:
        assert self._edit is not None
        self._edit(path)

    def board(self, plan: TaskPlan) -> Board:
        from rich.console import Console

        return Board(plan, console=Console(file=StringIO()), live=False)

    @property
    def text(self) -> str:
        return "\n".join(self.shown)


def _conversation(project: Path, cassette: Path, io: ScriptIO) -> Conversation:
    config = load_config(project)
    state = new_state(project, f"replay:{cassette}")
    return Conversation(state, io, config, resolve_model_source(state.model, config, base_dir=project))


def test_skip_and_enough_tell_the_model_what_the_person_meant() -> None:
    assert "skipped" in answer_text("skip")
    assert "write the spec now" in answer_text("Enough.")
    assert answer_text("  Finance owns it ") == "The person answers: Finance owns it"


def test_a_new_feature_gets_the_next_number(tmp_path: Path) -> None:
    (tmp_path / "specs" / "007-old-thing").mkdir(parents=True)
    assert feature_folder(tmp_path, "Churn Dashboard!") == "008-churn-dashboard"


def test_the_plan_check_reports_every_error_with_its_line() -> None:
    broken = plan([("T001", "A", "dbt-expert", "T007", False), ("T002", "B", "nobody", "T001", False)])
    checked = check_plan(broken)
    assert checked.plan is None
    assert len(checked.errors) == 2
    assert checked.errors[0].startswith("tasks.md:")
    assert "T007" in checked.errors[0]
    assert "nobody" in checked.errors[1]
    assert check_plan(plan(FIXED)).plan is not None


def test_enough_ends_the_questions_even_when_the_model_asks_again(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "chat.jsonl")
    project = tmp_path / "shop"
    project.mkdir()
    io = ScriptIO(["we need a churn dashboard", "enough", "/quit"])
    conversation = _conversation(project, cassette, io)
    conversation.start(resumed=False)
    conversation.loop()
    assert "Question 2" not in io.text
    assert (project / "specs" / "001-churn-dashboard" / "spec.md").is_file()
    results = [m["data"]["content"] for m in conversation.state.interview if m["type"] == "tool"]
    assert results[1:3] == ["Enough questions: write the spec now."] * 2


def test_a_hand_edit_with_an_error_keeps_the_valid_plan(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "chat.jsonl")
    project = tmp_path / "shop"
    project.mkdir()

    def break_it(path: Path) -> None:
        path.write_text(path.read_text().replace("**Dependencies**: T001", "**Dependencies**: T042"))

    io = ScriptIO(["churn", "enough", "/edit", "/quit"], edit=break_it)
    conversation = _conversation(project, cassette, io)
    conversation.start(resumed=False)
    conversation.loop()
    feature = project / "specs" / "001-churn-dashboard"
    assert "T002 depends on unknown task T042" in io.text
    assert (feature / "tasks.md").read_text() == (feature / "tasks.v2.md").read_text()
    assert "T042" in (feature / "tasks.v3.md").read_text()
    assert last_state(project).plan_version == 3


def test_edits_in_words_reach_the_parent(tmp_path: Path) -> None:
    cassette = write_cassette(tmp_path / "chat.jsonl")
    project = tmp_path / "shop"
    project.mkdir()
    io = ScriptIO(["churn", "enough", "split the model from the dashboard", "/quit"])
    conversation = _conversation(project, cassette, io)
    conversation.start(resumed=False)
    conversation.loop()
    people = [m["data"]["content"] for m in conversation.state.planning if m["type"] == "human"]
    assert people[-1] == "The person asks for this change to the plan: split the model from the dashboard"
    assert (project / "specs" / "001-churn-dashboard" / "tasks.md").read_text() == plan(EDITED).rstrip() + "\n"


def test_approvals_show_the_exact_request_and_its_digest(tmp_path: Path) -> None:
    io = ScriptIO(["/cost", "maybe", "yes", "no"])
    conversation = _conversation(tmp_path, write_cassette(tmp_path / "chat.jsonl"), io)
    pending: list[dict[str, Any]] = [
        {
            "id": "i1",
            "kind": "approval",
            "task": "T004",
            "agent": "snowflake-expert",
            "tool": "warehouse_execute",
            "action": "drop",
            "message": "warehouse_execute: DROP — needs a person's approval",
            "digest": "sha256:abc123",
            "request": {"tool": "warehouse_execute", "sql": "DROP TABLE analytics.churn_snapshot", "dialect": "duckdb"},
        },
        {"id": "i2", "kind": "gate", "phase": "Data Foundation", "text": "Phase 'Data Foundation' is done."},
    ]
    board = io.board(TaskPlan(feature="x", tasks=[]))
    answers = Asker(conversation, board)(pending)
    assert answers == {"i1": {"approved": True}, "i2": {"approved": False}}
    assert "```sql\nDROP TABLE analytics.churn_snapshot\n```" in io.text
    assert '"dialect": "duckdb"' in io.text
    assert "sha256:abc123" in io.text
    assert "answer yes or no" in io.text
    assert "| **total** |" in io.text  # /cost works while the run waits


def test_pause_while_the_run_waits_leaves_every_answer_open(tmp_path: Path) -> None:
    io = ScriptIO(["/pause"])
    conversation = _conversation(tmp_path, write_cassette(tmp_path / "chat.jsonl"), io)
    pending = [{"id": "q", "kind": "question", "task": "T001", "agent": "business-context", "question": "EUR?"}]
    assert Asker(conversation, io.board(TaskPlan(feature="x", tasks=[])))(pending) == {}


def test_resume_without_a_conversation_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no conversation to resume"):
        last_state(tmp_path)


def test_a_reply_the_cassette_lacks_is_said_not_raised(tmp_path: Path) -> None:
    cassette = tmp_path / "short.jsonl"
    header = {"type": "header", "version": 1, "source": "scripted", "model": "s", "created": ""}
    only = model_turn("chat/interview", 0, "", [("ask_person", {"question": "Who?", "topic": "stakeholders"})])
    cassette.write_text(f"{json.dumps(header)}\n{json.dumps(only)}\n")
    io = ScriptIO(["churn", "Finance", "/quit"])
    conversation = _conversation(tmp_path, cassette, io)
    conversation.start(resumed=False)
    conversation.loop()
    assert "error: the cassette" in io.text
    assert "no model turn for task chat/interview attempt 1 step 1" in io.text


def test_an_approved_plan_runs_with_its_gate_and_question_asked_in_the_chat(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    feature = project / "specs" / "001-churn"
    feature.mkdir(parents=True)
    (project / "dacrew.yml").write_text("gates: phases\n")
    two_phases = plan([FIXED[0]]).replace("## Business Logic Tasks", "## Data Foundation Tasks") + (
        "\n## Business Logic Tasks\n\n" + plan([FIXED[1]]).split("## Business Logic Tasks\n\n", 1)[1]
    )
    (feature / "tasks.md").write_text(two_phases)
    (feature / "spec.md").write_text("# Feature: Churn\n")
    io = ScriptIO(["/status", "paused is not churned", "/findings T001", "yes"])
    conversation = _conversation(project, write_cassette(tmp_path / "chat.jsonl"), io)
    conversation.state.feature = "001-churn"
    conversation.state.stage = "plan"
    conversation.state.plan_valid = True
    assert conversation.handle("/approve")
    assert "**T001** (business-context) asks: Do paused subscriptions count as churned?" in io.text
    assert "| T001 | needs_input | business-context | 1 |" in io.text
    assert "Churn definition agreed: paused is not churned." in io.text  # /findings T001 at the gate
    assert "**Phase gate** (Data Foundation Tasks)" in io.text
    assert "Run **completed** (exit 0)" in io.text
    assert conversation.state.stage == "done"
    assert last_state(project).run_id == conversation.state.run_id

"""Spec → plan, and edits: the parent writes ``tasks.md`` in the analytics template, the plan compiler
checks it, and its ``path:line`` errors go back to the parent until the plan is valid; only then is it
shown, with its schedule (waves, critical path) and the mermaid diagram saved beside it (``tasks.mmd``).

Every version is kept: ``tasks.v1.md``, ``tasks.v2.md``, … (drafts with errors too); ``tasks.md`` is
always the last valid one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dacrew.errors import UserError
from dacrew.plan.parse import parse_plan
from dacrew.plan.render import preview, render_mermaid, render_text
from dacrew.plan.validate import Diagnostic, validate

if TYPE_CHECKING:
    from pathlib import Path

    from dacrew.chat.io import Host
    from dacrew.plan.model import TaskPlan

MAX_FIXES = 3
"""Drafts with errors the parent may send in a row before the person is shown the errors."""


def write_plan(content: str) -> None:
    """Write the whole tasks.md. Answers with the plan compiler's errors (``tasks.md:LINE: message``) to
    fix, or, when the plan is valid, with its schedule.

    content: the whole plan, in the analytics template.
    """


@dataclass
class Checked:
    """A draft plan, compiled: the plan when valid, and its errors and warnings (``tasks.md:LINE: …``)."""

    plan: TaskPlan | None
    errors: list[str] = field(default_factory=list[str])
    warnings: list[str] = field(default_factory=list[str])


def check_plan(text: str, name: str = "tasks.md") -> Checked:
    """Compile ``text`` as the plan file ``name``: every error, not only the first."""
    try:
        plan = parse_plan(text, name)
    except UserError as exc:
        return Checked(None, [str(exc)])
    diagnostics: list[Diagnostic] = validate(plan, text=text)
    errors = [str(d) for d in diagnostics if d.severity == "error"]
    warnings = [str(d) for d in diagnostics if d.severity == "warning"]
    return Checked(None if errors else plan, errors, warnings)


class Planner:
    TOOLS = (write_plan,)

    def __init__(self, conversation: Host) -> None:
        self.conversation = conversation
        self.thread = conversation.thread("plan")

    def begin(self, spec: Path) -> None:
        state = self.conversation.state
        self.thread.add_person(
            f"The spec ({spec.relative_to(state.project)}):\n\n{spec.read_text(encoding='utf-8')}\n\n"
            "Write tasks.md for this feature."
        )

    def change(self, text: str) -> None:
        self.thread.add_person(f"The person asks for this change to the plan: {text.strip()}")

    def advance(self) -> bool:
        """Model turns until a valid plan is shown (True) or the model hands the word back (False)."""
        io = self.conversation.io
        for _ in range(MAX_FIXES):
            message = self.conversation.reply(self.thread)
            calls = [c for c in message.tool_calls if c["name"] == "write_plan"]
            for call in message.tool_calls:
                if call not in calls:
                    self.thread.add_result(str(call["id"]), f"error: {call['name']} is not a tool here")
            if not calls:
                self.conversation.save()
                return False
            for extra in calls[:-1]:
                self.thread.add_result(str(extra["id"]), "Superseded by the next write_plan of this reply.")
            call = calls[-1]
            version, checked = self._draft(str(call["args"].get("content", "")))
            if checked.plan is None:
                io.note(f"tasks.v{version}.md has {len(checked.errors)} error(s); the parent fixes them:")
                io.note("\n".join(f"  {e}" for e in checked.errors))
                self.thread.add_result(
                    str(call["id"]), "The plan has errors; fix each one:\n" + "\n".join(checked.errors)
                )
                self.conversation.save()
                continue
            schedule = self._adopt(version, checked)
            warnings = "\n\nWarnings (fix them with the next change):\n" + "\n".join(checked.warnings)
            self.thread.add_result(
                str(call["id"]),
                f"The plan is valid. The person reviews it now.\n\n{schedule}{warnings if checked.warnings else ''}",
            )
            self.conversation.save()
            return True
        io.show("The plan still has errors; say what to change, or fix it yourself with `/edit`.")
        return False

    def edit_by_hand(self) -> None:
        """``/edit``: the person edits a copy of tasks.md; a valid result becomes the next version."""
        state = self.conversation.state
        io = self.conversation.io
        draft = state.folder / f"tasks.v{state.plan_version + 1}.md"
        shutil.copyfile(state.plan_path, draft)
        state.plan_version += 1
        io.edit(draft)
        text = draft.read_text(encoding="utf-8")
        checked = check_plan(text)
        if checked.plan is None:
            io.show(
                f"Your edit ({draft.name}) has errors; tasks.md keeps the last valid version. `/edit` again to fix:\n\n"
                + "\n".join(f"- `{e}`" for e in checked.errors)
            )
            self.conversation.save()
            return
        self._adopt(state.plan_version, checked)
        self.thread.add_person(f"The person edited the plan by hand. tasks.md is now:\n\n{text}")
        self.conversation.save()

    def show_current(self) -> None:
        state = self.conversation.state
        checked = check_plan(state.plan_path.read_text(encoding="utf-8"))
        if checked.plan is not None:
            self.conversation.io.show(_schedule_markdown(len(checked.plan.tasks), render_text(preview(checked.plan))))

    def _draft(self, text: str) -> tuple[int, Checked]:
        state = self.conversation.state
        state.plan_version += 1
        path = state.folder / f"tasks.v{state.plan_version}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.rstrip() + "\n", encoding="utf-8")
        return state.plan_version, check_plan(text)

    def _adopt(self, version: int, checked: Checked) -> str:
        """Make version ``version`` the plan: tasks.md, tasks.mmd, and show it with its schedule."""
        assert checked.plan is not None
        state = self.conversation.state
        shutil.copyfile(state.folder / f"tasks.v{version}.md", state.plan_path)
        view = preview(checked.plan)
        (state.folder / "tasks.mmd").write_text(render_mermaid(view) + "\n", encoding="utf-8")
        state.plan_valid = True
        text = render_text(view)
        io = self.conversation.io
        io.show(_schedule_markdown(len(checked.plan.tasks), text))
        for warning in checked.warnings:
            io.note(warning)
        io.note(
            f"saved {state.plan_path.relative_to(state.project)} (version {version}) and tasks.mmd beside it; "
            "change it in words or with /edit, or /approve to run it"
        )
        return text


def _schedule_markdown(tasks: int, schedule: str) -> str:
    return f"**The plan** ({tasks} tasks):\n\n```text\n{schedule}\n```"

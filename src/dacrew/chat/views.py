"""What ``/status``, ``/findings T005``, ``/cost`` and ``/help`` show, as markdown, from the conversation's
state and the project's findings."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dacrew.chat.session import ChatState
    from dacrew.findings.format import Usage

HELP = """\
**Commands**

| command | what it does |
|---|---|
| `skip`, `enough` | during the interview: skip a question; stop the questions and write the spec |
| *words* | during planning: change the plan ("split T008 into two") |
| `/edit` | edit tasks.md in `$EDITOR`; it is checked again when you save |
| `/approve` | run the plan here, with the live board (or go on with a stopped run) |
| `/status` | the run's tasks and their status |
| `/findings T005` | a task's finding |
| `/cost` | tokens and USD of this conversation and its run |
| `/pause` | leave; `dacrew chat --resume` (or `dacrew resume RUN`) goes on |
| `/help` | this list |

Ctrl-C cancels the reply being written (or stops a run: `/approve` goes on with it); Ctrl-D leaves.
Paste several lines at once, or end a line with Esc Enter to go on writing."""


def status_view(state: ChatState) -> str:
    from dacrew.findings.store import FindingsStore

    if state.run_id is None:
        where = "the interview" if state.stage in ("describe", "interview") else "planning"
        plan = f"; plan version {state.plan_version}" if state.plan_version else ""
        return f"No run yet: the conversation is in {where}{plan}."
    findings = [f for f in FindingsStore(state.project).all().values() if f.run_id == state.run_id]
    if not findings:
        return f"Run `{state.run_id}`: no task has started yet."
    rows = "\n".join(f"| {f.task} | {f.status} | {f.owner} | {f.attempt} |" for f in findings)
    return f"Run `{state.run_id}`:\n\n| task | status | owner | attempt |\n|---|---|---|---|\n{rows}"


def findings_view(state: ChatState, task: str) -> str:
    from dacrew.errors import UserError
    from dacrew.findings.store import FindingsStore

    if not task:
        return "Which task? `/findings T005`"
    try:
        store = FindingsStore(state.project)
        finding = store.read(task.upper())
    except UserError as exc:
        return str(exc)
    if finding is None:
        return f"{task.upper()} has no finding yet."
    return store.path(finding.task).read_text(encoding="utf-8")


def cost_view(state: ChatState) -> str:
    from dacrew.findings.format import Usage
    from dacrew.findings.store import FindingsStore

    run = Usage()
    if state.run_id is not None:
        for finding in FindingsStore(state.project).all().values():
            if finding.run_id == state.run_id:
                run = run + finding.usage
    lines = [f"| conversation | {_tokens(state.usage)} | ${state.usage.usd:.4f} |"]
    if state.run_id is not None:
        lines.append(f"| run `{state.run_id}` | {_tokens(run)} | ${run.usd:.4f} |")
    total = state.usage + run
    lines.append(f"| **total** | {_tokens(total)} | ${total.usd:.4f} |")
    return "| | tokens (in / out) | USD |\n|---|---|---|\n" + "\n".join(lines)


def _tokens(usage: Usage) -> str:
    return f"{usage.input_tokens:,} / {usage.output_tokens:,}"

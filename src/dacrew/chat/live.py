"""Approve → run: the approved plan runs in this process under the live board; the crew's questions,
approvals (the exact request and its digest) and phase gates become chat prompts, where ``/status``,
``/findings T005``, ``/cost``, ``/pause`` and ``/help`` also work."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from dacrew.chat.views import HELP, cost_view, findings_view, status_view

if TYPE_CHECKING:
    from dacrew.chat.io import Host
    from dacrew.graph.runner import RunResult
    from dacrew.graph.state import RunSettings

YES = ("y", "yes", "approve", "ok")
NO = ("n", "no", "deny")


class Pause(Exception):
    """The person asked to leave the run waiting (``/pause``, or the end of input)."""


def run_settings(conversation: Host) -> RunSettings:
    """The settings of the conversation's run: a new one for a fresh approval, else the one it started."""
    from dacrew.findings.format import now_iso
    from dacrew.graph.state import RunSettings, load_settings, new_run_id

    state = conversation.state
    if state.run_id is not None:
        return load_settings(state.project, state.run_id)
    config = conversation.config
    return RunSettings(
        run_id=new_run_id(),
        plan=str(state.plan_path.relative_to(state.project)),
        project_dir=str(state.project),
        model=state.model,
        max_parallel=config.run.max_parallel,
        gates=config.gates == "phases",
        budget_usd=config.run.budget_usd,
        step_limit=config.run.step_limit,
        created=now_iso(),
    )


def run_plan(conversation: Host) -> RunResult | None:
    """Start the run (or go on with the conversation's run); ``None`` when the person stopped it (Ctrl-C)."""
    from dacrew.findings.events import read_events
    from dacrew.graph.runner import execute_run
    from dacrew.plan.validate import compile_plan

    state = conversation.state
    settings = run_settings(conversation)
    is_resume = state.run_id is not None
    state.run_id = settings.run_id
    state.stage = "run"
    conversation.save()
    plan, _ = compile_plan(settings.plan_path)
    board = conversation.io.board(plan)
    if is_resume:
        board.replay(read_events(settings.run_dir))
    conversation.io.note(f"run {settings.run_id}: {len(plan.tasks)} tasks")
    try:
        with board:
            result = execute_run(
                settings, is_resume=is_resume, ask=Asker(conversation, board), observers=[board.handle]
            )
    except KeyboardInterrupt:
        conversation.io.note(
            f"run {settings.run_id} stopped; `/approve` goes on with it (or `dacrew resume {settings.run_id}`)"
        )
        return None
    conversation.io.show(f"```text\n{board.summary()}\n```")
    if result.status == "paused":
        conversation.io.show(
            f"The run waits. `dacrew chat --resume` (or `dacrew resume {result.run_id}`) goes on with it."
        )
    else:
        state.stage = "done"
        report = settings.run_dir / "report.html"
        conversation.io.show(
            f"Run **{result.status}** (exit {result.exit_code})."
            + (f" Report: `{report.relative_to(state.project)}`" if report.is_file() else "")
        )
    conversation.save()
    return result


class Asker:
    """The runner's ``ask``: each pending question, approval or gate as a chat prompt."""

    def __init__(self, conversation: Host, board: Any) -> None:
        self.conversation = conversation
        self.board = board

    def __call__(self, pending: list[dict[str, Any]]) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        with self.board.suspended():
            try:
                for item in pending:
                    answers[item["id"]] = self._one(item)
            except Pause:
                self.conversation.io.note("paused: the run is checkpointed and waits for these answers")
                return {}
        return answers

    def _one(self, item: dict[str, Any]) -> Any:
        io = self.conversation.io
        kind = item.get("kind")
        who = item.get("task") or item.get("phase") or ""
        if kind == "replay":
            return "go on"  # a restarted task confirming an answer it recorded already
        if kind == "question":
            io.show(f"**{who}** ({item.get('agent', '')}) asks: {item.get('question', '')}")
            return self._read(f"{who} answer> ", lambda text: text)
        if kind == "approval":
            io.show(
                f"**{who}** ({item.get('agent', '')}) needs approval for `{item.get('tool', '')}`"
                f" ({item.get('action', '')}): {item.get('message', '')}\n\n{_request(item.get('request'))}"
                f"digest `{item.get('digest', '')}` — approve exactly this request? (yes/no)"
            )
        else:
            io.show(f"**Phase gate** ({who}): {item.get('text', '')} (yes/no)")
        return self._read(f"{who} yes/no> ", _verdict)

    def _read(self, prompt: str, accept: Any) -> Any:
        io = self.conversation.io
        while True:
            text = io.read(prompt)
            if text is None:
                raise Pause
            text = text.strip()
            if not text:
                continue
            if text.startswith("/"):
                self._command(text)
                continue
            value = accept(text)
            if value is not None:
                return value
            io.note("answer yes or no")

    def _command(self, text: str) -> None:
        io = self.conversation.io
        name, _, argument = text.partition(" ")
        state = self.conversation.state
        if name == "/pause":
            raise Pause
        if name == "/status":
            io.show(status_view(state))
        elif name == "/findings":
            io.show(findings_view(state, argument.strip()))
        elif name == "/cost":
            io.show(cost_view(state))
        elif name == "/help":
            io.show(HELP)
        else:
            io.note(f"{name} is not available while the run waits; /help lists what is")


def _verdict(text: str) -> dict[str, bool] | None:
    word = text.strip().lower()
    if word in YES:
        return {"approved": True}
    if word in NO:
        return {"approved": False}
    return None


def _request(request: Any) -> str:
    """The exact request an approval covers: its SQL, command or diff as is, anything else as JSON."""
    import json

    if not isinstance(request, dict) or not request:
        return ""
    fields = cast("dict[str, Any]", request)
    for key, fence in (("sql", "sql"), ("command", "text"), ("diff", "diff")):
        if isinstance(fields.get(key), str):
            rest = {k: v for k, v in fields.items() if k != key}
            tail = f"\n\n`{json.dumps(rest, ensure_ascii=False, default=str)}`" if rest else ""
            return f"```{fence}\n{fields[key]}\n```{tail}\n\n"
    return f"```json\n{json.dumps(fields, indent=2, ensure_ascii=False, default=str)}\n```\n\n"

"""``dacrew chat``: the conversation engine (:mod:`dacrew.chat`) on a terminal — prompt_toolkit input
with history and multi-line paste, rich markdown output, streamed replies, the live board for the run."""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from dacrew.plan.model import TaskPlan
    from dacrew.report.board import Board


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)


def chat(
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="The project folder."),
    model: str | None = typer.Option(
        None, "--model", help="Model for the crew: an init_chat_model string, or replay:<cassette>."
    ),
    resume: bool = typer.Option(False, "--resume", help="Go on with the last conversation (and its run)."),
) -> None:
    """Talk a feature through with the crew: interview → spec → task plan → edits → approval → the run."""
    from dacrew.chat.engine import Conversation
    from dacrew.chat.session import last_state, new_state
    from dacrew.config import load_config
    from dacrew.models.resolve import REPLAY_PREFIX, resolve_model_source

    project = project_dir.resolve()
    if model and model.startswith(REPLAY_PREFIX):
        raw = Path(model.removeprefix(REPLAY_PREFIX)).expanduser()
        model = REPLAY_PREFIX + str(raw if raw.is_absolute() else (Path.cwd() / raw).resolve())
    config = load_config(project)
    state = last_state(project) if resume else new_state(project, model)
    if model is not None:
        state.model = model
    models = resolve_model_source(state.model, config, base_dir=project)
    conversation = Conversation(state, TerminalIO(project), config, models)
    if conversation.start(resumed=resume):
        conversation.loop()


class TerminalIO:
    """:class:`dacrew.chat.io.ChatIO` on a terminal (plain ``input()`` when stdin is not one)."""

    def __init__(self, project: Path) -> None:
        from rich.console import Console

        self.console: Console = Console(highlight=False)
        self._history = project
        self._session: Any = None

    def show(self, markdown: str) -> None:
        from rich.markdown import Markdown

        self.console.print(Markdown(markdown))
        self.console.print()

    def note(self, text: str) -> None:
        self.console.print(text, style="dim", markup=False)

    @contextlib.contextmanager
    def streaming(self) -> Iterator[Callable[[str], None]]:
        from rich.live import Live
        from rich.markdown import Markdown

        parts: list[str] = []
        live: list[Live] = []

        def sink(text: str) -> None:
            parts.append(text)
            if not live:
                live.append(Live(console=self.console, refresh_per_second=12, vertical_overflow="visible"))
                live[0].start()
            live[0].update(Markdown("".join(parts)))

        try:
            yield sink
        except KeyboardInterrupt:
            if live:
                live[0].stop()
                live.clear()
            raise
        finally:
            if live:
                live[0].stop()
                self.console.print()

    def read(self, prompt: str) -> str | None:
        if not sys.stdin.isatty():
            try:
                return input(prompt)
            except EOFError:
                return None
        try:
            # The run asks from inside its event loop: prompt_toolkit then runs its own in a thread.
            return str(self._prompt_session().prompt(prompt, in_thread=_in_event_loop()))
        except KeyboardInterrupt:
            return ""  # Ctrl-C at the prompt clears the line, as in a shell
        except EOFError:
            return None

    def edit(self, path: Path) -> None:
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        subprocess.run([*shlex.split(editor), str(path)], check=False)

    def board(self, plan: TaskPlan) -> Board:
        from dacrew.report.board import Board

        return Board(plan, console=self.console)

    def _prompt_session(self) -> Any:
        if self._session is None:
            from prompt_toolkit import PromptSession
            from prompt_toolkit.history import FileHistory
            from prompt_toolkit.key_binding import KeyBindings

            from dacrew.chat.session import history_path

            bindings = KeyBindings()

            @bindings.add("escape", "enter")
            def _newline(event: Any) -> None:  # pyright: ignore[reportUnusedFunction]
                event.current_buffer.insert_text("\n")

            path = history_path(self._history)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Pasted text (bracketed paste) keeps its line breaks; Enter sends it.
            self._session = PromptSession(history=FileHistory(str(path)), key_bindings=bindings)
        return self._session


def _in_event_loop() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True

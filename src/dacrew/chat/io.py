"""What the conversation engine needs from the place it talks to a person (a terminal, a test)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage

    from dacrew.chat.session import ChatState
    from dacrew.chat.thread import Thread
    from dacrew.config import DacrewConfig
    from dacrew.plan.model import TaskPlan
    from dacrew.report.board import Board


class ChatIO(Protocol):
    def show(self, markdown: str) -> None:
        """A message from the crew, in markdown."""
        ...

    def note(self, text: str) -> None:
        """A short status line (what dacrew did: a file written, a version saved)."""
        ...

    def streaming(self) -> AbstractContextManager[Callable[[str], None]]:
        """A model reply as it arrives: the context gives a sink for its text pieces."""
        ...

    def read(self, prompt: str) -> str | None:
        """The person's next input; ``None`` at the end of input (Ctrl-D)."""
        ...

    def edit(self, path: Path) -> None:
        """Let the person edit ``path`` (``$EDITOR``); returns when they are done."""
        ...

    def board(self, plan: TaskPlan) -> Board:
        """The live task board for a run of ``plan``."""
        ...


class Host(Protocol):
    """What the stages (interview, planning, the run) use of the conversation that drives them."""

    state: ChatState
    io: ChatIO
    config: DacrewConfig

    def thread(self, name: Literal["interview", "plan"]) -> Thread: ...

    def reply(self, thread: Thread) -> AIMessage: ...

    def save(self) -> None: ...

"""The conversation: a state machine — describe → interview → plan (edits) → run → done — that reads the
person's input one line (or pasted block) at a time and answers through a :class:`ChatIO`.

It knows nothing of terminals: ``dacrew.cli.chat`` wires it to prompt_toolkit and rich; tests drive it
through a pseudo-terminal.
"""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Literal

from dacrew.chat.session import ChatState, save_state
from dacrew.chat.views import HELP, cost_view, findings_view, status_view
from dacrew.errors import DacrewError

if TYPE_CHECKING:
    from langchain_core.messages import AIMessage

    from dacrew.chat.interview import Interview
    from dacrew.chat.io import ChatIO
    from dacrew.chat.planning import Planner
    from dacrew.chat.thread import Thread
    from dacrew.config import DacrewConfig
    from dacrew.models.resolve import ModelSource

ThreadName = Literal["interview", "plan"]
AGENTS: dict[ThreadName, str] = {"interview": "business-context", "plan": "parent"}
GREETING = "Describe the feature you need, in your own words. (`/help` lists the commands.)"


class Conversation:
    def __init__(self, state: ChatState, io: ChatIO, config: DacrewConfig, models: ModelSource) -> None:
        self.state = state
        self.io = io
        self.config = config
        self.models = models
        self._interview: Interview | None = None
        self._planner: Planner | None = None

    # -- the loop -----------------------------------------------------------------------------------

    def start(self, *, resumed: bool) -> bool:
        """Greet (or recap a resumed conversation); False when the session should end already."""
        if not resumed:
            self.io.show(GREETING)
            return True
        self.io.note(f"conversation {self.state.conversation_id} resumed ({self.state.stage})")
        if self.state.stage == "interview":
            question = self.interview.pending_question()
            self.io.show(f"**Still waiting for your answer**: {question}" if question else "Go on.")
        elif self.state.stage == "plan" and self.state.plan_valid:
            self.planner.show_current()
        elif self.state.stage == "run":
            return self._run()
        elif self.state.stage == "done":
            self.io.show(status_view(self.state))
        return True

    def loop(self) -> None:
        while True:
            text = self.io.read(self._prompt())
            if text is None or not self.handle(text):
                break

    def handle(self, text: str) -> bool:
        """One input of the person; False ends the session."""
        text = text.strip()
        if not text:
            return True
        try:
            if text.startswith("/"):
                return self._command(text)
            self._say(text)
        except KeyboardInterrupt:
            self.io.note("cancelled")
        except DacrewError as exc:  # a model or run problem: say it, keep the conversation
            self.io.note(f"error: {exc}")
        return True

    def _prompt(self) -> str:
        return {"describe": "feature> ", "interview": "answer> ", "plan": "plan> "}.get(self.state.stage, "> ")

    # -- stages -------------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        stage = self.state.stage
        if stage == "describe":
            self.state.request = text
            self.state.stage = "interview"
            self.interview.begin(text)
            self.save()
            self._interview_turns()
        elif stage == "interview":
            self.interview.answer(text)
            self._interview_turns()
        elif stage == "plan":
            self.planner.change(text)
            self.planner.advance()
        else:
            self.io.note("the plan is approved; /status, /findings T001, /cost or /help")

    def _interview_turns(self) -> None:
        spec = self.interview.advance()
        if spec is None:
            return
        self.io.show(spec.read_text(encoding="utf-8"))
        self.io.note(f"saved {spec.relative_to(self.state.project)}; the parent writes the plan")
        self.state.stage = "plan"
        self.planner.begin(spec)
        self.save()
        self.planner.advance()

    def _command(self, text: str) -> bool:
        name, _, argument = text.partition(" ")
        stage = self.state.stage
        if name in ("/pause", "/quit", "/exit"):
            self.save()
            where = f" (run {self.state.run_id})" if self.state.run_id else ""
            self.io.note(f"saved{where}; `dacrew chat --resume` goes on")
            return False
        if name == "/help":
            self.io.show(HELP)
        elif name == "/status":
            self.io.show(status_view(self.state))
        elif name == "/findings":
            self.io.show(findings_view(self.state, argument.strip()))
        elif name == "/cost":
            self.io.show(cost_view(self.state))
        elif name in ("/skip", "/enough") and stage == "interview":
            self._say(name[1:])
        elif name == "/edit" and stage == "plan" and self.state.plan_valid:
            self.planner.edit_by_hand()
        elif name == "/approve" and (stage == "run" or (stage == "plan" and self.state.plan_valid)):
            return self._run()
        elif name in ("/edit", "/approve"):
            self.io.note(f"{name} needs a valid plan first" if stage != "done" else "the run has finished")
        else:
            self.io.note(f"unknown command {name}; /help lists them")
        return True

    def _run(self) -> bool:
        from dacrew.chat.live import run_plan

        result = run_plan(self)
        return not (result is not None and result.status == "paused")

    # -- parts --------------------------------------------------------------------------------------

    @property
    def interview(self) -> Interview:
        from dacrew.chat.interview import Interview

        if self._interview is None:
            self._interview = Interview(self)
        return self._interview

    @property
    def planner(self) -> Planner:
        from dacrew.chat.planning import Planner

        if self._planner is None:
            self._planner = Planner(self)
        return self._planner

    def thread(self, name: ThreadName) -> Thread:
        """The model thread ``name`` (``chat/<name>`` in cassettes), with its saved messages."""
        from dacrew.agents.registry import load_agent
        from dacrew.chat.interview import Interview
        from dacrew.chat.planning import Planner
        from dacrew.chat.thread import Thread
        from dacrew.models.resolve import LimitedChatModel

        agent = load_agent(AGENTS[name], self.state.project)
        model = self.models.chat_model(agent.name, f"chat/{name}", 1, agent_model=agent.model)
        if isinstance(model, LimitedChatModel):
            model = model.inner  # stream the reply: one conversation makes one call at a time
        instructions = resources.files("dacrew.chat").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")
        system = f"{agent.prompt}\n\n{instructions}"
        if name == "plan":
            template = resources.files("dacrew.prompts").joinpath("tasks-template.md").read_text(encoding="utf-8")
            system += f"\n\n## The analytics template\n\n{template}"
        tools = Interview.TOOLS if name == "interview" else Planner.TOOLS
        saved = self.state.interview if name == "interview" else self.state.planning
        return Thread(model, self.models.model_name(agent.name, agent.model), system, tools, saved, self.config)

    def reply(self, thread: Thread) -> AIMessage:
        """The thread's next model reply, streamed to the person; counts its usage."""
        with self.io.streaming() as sink:
            message, usage = thread.reply(sink)
        self.state.usage = self.state.usage + usage
        return message

    def save(self) -> None:
        if self._interview is not None:
            self.state.interview = self._interview.thread.saved()
        if self._planner is not None:
            self.state.planning = self._planner.thread.saved()
        save_state(self.state)

"""Interview → spec: business-context asks focused questions until it can write
``specs/<###-feature>/spec.md``; the person answers, skips (``skip``) or ends the questions (``enough``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from dacrew.chat.session import feature_folder

if TYPE_CHECKING:
    from pathlib import Path

    from dacrew.chat.io import Host

MAX_QUESTIONS = 12
MAX_TURNS = 8
"""Model replies in a row without a question for the person before the person gets the word."""
SKIP_WORDS = ("skip", "/skip", "pass", "next")
ENOUGH_WORDS = ("enough", "/enough", "that's enough", "that is enough", "done")
Topic = Literal["stakeholders", "metrics", "sources", "freshness", "performance", "dashboards", "access", "other"]


def ask_person(question: str, topic: Topic) -> None:
    """Ask the person one focused question and wait for the answer (or their skip, or "enough").

    question: the question, with the options you see and what each means for the numbers.
    topic: what it is about — stakeholders, metrics, sources, freshness, performance, dashboards, access, other.
    """


def write_spec(feature: str, content: str) -> None:
    """Write the feature's spec, which ends the interview.

    feature: a short name for the feature, in a few words ("churn dashboard").
    content: the whole spec, in markdown.
    """


def answer_text(text: str) -> str:
    """What the model reads for the person's answer to a question."""
    words = text.strip().lower().rstrip(".!")
    if words in SKIP_WORDS:
        return "The person skipped this question. Do not ask it again; list it under Open questions."
    if words in ENOUGH_WORDS:
        return "The person has answered enough. Ask nothing more: write the spec now with write_spec."
    return f"The person answers: {text.strip()}"


class Interview:
    TOOLS = (ask_person, write_spec)

    def __init__(self, conversation: Host) -> None:
        self.conversation = conversation
        self.thread = conversation.thread("interview")

    def begin(self, request: str) -> None:
        self.thread.add_person(f"The feature, in the person's words: {request.strip()}")

    def answer(self, text: str) -> None:
        if text.strip().lower().rstrip(".!") in ENOUGH_WORDS:
            self.conversation.state.enough = True
        call = self.thread.open_call()
        if call is None:
            self.thread.add_person(text)
        else:
            self.thread.add_result(call["id"], answer_text(text))

    def pending_question(self) -> str | None:
        call = self.thread.open_call()
        return str(call["args"].get("question", "")) if call and call["name"] == "ask_person" else None

    def advance(self) -> Path | None:
        """Model turns until the model waits for the person (``None``) or has written the spec (its path)."""
        state = self.conversation.state
        io = self.conversation.io
        for _ in range(MAX_TURNS):
            message = self.conversation.reply(self.thread)
            waiting = False
            spec: Path | None = None
            for call in message.tool_calls:
                args = call["args"]
                if call["name"] == "ask_person" and not (waiting or state.enough or state.questions >= MAX_QUESTIONS):
                    state.questions += 1
                    topic = str(args.get("topic", "")).strip()
                    io.show(
                        f"**Question {state.questions}**{f' ({topic})' if topic else ''}: {args.get('question', '')}"
                    )
                    waiting = True
                elif call["name"] == "ask_person":
                    reason = "One question at a time." if waiting else "Enough questions: write the spec now."
                    self.thread.add_result(str(call["id"]), reason)
                elif call["name"] == "write_spec" and str(args.get("content", "")).strip():
                    spec = self._write(str(args.get("feature", "")), str(args["content"]))
                    self.thread.add_result(str(call["id"]), f"Written to {spec.relative_to(state.project)}.")
                else:
                    self.thread.add_result(
                        str(call["id"]), f"error: {call['name']} is not a tool here, or its content is empty"
                    )
            self.conversation.save()
            if spec is not None:
                return spec
            if waiting or not message.tool_calls:
                return None
        return None  # the model keeps calling tools without asking: the person says what next

    def _write(self, feature: str, content: str) -> Path:
        state = self.conversation.state
        if not state.feature:
            state.feature = feature_folder(state.project, feature or state.request)
        path = state.folder / "spec.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content.rstrip() + "\n", encoding="utf-8")
        return path

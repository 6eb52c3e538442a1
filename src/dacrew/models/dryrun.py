"""The ``--dry-run`` model: completes every task at once, calling no tool and no model."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from dacrew.models.replay import OfflineChatModel, step_of

COMPLETE_TASK = "complete_task"


class DryRunChatModel(OfflineChatModel):
    """Answers every request with ``complete_task`` and a summary that says it was a dry run."""

    task_id: str
    title: str = ""

    @property
    def _llm_type(self) -> str:
        return "dacrew-dry-run"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        step = step_of(messages)
        title = self.title or self.task_id
        args = {
            "summary": f"Dry run: {title} — no tools were called.",
            "artifacts": [],
            "details": f"The dry-run model completed task {self.task_id} without a model call or a tool call.",
        }
        message = AIMessage(
            content="",
            tool_calls=[{"name": COMPLETE_TASK, "args": args, "id": f"dry-{self.task_id}-{step}", "type": "tool_call"}],
            usage_metadata={"input_tokens": 0, "output_tokens": 0, "total_tokens": 0},
            response_metadata={"model_name": "dry-run"},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

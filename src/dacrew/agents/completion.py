"""The framework's own tools, held by every specialist: ``complete_task``, ``request_input`` and (for
a task's lead) ``delegate``. They end or steer the agent's turn; the loop handles them itself."""

from __future__ import annotations

import functools
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

COMPLETE = "complete_task"
REQUEST_INPUT = "request_input"
DELEGATE = "delegate"


class ProposedCheck(BaseModel):
    """An executable acceptance check the agent proposes; the parent runs it."""

    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="One of: dbt, sql, table, file, tableau, orchestra, finding.")
    argument: str = Field(
        description="e.g. 'build --select staging', 'select count(*) from analytics.fct_orders = 120', "
        "'analytics.customer_ltv matches expected/customer_ltv.csv', 'models/marts/fct_orders.sql'."
    )


class CompleteTaskArgs(BaseModel):
    """Finish the task: say what was done. The parent verifies it before it counts as completed."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(description="What was delivered, in a few sentences, for the tasks that follow.")
    artifacts: list[str] = Field(default_factory=list[str], description="Files, models and tables produced.")
    details: str = Field(default="", description="Implementation details worth keeping.")
    checks: list[ProposedCheck] = Field(default_factory=list[ProposedCheck], description="Checks that prove it.")
    integration_points: str = Field(default="", description="What downstream tasks rely on.")
    testing_strategy: str = Field(default="", description="How the work was tested.")
    risks: str = Field(default="", description="Risks and open dependencies.")
    next_steps: str = Field(default="", description="A handoff note for the successors.")


class RequestInputArgs(BaseModel):
    """Ask a person a question (a missing decision, a spec change, data quality news) and wait for the
    answer before going on."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question, self-contained: the person has not seen your work.")


class DelegateArgs(BaseModel):
    """Hand part of this task to one of its co-owners and get their summary back."""

    model_config = ConfigDict(extra="forbid")

    agent: str = Field(description="The co-owner to delegate to, e.g. orchestra-expert.")
    instructions: str = Field(description="Exactly what they should do, with files and acceptance.")


@functools.cache
def tool_schema(name: str, model: type[BaseModel]) -> dict[str, Any]:
    """An OpenAI-style function schema, which every LangChain chat model's ``bind_tools`` accepts."""
    schema = model.model_json_schema()
    schema.pop("title", None)
    return {
        "type": "function",
        "function": {"name": name, "description": (model.__doc__ or "").strip(), "parameters": schema},
    }


FRAMEWORK_TOOLS: dict[str, type[BaseModel]] = {
    COMPLETE: CompleteTaskArgs,
    REQUEST_INPUT: RequestInputArgs,
    DELEGATE: DelegateArgs,
}

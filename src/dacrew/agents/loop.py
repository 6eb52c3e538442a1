"""The specialist loop: one agent, one task attempt, a bounded tool-calling conversation that ends with
``complete_task`` (or fails).

Everything the loop does is journaled (model responses, tool results), so a task restarted after an
interrupt or a crash replays what it already had instead of paying for it or repeating it. Questions
and approvals are LangGraph interrupts, asked through the task's :class:`TaskAsker`, which keeps the
answers matched to their questions across restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dacrew.agents.asker import TaskAsker
from dacrew.agents.completion import (
    COMPLETE,
    DELEGATE,
    REQUEST_INPUT,
    CompleteTaskArgs,
    DelegateArgs,
    RequestInputArgs,
    tool_schema,
)
from dacrew.agents.journal import Journal
from dacrew.agents.tool_replay import ToolReplay, render_result, result_json
from dacrew.errors import ApprovalRequired, DacrewError, GuardRefused
from dacrew.findings.format import Usage
from dacrew.models.replay import ReplayError
from dacrew.models.usage import usage_from_message
from dacrew.tools.base import Tool, ToolContext

NUDGE = (
    "You ended your turn without calling complete_task or request_input. Finish the task by calling "
    "complete_task with a summary of what you delivered, or ask a person with request_input."
)

Emit = Callable[..., None]
Delegator = Callable[[str, str], Awaitable[str]]


@dataclass
class AgentOutcome:
    status: str  # completed | failed
    result: CompleteTaskArgs | None = None
    error: str = ""
    usage: Usage = field(default_factory=Usage)
    steps: int = 0
    tool_calls: int = 0


@dataclass
class AgentRun:
    """One conversation: who, with which model and tools, and where its journal lives."""

    agent: str
    model: Any  # a LangChain BaseChatModel
    model_name: str
    tools: dict[str, Tool]
    ctx: ToolContext
    journal: Journal
    key: str
    """Journal and cassette key prefix: ``T004/1`` (task/attempt), ``T014/1/orchestra-expert`` for a delegate."""
    system: Any  # SystemMessage
    prompt: str
    step_limit: int = 25
    emit: Emit = lambda *a, **k: None
    delegates: tuple[str, ...] = ()
    delegate: Delegator | None = None
    bind: bool = True
    pricing: Any = None
    asker: TaskAsker | None = None
    policy: Callable[[str], bool | None] | None = None
    """Headless runs: decides an approval by rule (None: ask a person)."""
    recorder: Any = None
    """The run's :class:`~dacrew.models.cassette.CassetteWriter`: every fresh model turn and tool call."""
    replay: ToolReplay | None = None
    """A replayed run's tool records: served (full replay) or compared (model replay)."""
    cassette_task: str = ""
    """The cassette key of this conversation: ``T004``, or ``T014/orchestra-expert`` for a delegate."""
    attempt: int = 1


def _schemas(run: AgentRun) -> list[dict[str, Any]]:
    schemas = [
        {
            "type": "function",
            "function": {"name": t.name, "description": t.description, "parameters": _clean(t.schema())},
        }
        for t in run.tools.values()
    ]
    schemas.append(tool_schema(COMPLETE, CompleteTaskArgs))
    schemas.append(tool_schema(REQUEST_INPUT, RequestInputArgs))
    if run.delegates:
        schemas.append(tool_schema(DELEGATE, DelegateArgs))
    return schemas


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema.pop("title", None)
    return schema


async def run_agent(run: AgentRun) -> AgentOutcome:
    """Run the conversation to ``complete_task``, a failure, or an interrupt (which propagates)."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, message_to_dict, messages_from_dict

    schemas = _schemas(run)
    model = run.model.bind_tools(schemas) if run.bind else run.model
    messages: list[Any] = [run.system, HumanMessage(content=run.prompt)]
    outcome = AgentOutcome(status="failed")
    nudged = False
    for step in range(run.step_limit):
        outcome.steps = step + 1
        mkey = f"{run.key}/m{step}"
        recorded = run.journal.model(mkey)
        if recorded is not None:
            reply = messages_from_dict([recorded["message"]])[0]
        else:
            run.emit("model_call", agent=run.agent, step=step, model=run.model_name)
            try:
                reply = await model.ainvoke(messages)
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:
                if _is_interrupt(exc):
                    raise
                outcome.error = f"model call failed at step {step}: {type(exc).__name__}: {exc}"
                run.emit("model_error", agent=run.agent, step=step, error=outcome.error)
                return outcome
            run.journal.record_model(mkey, message_to_dict(reply), model=run.model_name)
            if run.recorder is not None:
                run.recorder.model_turn(
                    run.cassette_task, run.attempt, step, reply, messages=messages, tools=schemas if run.bind else ()
                )
            usage = usage_from_message(reply, run.model_name, run.pricing)
            run.emit(
                "model_response",
                agent=run.agent,
                step=step,
                tool_calls=[c["name"] for c in getattr(reply, "tool_calls", [])],
                usage=usage.model_dump(),
            )
        assert isinstance(reply, AIMessage)
        outcome.usage = outcome.usage + usage_from_message(reply, run.model_name, run.pricing)
        messages.append(reply)
        if not reply.tool_calls:
            if nudged:
                outcome.error = "the agent ended its turn twice without calling complete_task"
                return outcome
            nudged = True
            messages.append(HumanMessage(content=NUDGE))
            continue
        finished: CompleteTaskArgs | None = None
        for call in reply.tool_calls:
            outcome.tool_calls += 1
            call_id = call.get("id") or f"call{outcome.tool_calls}"
            name = call["name"]
            args: dict[str, Any] = dict(call.get("args") or {})
            if name == COMPLETE:
                try:
                    finished = CompleteTaskArgs.model_validate(args)
                    content = "Task submitted for verification."
                except ValidationError as exc:
                    content = f"complete_task arguments are invalid: {_first_error(exc)}"
            elif name == REQUEST_INPUT:
                content = await _ask(run, f"{mkey}/{call_id}", args)
            else:
                try:
                    content = await _call_tool(run, f"{mkey}/{call_id}", name, args, step=step, call_id=call_id)
                except ReplayError as exc:  # strict replay: a tool result drifted
                    outcome.error = str(exc)
                    return outcome
            messages.append(ToolMessage(content=content, tool_call_id=call_id, name=name))
        if finished is not None:
            outcome.status = "completed"
            outcome.result = finished
            return outcome
    outcome.error = f"step limit reached ({run.step_limit} model calls) without complete_task"
    return outcome


def _is_interrupt(exc: BaseException) -> bool:
    from langgraph.errors import GraphBubbleUp

    return isinstance(exc, GraphBubbleUp)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "arguments"
    return f"{where}: {err['msg']}"


def _interrupt(run: AgentRun, key: str, payload: dict[str, Any]) -> Any:
    if run.asker is not None:
        return run.asker.ask(key, payload)
    from langgraph.types import interrupt

    return interrupt(payload)


async def _ask(run: AgentRun, key: str, args: dict[str, Any]) -> str:
    try:
        question = RequestInputArgs.model_validate(args).question
    except ValidationError as exc:
        return f"request_input arguments are invalid: {_first_error(exc)}"
    replay = run.asker is not None and run.asker.answered(key)
    if not replay:
        run.emit("question", agent=run.agent, question=question)
    answer = _interrupt(
        run, key, {"kind": "question", "task": run.ctx.task_id, "agent": run.agent, "question": question}
    )
    if not replay:
        run.emit("answer", agent=run.agent, answer=str(answer))
    return f"Answer from a person: {answer}"


async def _call_tool(run: AgentRun, key: str, name: str, args: dict[str, Any], *, step: int, call_id: str) -> str:
    """Run one tool call (or replay it from the journal or, in full replay, the cassette) and return
    what the model reads."""
    recorded = run.journal.tool(key)
    if recorded is not None:
        return str(recorded["content"])
    if run.replay is not None and run.replay.full and name != DELEGATE:
        served = run.replay.serve(run.cassette_task, run.attempt, step, call_id, name)
        if served is not None:
            content, status = served
            run.emit("tool_call", agent=run.agent, tool=name, args=args, replayed=True)
            run.emit("tool_result", agent=run.agent, tool=name, status=status, chars=len(content))
            run.journal.record_tool(key, content, status)
            return content
    approvals = 0
    if name == DELEGATE and run.delegate is not None:
        try:
            d = DelegateArgs.model_validate(args)
        except ValidationError as exc:
            return f"delegate arguments are invalid: {_first_error(exc)}"
        if d.agent not in run.delegates:
            return f"you can delegate only to this task's co-owners: {', '.join(run.delegates)}"
        content = await run.delegate(d.agent, d.instructions)
        run.journal.record_tool(key, content, "ok")
        return content
    tool = run.tools.get(name)
    if tool is None:
        return f"unknown tool {name!r}; your tools are: {', '.join(sorted(run.tools))}, {COMPLETE}, {REQUEST_INPUT}"
    run.emit("tool_call", agent=run.agent, tool=name, args=args)
    data: Any = None
    while True:
        try:
            result = await asyncio.to_thread(tool.call, run.ctx, args)
            data = result_json(result)
            content, status = render_result(data), "ok" if getattr(result, "ok", True) else "failed"
        except ValidationError as exc:
            content, status = f"invalid arguments for {name}: {_first_error(exc)}", "error"
        except ApprovalRequired as exc:
            decided = run.policy(exc.action) if run.policy is not None else None
            if decided is not None:
                run.emit("approval", tool=name, digest=exc.digest, approved=decided, by="policy", action=exc.action)
                if decided:
                    run.ctx.approved.add(exc.digest)
                    continue
                content, status = f"the approval policy denies this request: {exc.message}", "denied"
                break
            run.emit("approval_requested", tool=name, action=exc.action, digest=exc.digest, message=exc.message)
            answer = _interrupt(
                run,
                f"{key}#approval{approvals}",
                {
                    "kind": "approval",
                    "task": run.ctx.task_id,
                    "agent": run.agent,
                    "tool": name,
                    "action": exc.action,
                    "message": exc.message,
                    "digest": exc.digest,
                },
            )
            approvals += 1
            approved = _approved(answer)
            run.emit("approval", tool=name, digest=exc.digest, approved=approved)
            if approved:
                run.ctx.approved.add(exc.digest)
                continue
            content, status = f"a person denied this request: {exc.message}", "denied"
        except GuardRefused as exc:
            content, status = f"refused by the safety guard: {exc.message}", "refused"
        except DacrewError as exc:  # ToolError, a config problem (UserError): the model reads it
            content, status = f"error: {exc}", "error"
        except Exception as exc:  # a client library's own error: the model can often act on it
            if _is_interrupt(exc):
                raise
            content, status = f"error: {type(exc).__name__}: {exc}", "error"
        break
    run.emit("tool_result", agent=run.agent, tool=name, status=status, chars=len(content))
    run.journal.record_tool(key, content, status)
    error = None if data is not None else content
    if run.recorder is not None:
        run.recorder.tool_record(
            run.cassette_task,
            run.attempt,
            step,
            call_id,
            name,
            args,
            result=data if data is not None else {"status": status},
            error=error,
        )
    if run.replay is not None:
        run.replay.compare(run.cassette_task, run.attempt, step, call_id, name, data, error)
    return content


def _approved(answer: Any) -> bool:
    if isinstance(answer, dict):
        return bool(answer.get("approved"))  # pyright: ignore[reportUnknownMemberType]
    return str(answer).strip().lower() in {"yes", "y", "approve", "approved", "true", "ok"}

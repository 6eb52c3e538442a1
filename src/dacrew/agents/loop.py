"""The specialist loop: one agent, one task attempt, a bounded tool-calling conversation that ends with
``complete_task`` (or fails).

Everything the loop does is journaled (model responses, tool results), so a task restarted after an
interrupt or a crash replays what it already had instead of paying for it or repeating it. Questions
and approvals are LangGraph interrupts, asked through the task's :class:`TaskAsker`, which keeps the
answers matched to their questions across restarts.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from dacrew.agents.asker import TaskAsker
from dacrew.agents.completion import (
    COMPLETE,
    DELEGATE,
    REQUEST_INPUT,
    RESULT_PAGE,
    CompleteTaskArgs,
    DelegateArgs,
    RequestInputArgs,
    ResultPageArgs,
    tool_schema,
)
from dacrew.agents.journal import Journal
from dacrew.agents.pages import ResultPages
from dacrew.agents.tool_replay import ToolReplay, render_result, result_json
from dacrew.errors import ApprovalRequired, DacrewError, GuardRefused
from dacrew.findings.format import Usage
from dacrew.findings.redact import redact_obj
from dacrew.models.caching import with_conversation_breakpoint
from dacrew.models.estimate import ESTIMATED_USAGE, UsageEstimator
from dacrew.models.replay import ReplayError
from dacrew.models.resolve import FALLBACK_MODEL, is_anthropic
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
    estimator: UsageEstimator | None = None
    """Estimates the usage of replies that report none (a scripted cassette)."""
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
    # The same tools for every task of an agent (delegate included: a task without co-owners says so
    # when it is called), so the tools → system prefix is one cache entry for all of them.
    schemas.append(tool_schema(COMPLETE, CompleteTaskArgs))
    schemas.append(tool_schema(REQUEST_INPUT, RequestInputArgs))
    schemas.append(tool_schema(DELEGATE, DelegateArgs))
    schemas.append(tool_schema(RESULT_PAGE, ResultPageArgs))
    return schemas


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema.pop("title", None)
    return schema


def _result_text(result: Any, data: Any) -> str:
    """What the model reads for a result: its own rendering for the model when it has one (dbt results
    summarise passes), else its JSON."""
    if hasattr(result, "for_model"):
        return str(result.for_model())
    return render_result(data)


def _pages(run: AgentRun) -> ResultPages:
    return ResultPages(run.journal.path.parent / "results")


async def run_agent(run: AgentRun) -> AgentOutcome:
    """Run the conversation to ``complete_task``, a failure, or an interrupt (which propagates)."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage, message_to_dict, messages_from_dict

    schemas = _schemas(run)
    model = run.model.bind_tools(schemas) if run.bind else run.model
    messages: list[Any] = [run.system, HumanMessage(content=run.prompt)]
    outcome = AgentOutcome(status="failed")
    cached = is_anthropic(run.model_name)
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
                reply = await model.ainvoke(with_conversation_breakpoint(messages) if cached else messages)
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:
                if _is_interrupt(exc):
                    raise
                outcome.error = f"model call failed at step {step}: {type(exc).__name__}: {exc}"
                run.emit("model_error", agent=run.agent, step=step, error=outcome.error)
                return outcome
            fallback = _fallback_of(reply)
            usage = usage_from_message(reply, fallback or run.model_name, run.pricing)
            if not usage.total_tokens and run.estimator is not None and isinstance(reply, AIMessage):
                usage = run.estimator.estimate(messages, schemas, reply)
                reply.response_metadata[ESTIMATED_USAGE] = usage.model_dump()
            run.journal.record_model(mkey, message_to_dict(reply), model=fallback or run.model_name)
            if run.recorder is not None:
                run.recorder.model_turn(
                    run.cassette_task, run.attempt, step, reply, messages=messages, tools=schemas if run.bind else ()
                )
            run.emit(
                "model_response",
                agent=run.agent,
                step=step,
                tool_calls=[c["name"] for c in getattr(reply, "tool_calls", [])],
                usage=usage.model_dump(),
                **({"fallback": fallback} if fallback else {}),
            )
        assert isinstance(reply, AIMessage)
        outcome.usage = outcome.usage + _usage_of(run, reply)
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
            elif name == RESULT_PAGE:
                content = _pages(run).page(args)
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


def _usage_of(run: AgentRun, reply: Any) -> Usage:
    """A reply's usage: its estimate if it was estimated, else what it reports, priced."""
    estimated = (getattr(reply, "response_metadata", None) or {}).get(ESTIMATED_USAGE)
    if isinstance(estimated, dict):
        return Usage.model_validate(estimated)
    return usage_from_message(reply, _fallback_of(reply) or run.model_name, run.pricing)


def _fallback_of(reply: Any) -> str:
    """The fallback model that answered (``models.fallback``), or empty."""
    return str((getattr(reply, "response_metadata", None) or {}).get(FALLBACK_MODEL) or "")


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
            content = _pages(run).cut(key, content)
            run.emit("tool_call", agent=run.agent, tool=name, args=args, replayed=True)
            run.emit("tool_result", agent=run.agent, tool=name, status=status, chars=len(content))
            run.journal.record_tool(key, content, status)
            return content
    approvals = 0
    if name == DELEGATE:
        try:
            d = DelegateArgs.model_validate(args)
        except ValidationError as exc:
            return f"delegate arguments are invalid: {_first_error(exc)}"
        if run.delegate is None or not run.delegates:
            return "this task has no co-owners to delegate to: do the work yourself"
        if d.agent not in run.delegates:
            return f"you can delegate only to this task's co-owners: {', '.join(run.delegates)}"
        content = await run.delegate(d.agent, d.instructions)
        run.journal.record_tool(key, content, "ok")
        return content
    tool = run.tools.get(name)
    if tool is None:
        return f"unknown tool {name!r}; your tools are: {', '.join(sorted(run.tools))}, {COMPLETE}, {REQUEST_INPUT}"
    if run.journal.in_flight(key) is not None and not tool.safe_to_repeat(args):
        # The process died while this write ran: repeating it could do it twice.
        content = interrupted_message(tool, args)
        run.emit("tool_interrupted", agent=run.agent, tool=name, args=args)
        run.journal.record_tool(key, content, "interrupted")
        return content
    run.emit("tool_call", agent=run.agent, tool=name, args=args)
    data: Any = None
    while True:
        if not tool.read_only:
            run.journal.record_intent(key, name, args)
        try:
            result = await asyncio.to_thread(tool.call, run.ctx, args)
            data = result_json(result)
            content = _pages(run).cut(key, _result_text(result, data))
            status = "ok" if getattr(result, "ok", True) else "failed"
        except ValidationError as exc:
            content, status = f"invalid arguments for {name}: {_first_error(exc)}", "error"
        except ApprovalRequired as exc:
            if not tool.read_only:
                run.journal.record_not_started(key)
            decided = run.policy(exc.action) if run.policy is not None else None
            if decided is not None:
                run.emit("approval", tool=name, digest=exc.digest, approved=decided, by="policy", action=exc.action)
                if decided:
                    run.ctx.approved.add(exc.digest)
                    continue
                content, status = f"the approval policy denies this request: {exc.message}", "denied"
                break
            request = redact_obj(exc.detail)
            run.emit(
                "approval_requested",
                tool=name,
                action=exc.action,
                digest=exc.digest,
                message=exc.message,
                request=request,
            )
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
                    "request": request,  # what the digest covers: the exact SQL, command or file change
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


# Where to look, per toolset, to learn whether an interrupted write took effect.
_INSPECT = {
    "warehouse": "the relations the statement touches (warehouse_query, warehouse_describe, warehouse_list)",
    "dbt": "the models in the warehouse (warehouse_list, warehouse_query) and dbt_ls",
    "tableau": "the data sources and jobs on the Tableau server",
    "orchestra": "the pipeline's runs in Orchestra",
    "files": "the file (files_read)",
    "docs": "the document (files_read)",
}


def interrupted_message(tool: Tool, args: dict[str, Any]) -> str:
    """What the model reads for a write that was running when the process died."""
    where = _INSPECT.get(tool.toolset, "what the call would have changed")
    return (
        f"interrupted, outcome unknown: the run stopped while {tool.name} was running with "
        f"{json.dumps(args, default=str)}. It may or may not have taken effect, and it was not repeated. "
        f"Inspect {where} before deciding whether to make the call again."
    )


def _approved(answer: Any) -> bool:
    if isinstance(answer, dict):
        return bool(answer.get("approved"))  # pyright: ignore[reportUnknownMemberType]
    return str(answer).strip().lower() in {"yes", "y", "approve", "approved", "true", "ok"}

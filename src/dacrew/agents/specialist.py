"""Runs one task attempt with its owners: the lead's conversation, delegation to co-owners, and the
prompt each specialist gets (the task, the feature spec, its dependencies' findings — never transcripts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dacrew.agents.asker import TaskAsker
from dacrew.agents.journal import Journal
from dacrew.agents.loop import AgentOutcome, AgentRun, run_agent
from dacrew.agents.registry import AgentSpec, agent_name, load_agent
from dacrew.agents.tool_replay import ToolReplay
from dacrew.models.resolve import ModelSource, cache_system_prompt
from dacrew.plan.model import PARENT, SPECIALISTS, SUB_AGENTS, Task
from dacrew.tools.base import Tool, ToolContext
from dacrew.tools.registry import load_all

FRAMEWORK_PREAMBLE = """\
You are {agent}, one specialist in a crew delivering an analytics feature task by task. The parent
agent gave you one task. Work only on it, with your tools, inside the files the task lists.
- Read the findings of the tasks before you (findings_read) when you need more than the summaries below.
- Check your work with your tools before you finish: the parent runs the acceptance checks itself and
  sends the task back if they fail.
- Finish with complete_task: a summary the next specialists can build on, the artifacts you produced,
  the checks that prove it, risks and a handoff note. If you cannot go on without a person's decision,
  call request_input with a self-contained question.
- A refusal from a safety guard is final for that request: find a safe way or explain it in your summary.
"""


PROPOSE_CHECKS = (
    "The plan lists no checks for this task. Propose in complete_task (`checks`) the executable checks that "
    "prove your work — kinds dbt, sql, table, file, tableau, orchestra, finding, e.g. "
    "`sql: select count(*) from analytics.fct_orders = 120` — and the parent runs them. A task verified by "
    "its summary alone is marked unverified."
)


@dataclass
class Assignment:
    task: Task
    attempt: int
    project_dir: Path
    run_id: str
    spec: str = ""
    handoff: str = ""
    feedback: str = ""
    approved: set[str] = field(default_factory=lambda: set[str]())
    asker: TaskAsker | None = None
    policy: Callable[[str], bool | None] | None = None


def lead_and_helpers(task: Task) -> tuple[str, tuple[str, ...]]:
    """The lead agent's prompt name and the agents it may delegate to."""
    owners = task.owners or [PARENT]
    lead = agent_name(owners[0])
    helpers: list[str] = []
    for owner in owners[1:] + ([SUB_AGENTS] if owners[0] == SUB_AGENTS else []):
        if owner == SUB_AGENTS:
            helpers.extend(SPECIALISTS)
        elif owner != PARENT:
            helpers.append(owner)
    return lead, tuple(dict.fromkeys(h for h in helpers if h != lead))


def task_prompt(a: Assignment, lead: str, helpers: tuple[str, ...]) -> str:
    t = a.task
    lines = [f"# Task {t.id}: {t.title}", ""]
    if t.phase:
        lines.append(f"Phase: {t.phase}")
    owners = ", ".join(t.owners) or PARENT
    lines.append(f"Owners: {owners} (you lead as {lead})")
    if helpers:
        lines.append(f"You may delegate parts to: {', '.join(helpers)} (tool: delegate)")
    lines.append(f"Files you may write: {', '.join(t.files) if t.files else '(none)'}")
    if t.description:
        lines += ["", "## Description", *(f"- {d}" for d in t.description)]
    if t.acceptance:
        lines += ["", "## Acceptance", t.acceptance]
    if t.checks:
        lines += ["", "## Checks the parent will run", *(f"- {c.kind}: {c.argument}" for c in t.checks)]
    else:
        lines += ["", "## Checks", PROPOSE_CHECKS]
    if a.spec:
        lines += ["", "## Feature spec", a.spec.strip()]
    if t.dependencies:
        lines += ["", "## Findings of the tasks this one depends on", a.handoff or "(none)"]
    if a.feedback:
        lines += ["", f"## This is attempt {a.attempt}: the previous attempt was sent back", a.feedback]
    return "\n".join(lines)


def _held_tools(spec: AgentSpec, catalogue: dict[str, Tool], dry_run: bool) -> dict[str, Tool]:
    if dry_run:
        return {}
    return {name: catalogue[name] for name in spec.tools if name in catalogue}


async def run_assignment(
    a: Assignment,
    *,
    models: ModelSource,
    journal: Journal,
    emit: Callable[..., None],
    step_limit: int = 25,
    dry_run: bool = False,
    pricing: Any = None,
    recorder: Any = None,
    replay: ToolReplay | None = None,
) -> AgentOutcome:
    """Run the task's lead agent (delegating to co-owners on request) for one attempt; ``recorder`` (a
    :class:`~dacrew.models.cassette.CassetteWriter`) records it, ``replay`` answers or checks its tool calls."""
    lead, helpers = lead_and_helpers(a.task)
    catalogue = {} if dry_run else load_all()
    totals: list[AgentOutcome] = []

    def make_run(agent: str, prompt: str, key: str, delegates: tuple[str, ...], model_task: str) -> AgentRun:
        spec = load_agent(agent, a.project_dir)
        model_name = models.model_name(spec.name, spec.model)
        # Cassette turns are keyed by task: a delegate's conversation is ``T014/orchestra-expert``.
        model = models.chat_model(spec.name, model_task, a.attempt, task_title=a.task.title, agent_model=spec.model)
        ctx = ToolContext(
            project_dir=a.project_dir,
            agent=spec.name,
            task_id=a.task.id,
            permissions=spec.permission_set,
            files=tuple(a.task.files),
            approved=a.approved,
            run_id=a.run_id,
        )
        system_text = FRAMEWORK_PREAMBLE.format(agent=spec.name) + "\n" + spec.prompt
        return AgentRun(
            agent=spec.name,
            model=model,
            model_name=model_name,
            tools=_held_tools(spec, catalogue, dry_run),
            ctx=ctx,
            journal=journal,
            key=key,
            system=cache_system_prompt(system_text, model_name),
            prompt=prompt,
            step_limit=step_limit,
            emit=lambda type_, **kw: emit(type_, task=a.task.id, **kw),
            delegates=delegates,
            delegate=delegate if delegates else None,
            bind=not dry_run,
            pricing=pricing,
            asker=a.asker,
            policy=a.policy,
            estimator=models.estimator(model_name, pricing),
            recorder=recorder,
            replay=replay,
            cassette_task=model_task,
            attempt=a.attempt,
        )

    async def delegate(agent: str, instructions: str) -> str:
        key = f"{a.task.id}/{a.attempt}/{agent}"
        prompt = task_prompt(a, agent, ()) + f"\n\n## Delegated to you by {lead}\n{instructions}"
        run = make_run(agent, prompt, key, (), f"{a.task.id}/{agent}")
        emit("delegate", task=a.task.id, agent=agent, lead=lead)
        try:
            out = await run_agent(run)
        finally:
            run.ctx.close()
        totals.append(out)
        if out.status != "completed" or out.result is None:
            return f"{agent} did not complete the delegated work: {out.error}"
        r = out.result
        artifacts = f" Artifacts: {', '.join(r.artifacts)}." if r.artifacts else ""
        return f"{agent} completed: {r.summary}{artifacts}"

    run = make_run(lead, task_prompt(a, lead, helpers), f"{a.task.id}/{a.attempt}", helpers, a.task.id)
    try:
        outcome = await run_agent(run)
    finally:
        run.ctx.close()
    for extra in totals:
        outcome.usage = outcome.usage + extra.usage
    return outcome

"""The execute step of the parent graph: every plan task as its own LangGraph task, run under the
scheduler, each one going specialist → verification → record.

Each plan task gets a named LangGraph ``@task`` and all of them are called once, up front, in the
plan's topological order: LangGraph matches cached results by call order, so a fixed order keeps a
resumed run from handing one task another's result. A task's coroutine then waits for the scheduler,
so dispatch happens the moment any task finishes, not at the end of a batch.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

from dacrew.agents.asker import TaskAsker
from dacrew.agents.journal import Journal
from dacrew.agents.specialist import Assignment, run_assignment
from dacrew.agents.tool_replay import CHECK_TOOL
from dacrew.findings.format import CheckResult, Finding, Usage
from dacrew.findings.redact import redact_obj
from dacrew.graph.gates import answered_gates, bind_gate
from dacrew.graph.runtime import Runtime
from dacrew.graph.scheduler import FINAL, Deferred, Scheduler
from dacrew.graph.verify import CheckSpec, verify
from dacrew.models.replay import ReplayError
from dacrew.plan.model import Task
from dacrew.plan.schedule import topological_order
from dacrew.tools.base import ToolContext

CHECKER = "parent-checks"
"""The agent name the parent's checks run under (with the read permission only)."""

MAX_ATTEMPTS = 2
"""The first attempt plus one more after failed checks, with their output."""
DONE_IN_PLAN = "Marked done in the plan ('- [x]'): not run (dacrew run --rerun-done runs it)."


def _outcome(finding: Finding) -> dict[str, Any]:
    return {
        "task": finding.task,
        "status": finding.status,
        "attempt": finding.attempt,
        "usage": finding.usage.model_dump(),
        "error": "" if finding.status == "completed" else finding.summary,
    }


def _failing(checks: list[CheckResult], strict: bool) -> list[CheckResult]:
    """The checks that keep a task from completing: failed ones, and unverified ones when strict."""
    return [c for c in checks if c.outcome == "failed" or (strict and c.outcome == "unverified")]


def _failure_feedback(failing: list[CheckResult]) -> str:
    lines = ["These acceptance checks did not pass; fix the work, then call complete_task again:"]
    for c in failing:
        lines.append(f"- {c.kind}: {c.argument} ({c.outcome})\n  output: {c.output}")
    return "\n".join(lines)


async def run_plan_task(rt: Runtime, task_id: str) -> dict[str, Any]:
    """The body of one plan task: wait for admission, then run, verify and record it."""
    assert rt.scheduler is not None
    sched = rt.scheduler
    task = rt.plan.by_id[task_id]
    verdict = await sched.acquire(task_id)
    if verdict.action == "done":
        existing = rt.store.read(task_id)
        if existing is not None and existing.run_id == rt.run_id:
            return _outcome(existing)
        raise RuntimeError(f"{task_id} is marked done but its finding is gone or belongs to another run")
    if verdict.action == "skip":
        finding = rt.store.finish(
            task_id,
            "skipped",
            title=task.title,
            owner=" + ".join(task.owners),
            depends_on=task.dependencies,
            run_id=rt.run_id,
            summary=verdict.reason,
        )
        rt.task_finished(finding, verdict.reason)
        return _outcome(finding)
    if task.done and not rt.settings.rerun_done:
        finding = rt.store.finish(
            task_id,
            "completed",
            title=task.title,
            owner=" + ".join(task.owners),
            depends_on=task.dependencies,
            run_id=rt.run_id,
            summary=DONE_IN_PLAN,
        )
        rt.task_finished(finding)
        sched.release(task_id, "completed")
        return _outcome(finding)
    status = "failed"
    try:
        finding = await _run_attempts(rt, task)
        status = finding.status
        return _outcome(finding)
    except asyncio.CancelledError:
        status = "needs_input"
        raise
    except BaseException as exc:
        from langgraph.errors import GraphBubbleUp

        if isinstance(exc, GraphBubbleUp):
            status = "needs_input"
            f = rt.store.update(task_id, status="needs_input")
            rt.task_finished(f)
            raise
        if isinstance(exc, Exception):
            error = f"{type(exc).__name__}: {exc}"
            f = rt.store.finish(task_id, "failed", summary=f"The task crashed: {error}", run_id=rt.run_id)
            rt.task_finished(f, error)
            return _outcome(f)
        raise
    finally:
        sched.release(task_id, status)


def _journal(rt: Runtime, task_id: str, attempt: int) -> Journal:
    return Journal(rt.settings.run_dir / "journal" / f"{task_id}.{attempt}.jsonl")


async def _run_attempts(rt: Runtime, task: Task) -> Finding:
    existing = rt.store.read(task.id)
    resuming = (
        existing is not None
        and existing.run_id == rt.run_id
        and existing.status in ("in_progress", "verifying", "needs_input")
    )
    attempt = existing.attempt if resuming and existing is not None else 1
    # Earlier attempts' spending, from their journals (this attempt's own comes back with its outcome).
    usage = Usage()
    for earlier in range(1, attempt):
        earlier_usage = _journal(rt, task.id, earlier).usage(rt.pricing)
        usage = usage + earlier_usage
        rt.add_usage(earlier_usage)
    missing = _missing_handoff_artifacts(rt, task)
    if missing:
        error = f"a critical integration point is not met: {missing}"
        rt.store.start(
            task.id, title=task.title, owner=" + ".join(task.owners), depends_on=task.dependencies, run_id=rt.run_id
        )
        f = rt.store.finish(task.id, "failed", summary=error)
        rt.task_finished(f, error)
        return f
    asker = TaskAsker(rt.settings.run_dir / "journal" / f"{task.id}.answers.jsonl", task.id)
    asker.prime()
    feedback = ""
    owner = " + ".join(task.owners)
    while True:
        if attempt == 1 and not resuming:
            rt.store.start(
                task.id, title=task.title, owner=owner, depends_on=task.dependencies, attempt=attempt, run_id=rt.run_id
            )
        else:
            # A retry or a resumed attempt keeps the task's first start time.
            rt.store.update(task.id, status="in_progress", attempt=attempt, finished=None, run_id=rt.run_id)
        resuming = False
        rt.emit("task_started", task=task.id, title=task.title, owner=owner, attempt=attempt, phase=task.phase)
        assignment = Assignment(
            task=task,
            attempt=attempt,
            project_dir=rt.settings.project,
            run_id=rt.run_id,
            spec=rt.spec,
            handoff=rt.store.handoff(task.dependencies),
            feedback=feedback,
            asker=asker,
            policy=rt.policy if rt.approval_rules else None,
        )
        out = await run_assignment(
            assignment,
            models=rt.models,
            journal=_journal(rt, task.id, attempt),
            emit=rt.emit,
            step_limit=rt.settings.step_limit,
            dry_run=rt.settings.dry_run,
            pricing=rt.pricing,
            recorder=rt.recorder,
            replay=rt.replay,
        )
        usage = usage + out.usage
        rt.add_usage(out.usage)
        if out.status != "completed" or out.result is None:
            f = rt.store.finish(
                task.id, "failed", summary=f"The agent did not complete the task: {out.error}", usage=usage
            )
            rt.task_finished(f, out.error)
            return f
        r = out.result
        sections = {
            "summary": r.summary,
            "implementation_details": r.details,
            "integration_points": r.integration_points,
            "testing_strategy": r.testing_strategy,
            "risks_and_dependencies": r.risks,
            "next_steps": r.next_steps,
        }
        f = rt.store.update(task.id, status="verifying", artifacts=r.artifacts, usage=usage, **sections)
        if rt.settings.dry_run:
            checks: list[CheckResult] = []
        else:
            specs = [CheckSpec(c.kind, c.argument) for c in task.checks]
            specs += [
                CheckSpec(c.kind, c.argument)
                for c in r.checks
                if (c.kind, c.argument) not in {(s.kind, s.argument) for s in specs}
            ]
            checks = await _verify(rt, task.id, attempt, f, specs)
            for c in checks:
                rt.emit(
                    "check",
                    task=task.id,
                    kind=c.kind,
                    argument=c.argument,
                    passed=c.passed,
                    outcome=c.outcome,
                    output=c.output,
                )
        failing = _failing(checks, rt.settings.strict_checks)
        if not failing:
            f = rt.store.finish(task.id, "completed", checks=checks)
            rt.task_finished(f)
            return f
        if attempt >= MAX_ATTEMPTS:
            evidence = "; ".join(f"{c.kind}: {c.argument} → {c.outcome}: {c.output}" for c in failing)
            f = rt.store.finish(task.id, "failed", checks=checks)
            rt.task_finished(f, f"checks did not pass: {evidence}")
            return f
        rt.store.update(task.id, checks=checks)
        feedback = _failure_feedback(failing)
        attempt += 1


async def _verify(
    rt: Runtime, task_id: str, attempt: int, finding: Finding, specs: list[CheckSpec]
) -> list[CheckResult]:
    """Run the checks (full replay: read their recorded outcomes) and record them in the run's cassette."""
    if rt.replay is not None and rt.replay.full:
        try:
            checks = rt.replay.checks(task_id, attempt, [(s.kind, s.argument) for s in specs])
        except ReplayError as exc:
            checks = [CheckResult(kind="replay", argument="strict", passed=False, output=str(exc))]
    else:
        # The parent's checks hold the read permission only: they read, they never build or write.
        ctx = ToolContext(project_dir=rt.settings.project, agent=CHECKER, task_id=task_id, run_id=rt.run_id)
        try:
            checks = await verify(ctx, finding, specs)
        finally:
            ctx.close()
    if rt.recorder is not None:
        for number, check in enumerate(checks, start=1):
            rt.recorder.tool_record(
                task_id,
                attempt,
                0,
                f"check:{number}",
                CHECK_TOOL,
                {"kind": check.kind, "argument": check.argument},
                result=check.model_dump(mode="json"),
            )
    return checks


def _missing_handoff_artifacts(rt: Runtime, task: Task) -> str:
    """DESIGN: a critical integration point (``T005 → T008``) is a contract — the downstream task starts
    only when the files its upstream task reported as artifacts exist. Table names are not files and are
    left to the checks."""
    gaps: list[str] = []
    for point in rt.plan.integration_points:
        if point.downstream != task.id:
            continue
        upstream = rt.store.read(point.upstream)
        for artifact in upstream.artifacts if upstream else []:
            rel = artifact.strip().strip("`")
            looks_like_file = "/" in rel or rel.rsplit(".", 1)[-1] in _FILE_SUFFIXES
            if looks_like_file and not any(ch in rel for ch in "*?[") and not (rt.settings.project / rel).exists():
                gaps.append(f"{point.upstream} reported {rel}, which does not exist")
    return "; ".join(gaps)


_FILE_SUFFIXES = {"sql", "yml", "yaml", "md", "csv", "tds", "tdsx", "hyper", "json", "py", "txt"}


async def execute_plan(rt: Runtime) -> dict[str, dict[str, Any]]:
    """Run the whole plan; returns each task's outcome, or raises every pending interrupt at once."""
    from langgraph.errors import GraphInterrupt
    from langgraph.func import task as lg_task

    final = {tid: f.status for tid, f in rt.store.all().items() if f.run_id == rt.run_id and f.status in FINAL}
    gates = answered_gates(rt) if rt.settings.gates else {}
    sched = Scheduler(
        rt.plan,
        max_parallel=rt.settings.max_parallel,
        gates=rt.settings.gates,
        over_budget=rt.over_budget,
        status={t: s for t, s in final.items() if t in rt.plan.by_id},
        open_phases={p for p, ok in gates.items() if ok},
        gate_policy=lambda phase: rt.policy(f"gate:{phase}"),
        admission=rt.admission,
    )
    for phase, ok in gates.items():
        if not ok:
            sched.halt(f"the gate after '{phase}' was denied")
    rt.scheduler = sched
    futures: dict[str, Any] = {}
    for tid in topological_order(rt.plan):
        fn = lg_task(name=f"task_{tid}")(_bind(rt, tid))
        futures[tid] = fn()
    if rt.settings.gates:
        phases = [p.title for p in rt.plan.phases if any(t.phase == p.title for t in rt.plan.tasks)]
        for here, nxt in itertools.pairwise(phases):
            gate = lg_task(name=f"gate_{here}")(bind_gate(rt, here, nxt))
            futures[f"gate:{here}"] = gate()

    async def watch(key: str, fut: Any) -> Any:
        result = await fut
        # A cached result (after a resume) arrives without the body running: tell the scheduler.
        if key.startswith("gate:"):
            if result.get("approved"):
                sched.open_phase(result["phase"])
        else:
            sched.observe(key, str(result.get("status", "")))
        return result

    results = await asyncio.gather(*(watch(k, f) for k, f in futures.items()), return_exceptions=True)
    interrupts: list[Any] = []
    outcomes: dict[str, dict[str, Any]] = {}
    for key, res in zip(futures, results, strict=True):
        if isinstance(res, GraphInterrupt):
            interrupts.extend(res.args[0])
        elif isinstance(res, Deferred):
            continue
        elif isinstance(res, BaseException):
            raise res
        elif not key.startswith("gate:"):
            outcomes[key] = redact_obj(res)
    if interrupts:
        raise GraphInterrupt(interrupts)
    return outcomes


def _bind(rt: Runtime, tid: str) -> Callable[[], Any]:
    async def body() -> dict[str, Any]:
        return await run_plan_task(rt, tid)

    body.__name__ = f"task_{tid}"
    return body

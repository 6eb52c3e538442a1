"""A run's life: start or resume it, answer its questions, write its reports, give its exit code.

Exit codes (DESIGN): 0 success; 1 a task failed or was skipped; 2 invalid input; 3 stopped, waiting for
input or approval; 4 budget reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dacrew.errors import UserError
from dacrew.findings.events import EventLog, read_events
from dacrew.findings.format import Usage
from dacrew.findings.store import FindingsStore
from dacrew.graph.executor import Runtime
from dacrew.graph.parent import build_parent_graph
from dacrew.graph.state import STATE_DIR, RunSettings, save_settings

CHECKPOINTS = "checkpoints.sqlite"
Asker = Callable[[list[dict[str, Any]]], dict[str, Any]]
"""Given the pending interrupts (``id``, ``value``), returns answers by interrupt id."""


@dataclass
class RunResult:
    run_id: str
    status: str
    exit_code: int
    pending: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])


def prepare_runtime(settings: RunSettings, observers: list[Callable[[dict[str, Any]], None]]) -> Runtime:
    from dacrew.config import load_config
    from dacrew.graph.plan_validate import compile_plan
    from dacrew.models.resolve import resolve_model_source

    plan, _warnings = compile_plan(settings.plan_path)
    config = load_config(settings.project)
    models = resolve_model_source(settings.model, config, dry_run=settings.dry_run, base_dir=settings.project)
    spec_path = settings.project / "spec.md"
    # Import what every task needs now, not inside the first task's timing.
    import langchain_core.messages  # noqa: F401  # pyright: ignore[reportUnusedImport]

    if not settings.dry_run:
        from dacrew.tools.registry import load_all

        load_all()
    return Runtime(
        settings=settings,
        plan=plan,
        store=FindingsStore(settings.project),
        events=EventLog(settings.run_dir),
        models=models,
        spec=spec_path.read_text(encoding="utf-8") if spec_path.is_file() else "",
        pricing=config.pricing or None,
        observers=observers,
    )


def pending_interrupts(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": i.id, **dict(i.value)} for i in out.get("__interrupt__", [])]


@contextlib.asynccontextmanager
async def _checkpointer(db: Path) -> AsyncIterator[Any]:
    """The run's SQLite checkpointer, in WAL mode: a commit per finished task without the rollback
    journal's create-fsync-delete cycle (it survives a killed process; ``synchronous=NORMAL``)."""
    import aiosqlite
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async with aiosqlite.connect(str(db)) as conn:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        yield AsyncSqliteSaver(conn)


async def _drive(rt: Runtime, first_input: Any, ask: Asker | None) -> RunResult:
    from langgraph.types import Command

    db = rt.settings.project / STATE_DIR / CHECKPOINTS
    db.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"configurable": {"thread_id": rt.run_id}, "recursion_limit": 50}
    async with _checkpointer(db) as saver:
        graph = build_parent_graph(rt, saver)
        payload = first_input
        if payload is None:
            snapshot = await graph.aget_state(config)
            if not snapshot.next and snapshot.values.get("status"):
                values = snapshot.values
                return RunResult(rt.run_id, str(values["status"]), int(values.get("exit_code", 0)))
        while True:
            out = await graph.ainvoke(payload, config, durability="sync")
            pending = pending_interrupts(out)
            if not pending:
                return RunResult(rt.run_id, str(out.get("status", "completed")), int(out.get("exit_code", 0)))
            if ask is None:
                return RunResult(rt.run_id, "paused", 3, pending)
            answers = ask(pending)
            if not answers:
                return RunResult(rt.run_id, "paused", 3, pending)
            payload = Command(resume=answers)


def execute_run(
    settings: RunSettings,
    *,
    resume: dict[str, Any] | None = None,
    is_resume: bool = False,
    ask: Asker | None = None,
    observers: list[Callable[[dict[str, Any]], None]] | None = None,
) -> RunResult:
    """Start (or resume) the run ``settings`` describes; returns how it ended."""
    from langgraph.types import Command

    rt = prepare_runtime(settings, observers or [])
    if not is_resume:
        save_settings(settings)
        rt.emit(
            "run_started",
            run_id=settings.run_id,
            plan=str(settings.plan),
            feature=rt.plan.feature,
            tasks=len(rt.plan.tasks),
            model=rt.models.describe(),
            max_parallel=settings.max_parallel,
            dry_run=settings.dry_run,
            headless=settings.headless,
        )
        first: Any = {"run_id": settings.run_id}
    else:
        rt.emit("run_resumed", run_id=settings.run_id)
        first = Command(resume=resume) if resume else None
    try:
        result = asyncio.run(_drive(rt, first, ask))
        if result.status == "paused":
            pending = [
                {"task": p.get("task") or p.get("phase"), "kind": p.get("kind"), "text": _text(p)}
                for p in result.pending
            ]
            rt.emit("run_paused", run_id=settings.run_id, pending=pending)
        else:
            rt.emit(
                "run_finished",
                run_id=settings.run_id,
                status=result.status,
                exit_code=result.exit_code,
                usage=_run_usage(rt).model_dump(),
            )
    finally:
        rt.events.close()
    write_reports(settings, rt)
    return result


def _run_usage(rt: Runtime) -> Usage:
    """The whole run's usage (across resumes), from its findings."""
    total = Usage()
    for finding in rt.store.all().values():
        if finding.run_id == rt.run_id:
            total = total + finding.usage
    return total


def _text(p: dict[str, Any]) -> str:
    return str(p.get("question") or p.get("message") or p.get("text") or "")


def write_reports(settings: RunSettings, rt: Runtime) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html into the run folder (and where the user asked)."""
    try:
        from dacrew.findings import report as reports
    except ImportError:  # the report module is optional while a checkout is partial
        return {}
    evs = read_events(settings.run_dir)
    built = reports.build_report(rt.plan, evs, rt.store.all())
    out = {
        "json": settings.run_dir / "report.json",
        "junit": settings.run_dir / "junit.xml",
        "html": settings.run_dir / "report.html",
    }
    reports.write_json(built, out["json"])
    reports.write_junit(built, out["junit"])
    reports.write_html(built, rt.plan, out["html"])
    if settings.report_json:
        reports.write_json(built, Path(settings.report_json))
    if settings.junit:
        reports.write_junit(built, Path(settings.junit))
    return out


def resolve_answers(
    pending: list[dict[str, Any]], answers: list[str], approve: list[str], deny: list[str]
) -> dict[str, Any]:
    """Map ``--answer [TASK=]TEXT``, ``--approve [TASK]`` and ``--deny [TASK]`` onto pending interrupts."""
    out: dict[str, Any] = {}
    questions = [p for p in pending if p.get("kind") == "question"]
    approvals = [p for p in pending if p.get("kind") in ("approval", "gate")]

    def key_of(p: dict[str, Any]) -> str:
        return str(p.get("task") or p.get("phase") or "")

    for raw in answers:
        task, sep, text = raw.partition("=")
        if sep and any(key_of(q) == task.strip() for q in questions):
            targets = [q for q in questions if key_of(q) == task.strip()]
        elif len(questions) == 1:
            targets, text = questions, raw
        else:
            waiting = ", ".join(key_of(q) for q in questions) or "none"
            raise UserError(f"--answer needs TASK=TEXT when several questions are pending (waiting: {waiting})")
        out[targets[0]["id"]] = text.strip()
    for values, verdict in ((approve, True), (deny, False)):
        for raw in values:
            if raw:
                targets = [p for p in approvals if key_of(p) == raw]
            elif len(approvals) == 1:
                targets = approvals
            else:
                targets = []
            if not targets:
                waiting = ", ".join(key_of(p) for p in approvals) or "none"
                raise UserError(f"no pending approval for {raw or '(unnamed)'!r} (waiting: {waiting})")
            for p in targets:
                out[p["id"]] = {"approved": verdict}
    return out


async def _pending_of(settings: RunSettings) -> list[dict[str, Any]]:
    db = settings.project / STATE_DIR / CHECKPOINTS
    if not db.is_file():
        return []
    async with _checkpointer(db) as saver:
        checkpoint = await saver.aget_tuple({"configurable": {"thread_id": settings.run_id, "checkpoint_ns": ""}})
        if checkpoint is None:
            return []
        # A task's interrupt is written by the task and again by the node that re-raises it: one per id.
        pending: dict[str, dict[str, Any]] = {}
        for _task_id, channel, value in checkpoint.pending_writes or []:
            if channel == "__interrupt__":
                for i in value:
                    pending[i.id] = {"id": i.id, **dict(i.value)}
        return list(pending.values())


def pending_of(settings: RunSettings) -> list[dict[str, Any]]:
    """The questions and approvals a paused run waits for, from its checkpoint."""
    return asyncio.run(_pending_of(settings))


def status_of(settings: RunSettings) -> dict[str, Any]:
    """What ``dacrew status`` shows: per task status and timing, totals, and what the run waits for."""
    store = FindingsStore(settings.project)
    events = read_events(settings.run_dir)
    findings = {t: f for t, f in store.all().items() if f.run_id == settings.run_id}
    last = next(
        (e for e in reversed(events) if e.get("type") in ("run_finished", "run_paused", "run_started", "run_resumed")),
        {},
    )
    state = {"run_finished": "finished", "run_paused": "paused"}.get(str(last.get("type")), "running or stopped")
    tasks = []
    from dacrew.graph.plan_parse import parse_plan_file

    try:
        plan_ids = [t.id for t in parse_plan_file(settings.plan_path).tasks]
    except UserError:
        plan_ids = sorted(findings)
    for tid in plan_ids:
        f = findings.get(tid)
        tasks.append(
            {
                "task": tid,
                "status": f.status if f else "pending",
                "owner": f.owner if f else "",
                "attempt": f.attempt if f else 0,
                "started": f.started if f else None,
                "finished": f.finished if f else None,
                "usd": f.usage.usd if f else 0.0,
            }
        )
    return {
        "run_id": settings.run_id,
        "plan": settings.plan,
        "state": state,
        "status": last.get("status", state),
        "exit_code": last.get("exit_code"),
        "pending": last.get("pending", []) if state == "paused" else [],
        "tasks": tasks,
        "events": len(events),
    }


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)

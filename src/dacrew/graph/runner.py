"""A run's life: start or resume it, answer its questions, write its reports, give its exit code.

Exit codes (DESIGN): 0 success; 1 a task failed or was skipped; 2 invalid input; 3 stopped, waiting for
input or approval; 4 budget reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dacrew.errors import UserError
from dacrew.findings.events import EventLog, read_events
from dacrew.findings.format import Usage
from dacrew.findings.store import FindingsStore
from dacrew.graph.checkpoint import open_checkpointer
from dacrew.graph.parent import build_parent_graph
from dacrew.graph.runtime import Runtime
from dacrew.graph.scheduler import BUDGET_REASON, FINAL, Admission
from dacrew.graph.state import STATE_DIR, RunSettings, save_settings
from dacrew.models.resolve import ModelSource, reset_async_clients
from dacrew.plan.model import TaskPlan
from dacrew.plan.schedule import admit

if TYPE_CHECKING:
    from dacrew.graph.shared import SharedState

CHECKPOINTS = "checkpoints.sqlite"
CASSETTE = "cassette.jsonl"
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
    from dacrew.models.resolve import resolve_model_source
    from dacrew.plan.validate import compile_plan

    plan, _warnings = compile_plan(settings.plan_path)
    config = load_config(settings.project)
    models = resolve_model_source(settings.model, config, dry_run=settings.dry_run, base_dir=settings.project)
    # The feature's spec sits beside its plan (``specs/<###-feature>/``), or at the project's top.
    spec_path = next(
        (p for p in (settings.plan_path.parent / "spec.md", settings.project / "spec.md") if p.is_file()),
        settings.project / "spec.md",
    )
    # Import what every task needs now, not inside the first task's timing.
    import langchain_core.messages  # noqa: F401  # pyright: ignore[reportUnusedImport]

    if not settings.dry_run:
        from dacrew.tools.registry import load_all

        load_all()
        _check_models(plan, models, settings.project)
        _check_dbt_project(plan, config, settings.project)
    store = FindingsStore(settings.project)
    rt = Runtime(
        settings=settings,
        plan=plan,
        store=store,
        events=EventLog(settings.run_dir),
        models=models,
        spec=spec_path.read_text(encoding="utf-8") if spec_path.is_file() else "",
        pricing=config.pricing or None,
        approval_rules=list(config.approvals),
        observers=observers,
    )
    rt.usage = _run_usage(rt, final_only=True)
    _attach_cassettes(rt)
    return rt


def _attach_cassettes(rt: Runtime) -> None:
    """Every run records its cassette; a replayed run also checks (or, in full replay, takes) its tool
    results from the replayed one, and reports drift as ``replay_drift`` events."""
    from dacrew.agents.tool_replay import ToolReplay
    from dacrew.models.cassette import CassetteWriter
    from dacrew.models.replay import ReplayError
    from dacrew.models.resolve import REPLAY_PREFIX

    settings = rt.settings
    replaying = bool(settings.model and settings.model.startswith(REPLAY_PREFIX))
    if settings.full_replay and not replaying:
        raise UserError("full replay needs a cassette to replay: --model replay:<cassette.jsonl>")

    def drifted(error: ReplayError) -> None:
        rt.emit(
            "replay_drift",
            task=error.task.split("/")[0],
            conversation=error.task,
            attempt=error.attempt,
            step=error.step,
            what=error.what,
            message=error.message,
            diff=error.diff,
            strict=settings.strict_replay,
        )

    if replaying and settings.model is not None:
        cassette = rt.models.cassette(settings.model)
        rt.models.replay_strict = settings.strict_replay
        rt.models.on_drift = drifted
        rt.replay = ToolReplay(cassette, full=settings.full_replay, strict=settings.strict_replay, on_drift=drifted)
    if not settings.dry_run:
        model = settings.model or rt.models.model_name("parent")
        rt.recorder = CassetteWriter(settings.run_dir / CASSETTE, source="recorded", model=model)


def _check_models(plan: TaskPlan, models: ModelSource, project: Path) -> None:
    """Every model the plan's agents will use, built once now: a bad ``--model`` is exit 2, not a crash
    in every task."""
    from dacrew.agents.registry import load_agent
    from dacrew.agents.specialist import lead_and_helpers

    agents: set[str] = set()
    for task in plan.tasks:
        lead, helpers = lead_and_helpers(task)
        agents.update((lead, *helpers))
    for agent in sorted(agents):
        spec = load_agent(agent, project)
        name = models.model_name(spec.name, spec.model)
        if not name.startswith("replay:"):
            models.live_model(name)


def _check_dbt_project(plan: TaskPlan, config: Any, project: Path) -> None:
    """dbt and sql checks need the dbt project (the warehouse comes from its profile): a missing one is
    a configuration problem to report now, not a task to fail later."""
    needs = [t.id for t in plan.tasks if any(c.kind in ("dbt", "sql") for c in t.checks)]
    dbt_dir = project / (config.dbt.project_dir or ".")
    if needs and not (dbt_dir / "dbt_project.yml").is_file():
        raise UserError(
            f"{', '.join(needs[:3])}{'…' if len(needs) > 3 else ''} run dbt or sql checks, but there is no "
            f"dbt_project.yml in {dbt_dir} (set dbt.project_dir in dacrew.yml)",
            path=str(project),
        )


def pending_interrupts(out: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"id": i.id, **dict(i.value)} for i in out.get("__interrupt__", [])]


async def _drive(rt: Runtime, first_input: Any, ask: Asker | None, state_url: str | None) -> RunResult:
    """Run the parent graph until it ends or waits; checkpoints in Postgres when ``state_url`` is set,
    else in ``.dacrew/checkpoints.sqlite``."""
    from langgraph.types import Command

    db = rt.settings.project / STATE_DIR / CHECKPOINTS
    config: dict[str, Any] = {"configurable": {"thread_id": rt.run_id}, "recursion_limit": 50}
    async with open_checkpointer(db, state_url) as saver:
        graph = build_parent_graph(rt, saver)
        payload = first_input
        if payload is None:
            snapshot = await graph.aget_state(config)
            if snapshot.created_at is None:
                payload = {"run_id": rt.run_id}  # killed before its first checkpoint: start it again
            elif not snapshot.next and snapshot.values.get("status"):
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
            note_gate_answers(rt, pending, answers)
            payload = Command(resume=answers)


def execute_run(
    settings: RunSettings,
    *,
    resume: dict[str, Any] | None = None,
    is_resume: bool = False,
    ask: Asker | None = None,
    observers: list[Callable[[dict[str, Any]], None]] | None = None,
    admission: Admission = admit,
) -> RunResult:
    """Start (or resume) the run ``settings`` describes; returns how it ended. ``admission`` decides which
    ready tasks start (default: DESIGN's rule, :func:`dacrew.plan.schedule.admit`)."""
    from dacrew.graph.shared import open_shared

    with open_shared(settings.project) as shared:
        if shared is None:
            with project_run_lock(settings.project):
                return _execute_locked(settings, resume, is_resume, ask, observers or [], admission, None)
        with shared.run_lock():
            if is_resume:
                shared.hydrate(settings.project, settings.run_id)
            with shared.mirroring(settings.project, settings.run_id):
                return _execute_locked(settings, resume, is_resume, ask, observers or [], admission, shared)


_HELD_LOCKS: dict[Path, int] = {}
"""Run locks this process holds (by lock file), with how many callers hold each: the CLI takes the lock
before it copies a project into ``--workdir``, and the run it starts takes it again."""


@contextlib.contextmanager
def project_run_lock(project: Path) -> Iterator[None]:
    """One run at a time per project: two would share (and rewrite) the same findings.

    Holds ``<project>/.dacrew/run.lock`` (``flock``) for the block; re-entrant within one process.
    Raises :class:`UserError` (exit 2) when another process holds it."""
    import fcntl

    path = (project / STATE_DIR / "run.lock").resolve()
    if path in _HELD_LOCKS:
        _HELD_LOCKS[path] += 1
        try:
            yield
        finally:
            _HELD_LOCKS[path] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another run"
            raise UserError(
                f"{holder} is in progress in this project; wait for it (or stop it) before starting or resuming a run",
                path=str(project),
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"dacrew process {os.getpid()}".encode(), 0)
        _HELD_LOCKS[path] = 1
        try:
            yield
        finally:
            del _HELD_LOCKS[path]
    finally:
        os.close(fd)


def _execute_locked(
    settings: RunSettings,
    resume: dict[str, Any] | None,
    is_resume: bool,
    ask: Asker | None,
    observers: list[Callable[[dict[str, Any]], None]],
    admission: Admission,
    shared: SharedState | None,
) -> RunResult:
    from langgraph.types import Command

    rt = prepare_runtime(settings, observers)
    rt.admission = admission
    reopen = False
    if is_resume:
        finished = _finished(settings)
        reopen = finished is not None and _reopen_after_budget(rt)
        if finished is not None and not reopen:
            rt.events.close()
            if rt.recorder is not None:
                rt.recorder.close()
            return finished
    if not is_resume:
        save_settings(settings)
        if shared is not None:
            shared.save_settings(settings)
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
        if resume:
            note_gate_answers(rt, last_pending(settings), resume)
        if reopen:  # a budget-stopped run that a raised budget re-opens starts its graph again
            first = {"run_id": settings.run_id}
    reset_async_clients()
    try:
        result = asyncio.run(_drive(rt, first, ask, shared.url if shared is not None else None))
    except KeyboardInterrupt:
        rt.emit("run_stopped", run_id=settings.run_id, reason="interrupted (Ctrl-C)")
        rt.events.close()
        if rt.recorder is not None:
            rt.recorder.close()
        write_reports(settings, rt)
        raise
    try:
        if result.status == "paused":
            pending = [
                {
                    "id": p["id"],
                    "task": p.get("task") or p.get("phase"),
                    "kind": p.get("kind"),
                    "phase": p.get("phase"),
                    "text": _text(p),
                    **({"digest": p["digest"], "request": p.get("request")} if p.get("digest") else {}),
                }
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
        if rt.recorder is not None:
            rt.recorder.close()
    write_reports(settings, rt)
    return result


def _finished(settings: RunSettings) -> RunResult | None:
    """How a run ended, if it has (its last ``run_finished`` event after any resume)."""
    for event in reversed(read_events(settings.run_dir)):
        if event["type"] == "run_finished":
            return RunResult(settings.run_id, str(event.get("status")), int(event.get("exit_code") or 0))
        if event["type"] in ("run_resumed", "run_paused", "run_stopped", "run_started"):
            return None
    return None


def note_gate_answers(rt: Runtime, pending: list[dict[str, Any]], answers: dict[str, Any]) -> None:
    """Remember which phase gates were answered, so the scheduler opens them before any task asks."""
    for p in pending:
        if p.get("kind") == "gate" and p.get("id") in answers:
            answer = answers[p["id"]]
            rt.gate_answers[str(p["phase"])] = bool(answer.get("approved")) if isinstance(answer, dict) else False


def _reopen_after_budget(rt: Runtime) -> bool:
    """A run stopped by its budget goes on when the budget was raised: the tasks it did not start run."""
    last = next((e for e in reversed(read_events(rt.settings.run_dir)) if e["type"] == "run_finished"), None)
    if last is None or last.get("status") != "budget" or rt.over_budget():
        return False
    for finding in rt.store.all().values():
        if finding.run_id == rt.run_id and finding.status == "skipped" and BUDGET_REASON in finding.summary:
            rt.store.update(finding.task, status="pending", summary="", finished=None)
    return True


def last_pending(settings: RunSettings, events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """What a paused run waits for (with interrupt ids), from its last ``run_paused`` event (in ``events``
    when given, else in the run folder's event log)."""
    for event in reversed(read_events(settings.run_dir) if events is None else events):
        if event["type"] == "run_paused":
            return list(event.get("pending", []))
        if event["type"] in ("run_finished",):
            return []
    return []


def _run_usage(rt: Runtime, *, final_only: bool = False) -> Usage:
    """The run's usage across sessions, from its findings (``final_only``: finished tasks only — what
    earlier sessions spent, before this one adds its own)."""
    total = Usage()
    for finding in rt.store.all().values():
        if finding.run_id == rt.run_id and (not final_only or finding.status in FINAL):
            total = total + finding.usage
    return total


def _text(p: dict[str, Any]) -> str:
    return str(p.get("question") or p.get("message") or p.get("text") or "")


def write_reports(settings: RunSettings, rt: Runtime) -> dict[str, Path]:
    """Write report.json, junit.xml and report.html into the run folder (and where the user asked)."""
    from dacrew.report.files import write_run_reports

    return write_run_reports(
        settings.run_dir,
        rt.plan,
        rt.store.all(),
        report_json=Path(settings.report_json) if settings.report_json else None,
        junit=Path(settings.junit) if settings.junit else None,
        project=settings.project,
    )

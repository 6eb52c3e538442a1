"""What ``dacrew status`` shows of a run: its tasks, what it waits for, and how it ended."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dacrew.errors import UserError
from dacrew.findings.events import read_events
from dacrew.findings.format import Finding
from dacrew.findings.store import FindingsStore
from dacrew.graph.state import RunSettings


def status_of(
    settings: RunSettings,
    *,
    events: list[dict[str, Any]] | None = None,
    findings: dict[str, Finding] | None = None,
) -> dict[str, Any]:
    """What ``dacrew status`` shows: per task status and timing, totals, and what the run waits for.
    ``events`` and ``findings`` (the shared store's) replace the checkout's files when given."""
    if events is None:
        events = read_events(settings.run_dir)
    if findings is None:
        findings = FindingsStore(settings.project).all()
    findings = {t: f for t, f in findings.items() if f.run_id == settings.run_id}
    kinds = ("run_finished", "run_paused", "run_stopped", "run_started", "run_resumed")
    last = next((e for e in reversed(events) if e.get("type") in kinds), {})
    state = {"run_finished": "finished", "run_paused": "paused", "run_stopped": "stopped"}.get(
        str(last.get("type")), "running, or killed (resume goes on)"
    )
    tasks = []
    from dacrew.plan.parse import parse_plan_file

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


def run_summaries(project: Path) -> list[dict[str, Any]]:
    """One row per run of ``project``, oldest first: ``run_id``, ``started`` (ISO time), ``status``
    (completed | failed | paused | budget | stopped | running), ``tasks`` (planned), ``completed``,
    ``usd`` (the run's model cost, from its own events — later runs do not change it)."""
    from dacrew.graph.state import list_runs, load_settings
    from dacrew.report.tally import RunTally

    rows: list[dict[str, Any]] = []
    for run_id in list_runs(project):
        settings = load_settings(project, run_id)
        events = read_events(settings.run_dir)
        tally = RunTally().apply_all(events)
        last = next((e.get("type") for e in reversed(events) if str(e.get("type", "")).startswith("run_")), None)
        rows.append(
            {
                "run_id": run_id,
                "started": settings.created,
                "status": "stopped" if last == "run_stopped" else tally.status,
                "tasks": tally.planned_tasks if tally.planned_tasks is not None else len(tally.tasks),
                "completed": sum(t.status == "completed" for t in tally.tasks.values()),
                "usd": round(tally.usage.usd, 6),
            }
        )
    rows.sort(key=lambda row: str(row["started"] or ""))
    return rows


def dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)

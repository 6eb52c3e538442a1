"""A run of the example plan written as a run folder would hold it: events (with a stop and a resume,
tool calls, checks, an approval), findings and artifacts — for the report's tests."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dacrew.findings.format import CheckResult, Finding
from dacrew.findings.store import FindingsStore
from dacrew.plan.model import TaskPlan
from dacrew.plan.schedule import topological_order

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_PLAN = ROOT / "examples" / "customer_ltv" / "tasks.md"
BASE = datetime(2026, 11, 28, 13, 0, 0, tzinfo=UTC)
STOP_AFTER = 4
"""The run is stopped while the fifth task (in plan order) runs, and resumed ten minutes later."""


def at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def write_run(project: Path, plan: TaskPlan) -> tuple[Path, str]:
    """Events and findings of a completed run of ``plan`` in ``project``; returns (run folder, the id of
    the task that was in flight when the run was stopped)."""
    run_dir = project / ".dacrew" / "runs" / "r1"
    run_dir.mkdir(parents=True)
    store = FindingsStore(project)
    events: list[dict[str, Any]] = [{"ts": at(0), "type": "run_started", "run_id": "r1", "tasks": len(plan.tasks)}]
    clock = 1.0
    stopped = ""
    for index, task_id in enumerate(topological_order(plan)):
        task = plan.task(task_id)
        agent = task.owners[0]
        started = clock
        events.append({"ts": at(clock), "type": "task_started", "task": task_id, "attempt": 1, "owner": agent})
        for n in range(2):
            events.append(
                {
                    "ts": at(clock + 0.1),
                    "type": "tool_call",
                    "task": task_id,
                    "agent": agent,
                    "tool": "files_write",
                    "args": {"path": f"models/{task_id}/{n}.sql"},
                }
            )
            events.append(
                {
                    "ts": at(clock + 0.2),
                    "type": "tool_result",
                    "task": task_id,
                    "agent": agent,
                    "tool": "files_write",
                    "status": "ok",
                    "chars": 10,
                }
            )
            clock += 0.5
        if index == STOP_AFTER:
            stopped = task_id
            events.append({"ts": at(clock), "type": "run_stopped", "run_id": "r1", "reason": "interrupted (Ctrl-C)"})
            clock += 600
            events.append({"ts": at(clock), "type": "run_resumed", "run_id": "r1"})
            events.append({"ts": at(clock), "type": "task_started", "task": task_id, "attempt": 1, "owner": agent})
            clock += 1
        if index == 1:
            events.append(
                {
                    "ts": at(clock),
                    "type": "approval_requested",
                    "task": task_id,
                    "tool": "dbt_build",
                    "action": "dbt_build",
                    "digest": "d1",
                    "message": "--full-refresh on dev",
                }
            )
            events.append(
                {
                    "ts": at(clock),
                    "type": "approval",
                    "task": task_id,
                    "tool": "dbt_build",
                    "digest": "d1",
                    "approved": True,
                    "by": "policy",
                    "action": "dbt_build",
                }
            )
        checks = [CheckResult(kind="sql", argument=f"select count(*) > 0 from {task_id}", passed=True, output="true")]
        for check in checks:
            events.append(
                {
                    "ts": at(clock),
                    "type": "check",
                    "task": task_id,
                    "kind": check.kind,
                    "argument": check.argument,
                    "passed": True,
                    "output": check.output,
                }
            )
        clock += 1
        events.append({"ts": at(clock), "type": "task_finished", "task": task_id, "status": "completed", "attempt": 1})
        artifact = f"models/{task_id}/0.sql"
        (project / artifact).parent.mkdir(parents=True, exist_ok=True)
        (project / artifact).write_text("select 1\n", encoding="utf-8")
        store.write(
            Finding(
                task=task_id,
                title=task.title,
                owner=agent,
                status="completed",
                started=at(started),
                finished=at(clock),
                artifacts=[artifact, "analytics.some_table"],
                checks=checks,
                run_id="r1",
                summary=f"{task_id} done",
            )
        )
        clock += 0.5
    events.append({"ts": at(clock), "type": "run_finished", "run_id": "r1", "status": "completed", "exit_code": 0})
    (run_dir / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return run_dir, stopped

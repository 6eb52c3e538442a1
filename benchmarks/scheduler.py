"""Scheduler benchmark: the real parent graph on scripted latencies versus the ideal of its own rules.

For the template's 18-task plan and a random 300-task DAG (fixed seeds), every task's model turn is a
cassette record with a ``delay_s`` drawn from a fixed seed. Prints one JSON object per plan with the
measured makespan, the ideal makespan (the same admission rules simulated with zero overhead), the
lower bound, the framework overhead per task, and — measured in the same run, on the same graph — the
makespan of a batch-barrier scheduler (each wave waits for its slowest task).

    uv run python benchmarks/scheduler.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import time
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from dacrew.findings.events import read_events
from dacrew.graph.runner import execute_run
from dacrew.graph.state import RunSettings, new_run_id
from dacrew.plan.model import TaskPlan
from dacrew.plan.parse import parse_plan_file
from dacrew.plan.schedule import admit, critical_path, lower_bound, simulate, topological_order

MAX_PARALLEL = 4


def random_plan(n: int, seed: int) -> str:
    rng = random.Random(seed)
    folders = [f"models/area_{i}/" for i in range(24)]
    lines = ["# Data Analytics Tasks: Random DAG", "", "## Data Foundation Tasks", ""]
    for i in range(1, n + 1):
        tid = f"T{i:03d}"
        earlier = [f"T{j:03d}" for j in range(max(1, i - 30), i)]
        deps = sorted(rng.sample(earlier, k=min(len(earlier), rng.choice([0, 1, 1, 2, 2, 3]))))
        parallel = rng.random() < 0.92
        lines += [
            f"### {tid}: Step {i}{' [P]' if parallel else ''}",
            "**Owner**: dbt-expert",
            f"**Dependencies**: {', '.join(deps) if deps else 'None'}",
            f"**Files**: `{rng.choice(folders)}`",
            "**Description**: Generated work",
            f"- Build part {i}",
            f"**Acceptance**: part {i} builds",
            "",
        ]
    return "\n".join(lines)


def cassette(task_ids: list[str], durations: dict[str, float], path: Path) -> None:
    rows: list[dict[str, Any]] = [
        {"type": "header", "version": 1, "source": "scripted", "model": "scripted", "created": "2026-11-28T00:00:00Z"}
    ]
    for tid in task_ids:
        rows.append(
            {
                "type": "model",
                "task": tid,
                "attempt": 1,
                "step": 0,
                "request_digest": None,
                "delay_s": durations[tid],
                "response": {
                    "content": "",
                    "tool_calls": [{"id": f"c-{tid}", "name": "complete_task", "args": {"summary": f"{tid} done"}}],
                    "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0},
                },
            }
        )
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


def batch_barrier(plan: TaskPlan, ready: list[str], running: set[str], max_parallel: int) -> list[str]:
    """The baseline policy: admit new work only when nothing runs (each wave waits for its slowest task)."""
    return [] if running else admit(plan, ready, running, max_parallel)


def simulate_batches(plan: TaskPlan, durations: dict[str, float], max_parallel: int) -> float:
    """The makespan of the batch-barrier policy with zero overhead: each batch waits for its slowest task
    before the next is admitted by the same rule."""
    done: set[str] = set()
    now = 0.0
    topological_order(plan)  # raises on a cycle
    while len(done) < len(plan.tasks):
        ready = [t.id for t in plan.tasks if t.id not in done and all(d in done for d in t.dependencies)]
        batch = admit(plan, ready, (), max_parallel)
        now += max(durations.get(t, 1.0) for t in batch)
        done.update(batch)
    return now


def run_once(work: Path, *, barrier: bool) -> tuple[float, float]:
    """One real run of the plan in ``work``: (makespan from the first start to the last finish, wall)."""
    settings = RunSettings(
        run_id=new_run_id(),
        plan="tasks.md",
        project_dir=str(work),
        model=f"replay:{work / 'c.jsonl'}",
        headless=True,
        max_parallel=MAX_PARALLEL,
    )
    t0 = time.perf_counter()
    result = execute_run(settings, admission=batch_barrier if barrier else admit)
    wall = time.perf_counter() - t0
    assert result.exit_code == 0, result
    evs = read_events(settings.run_dir)
    starts = [datetime.fromisoformat(e["ts"]).timestamp() for e in evs if e["type"] == "task_started"]
    ends = [datetime.fromisoformat(e["ts"]).timestamp() for e in evs if e["type"] == "task_finished"]
    return max(ends) - min(starts), wall


def measure(name: str, plan_text: str, seed: int, low: float, high: float) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="dacrew-bench-"))
    try:
        (work / "tasks.md").write_text(plan_text, encoding="utf-8")
        plan = parse_plan_file(work / "tasks.md")
        rng = random.Random(seed)
        durations = {t.id: round(rng.uniform(low, high), 3) for t in plan.tasks}
        cassette([t.id for t in plan.tasks], durations, work / "c.jsonl")
        measured, wall = run_once(work, barrier=False)
        batch_measured, _ = run_once(work, barrier=True)
        ideal = simulate(plan, durations, MAX_PARALLEL).makespan
        batch = simulate_batches(plan, durations, MAX_PARALLEL)
        n = len(plan.tasks)
        return {
            "plan": name,
            "tasks": n,
            "max_parallel": MAX_PARALLEL,
            "measured_makespan_s": round(measured, 3),
            "ideal_makespan_s": round(ideal, 3),
            "lower_bound_s": round(lower_bound(plan, durations, MAX_PARALLEL), 3),
            "critical_path_s": round(critical_path(plan, durations)[1], 3),
            "batch_barrier_measured_makespan_s": round(batch_measured, 3),
            "batch_barrier_ideal_makespan_s": round(batch, 3),
            "measured_over_ideal": round(measured / ideal, 4),
            "overhead_per_task_ms": round(1000 * (measured - ideal) / n, 2),
            "gain_over_batch_barrier": round(batch_measured / measured, 3),
            "wall_s_including_startup": round(wall, 3),
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 60-task random DAG instead of 300")
    args = parser.parse_args()
    template = resources.files("dacrew.prompts").joinpath("tasks-template.md").read_text(encoding="utf-8")
    print(json.dumps(measure("template-18", template, seed=18, low=0.2, high=1.2)))
    n = 60 if args.quick else 300
    print(json.dumps(measure(f"random-{n}", random_plan(n, seed=300), seed=301, low=0.05, high=0.4)))


if __name__ == "__main__":
    main()

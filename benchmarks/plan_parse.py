"""Benchmark the plan compiler: parse, validate and schedule generated plans of 200, 2,000 and 20,000 tasks.

Prints one JSON object per size: ``{"tasks": n, "seconds": s, "per_task_us": u, "parse_per_task_us": …,
"validate_per_task_us": …, "schedule_per_task_us": …}`` (the best of a few runs by total), so growth should
be linear: each ``per_task_us`` about flat across sizes. Times are this process's CPU time, so other
work on the machine disturbs them less. Run: ``uv run python benchmarks/plan_parse.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import time

from dacrew.plan.model import SPECIALISTS
from dacrew.plan.parse import parse_plan
from dacrew.plan.schedule import critical_path, simulate
from dacrew.plan.validate import validate

PHASES = ("Setup & Configuration", "Data Foundation", "Business Logic", "Integration & Testing", "Deployment")


def generate(n: int, seed: int = 7) -> str:
    """A plan in the template format: phases of 50 tasks, a third without ``[P]``, each task depending on
    one to three recent ones, unique Files, a Checks section on every fifth task."""
    rng = random.Random(seed)
    out = ["# Data Analytics Tasks: Generated", "", "**Branch**: `001-generated` | **Date**: 2026-11-28", ""]
    points: list[str] = []
    for i in range(1, n + 1):
        if i % 50 == 1:
            out += ["---", "", f"## {PHASES[(i // 50) % len(PHASES)]} Tasks", ""]
        deps = sorted({rng.randrange(max(1, i - 40), i) for _ in range(rng.randint(1, 3))}) if i > 1 else []
        marker = " [P]" if i % 3 else ""
        out += [
            f"### T{i:05d}: Generated task {i}{marker}",
            f"**Owner**: {SPECIALISTS[i % len(SPECIALISTS)]}",
            f"**Dependencies**: {', '.join(f'T{d:05d}' for d in deps) or 'None'}",
            f"**Files**: `models/generated/m_{i:05d}.sql`, `tests/generated/t_{i:05d}/`",
            "**Description**: Generated work",
            "- Build the model",
            "- Test the model",
            "**Acceptance**: The model builds and its tests pass",
        ]
        if i % 5 == 0:
            out += ["**Checks**:", f"- dbt: build --select m_{i:05d}", "- finding: Summary"]
        if deps and i % 100 == 0:
            points.append(f"- **T{deps[-1]:05d} → T{i:05d}**: generated handoff")
        out.append("")
    out += ["## Sub-Agent Coordination", "", "### Critical Integration Points", *points, ""]
    return "\n".join(out)


def run_once(text: str) -> dict[str, float]:
    """CPU seconds spent parsing, validating and scheduling (simulation and critical path) ``text``."""
    start = time.process_time()
    plan = parse_plan(text, "generated.md")
    parsed = time.process_time()
    problems = validate(plan, text=text)
    validated = time.process_time()
    simulate(plan, max_parallel=4)
    critical_path(plan)
    scheduled = time.process_time()
    errors = [d for d in problems if d.severity == "error"]
    if errors or not plan.tasks:
        raise SystemExit(f"the generated plan does not compile: {errors[:1]}")
    return {"parse": parsed - start, "validate": validated - parsed, "schedule": scheduled - validated}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 2_000, 20_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for n in args.sizes:
        text = generate(n)
        best = min((run_once(text) for _ in range(args.repeat)), key=lambda r: sum(r.values()))
        seconds = sum(best.values())
        stages = {f"{k}_per_task_us": round(v / n * 1e6, 1) for k, v in best.items()}
        print(
            json.dumps({"tasks": n, "seconds": round(seconds, 4), "per_task_us": round(seconds / n * 1e6, 1), **stages})
        )


if __name__ == "__main__":
    main()

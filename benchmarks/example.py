"""The example end to end at two data scales: wall time, peak memory, and where the time goes.

For each scale (default x1 and x10) the example project is copied to a temporary folder, its raw data
regenerated at that scale (``examples/customer_ltv/generate_data.py``) and the exact counts in its
plan's checks set to what that data gives; then ``dacrew run … --model replay:cassette --headless
--workdir …`` runs in a child process of its own. Prints one JSON object:

* ``scales[].wall_s`` — the child's wall time, from its start to its exit (imports, the run, the
  reports); ``peak_rss_mb`` — its peak resident memory (``wait4``'s ``ru_maxrss``), dbt included since
  dbt runs in the same process.
* ``scales[].rows`` — the raw rows at that scale; ``tasks`` — tasks by status; ``checks`` — checks by
  outcome (at x10 the ``table`` check reads more than its 10,000-row limit and is unverified).
* ``scales[].time`` — task-seconds from the run's event log, summed over tasks (tasks run in parallel,
  so the sum exceeds the wall time): ``model_replay`` (model call to response, the cassette's 0.1 s
  delay per turn included), ``tools`` by tool (call to result, waiting for the one-at-a-time dbt runner
  included), ``checks`` (the task's completion to its first check result), ``framework`` (the rest of
  each task's span: scheduling, findings, journal, events); and ``startup_s`` (child start to the run's
  first event), ``shutdown_s`` (the run's last event to the child's exit: reports, closing).

    uv run python benchmarks/example.py [--scales 1 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "customer_ltv"
CASSETTE = EXAMPLE / "cassette.jsonl"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("customer_ltv_generate_data", EXAMPLE / "generate_data.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _numbers(generator: ModuleType, data: Any) -> dict[str, str]:
    """The figures the plan's checks name, as the data at this scale gives them."""
    from decimal import Decimal

    ltv = generator.expected_ltv(data)
    return {
        "orders": str(len(data.orders)),
        "payments": str(len(data.payments)),
        "customers": str(len(data.customers)),
        "total": f"{sum((Decimal(row[1]) for row in ltv), Decimal(0)):.2f}",
        "high": str(sum(row[3] == "high" for row in ltv)),
    }


def prepare(scale: int, folder: Path) -> dict[str, int]:
    """The example in ``folder/project`` with its data and its plan's figures at ``scale``."""
    generator = _generator()
    project = folder / "project"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns("*.duckdb", "target", "findings", ".dacrew"))
    base = _numbers(generator, generator.generate(1))
    data = generator.generate(scale)
    generator.write_seeds(data, project / "seeds")
    generator.write_acceptance(data, project / "acceptance")
    figures = _numbers(generator, data)
    plan = (project / "tasks.md").read_text(encoding="utf-8")
    for name, old in base.items():
        plan = plan.replace(f"= {old} ", f"= {figures[name]} ")
    (project / "tasks.md").write_text(plan, encoding="utf-8")
    return {"customers": len(data.customers), "orders": len(data.orders), "payments": len(data.payments)}


def _ts(event: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(event["ts"])).timestamp()


def where_time_goes(events: list[dict[str, Any]]) -> dict[str, Any]:
    """Task-seconds by kind of work, from one run's events (see the module docstring)."""
    model = 0.0
    tools: dict[str, float] = defaultdict(float)
    checks = 0.0
    spans = 0.0
    open_calls: dict[str, tuple[str, float]] = {}
    last: dict[str, float] = {}
    started: dict[str, float] = {}
    in_checks: set[str] = set()
    for event in events:
        task = str(event.get("task") or "")
        kind = event["type"]
        ts = _ts(event)
        if not task:
            continue
        if kind == "task_started":
            started[task] = ts
        elif kind == "model_call":
            open_calls[task] = ("model", ts)
        elif kind == "model_response" and task in open_calls:
            model += ts - open_calls.pop(task)[1]
        elif kind == "tool_call":
            open_calls[task] = (str(event["tool"]), ts)
        elif kind == "tool_result" and task in open_calls:
            name, begun = open_calls.pop(task)
            tools[name] += ts - begun
        elif kind == "check" and task not in in_checks:
            checks += ts - last.get(task, ts)
            in_checks.add(task)
        elif kind == "task_finished":
            spans += ts - started.pop(task, ts)
            in_checks.discard(task)
        last[task] = ts
    tool_total = sum(tools.values())
    return {
        "task_seconds": round(spans, 2),
        "model_replay": round(model, 2),
        "tools": {name: round(seconds, 2) for name, seconds in sorted(tools.items(), key=lambda kv: -kv[1])},
        "tools_total": round(tool_total, 2),
        "checks": round(checks, 2),
        "framework": round(max(0.0, spans - model - tool_total - checks), 2),
    }


def measure(scale: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"dacrew-example-x{scale}-") as scratch:
        folder = Path(scratch)
        rows = prepare(scale, folder)
        work = folder / "work"
        argv = [sys.executable, "-m", "dacrew", "run", str(folder / "project"), "--model", f"replay:{CASSETTE}"]
        argv += ["--headless", "--workdir", str(work)]
        begun = time.time()
        child = subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        assert child.stderr is not None
        stderr = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
        ended = time.time()
        code = os.waitstatus_to_exitcode(status)
        (run,) = list((work / ".dacrew" / "runs").iterdir())
        events = [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines() if line]
        report = json.loads((run / "report.json").read_text(encoding="utf-8"))
        outcomes = Counter(
            c.get("outcome", "passed" if c["passed"] else "failed") for t in report["tasks"] for c in t["checks"]
        )
        return {
            "scale": scale,
            "rows": rows,
            "exit_code": code,
            "wall_s": round(ended - begun, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
            "tasks": report["counts"],
            "checks": dict(outcomes),
            "startup_s": round(_ts(events[0]) - begun, 2),
            "shutdown_s": round(ended - _ts(events[-1]), 2),
            "time": where_time_goes(events),
            "error": stderr.strip().splitlines()[-1] if code not in (0,) and stderr.strip() else "",
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10], help="data scales to run (default 1 10)")
    args = parser.parse_args()
    results = [measure(scale) for scale in args.scales]
    out: dict[str, Any] = {"benchmark": "example", "plan": "examples/customer_ltv/tasks.md", "scales": results}
    if len(results) >= 2 and results[0]["wall_s"]:
        out["wall_ratio"] = round(results[-1]["wall_s"] / results[0]["wall_s"], 2)
        out["memory_ratio"] = round(results[-1]["peak_rss_mb"] / results[0]["peak_rss_mb"], 2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

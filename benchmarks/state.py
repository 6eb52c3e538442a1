"""State backend benchmark: the scheduler benchmark's 300-task plan on SQLite and on Postgres, in one run.

The same random DAG and scripted latencies as ``benchmarks/scheduler.py`` (fixed seeds), run by the real
parent graph with ``max_parallel`` 4, once with the embedded SQLite checkpointer and once with
``state.url`` on a PostgreSQL server (by default one started here with ``initdb``/``pg_ctl`` and
Postgres's own durability settings; or ``--postgres-url``). Prints one JSON object per backend:

- ``overhead_per_task_ms``: (measured makespan - the ideal makespan of the same admission rules with zero
  overhead) / tasks — what the framework adds per task, including the backend's writes;
- ``checkpoints_per_task`` and ``checkpoint_writes_per_task``: rows the checkpointer wrote per task
  (checkpoints; pending writes — a finished ``@task``'s result is one);
- ``store_items_per_task`` (Postgres): items the run mirrored into the LangGraph store per task
  (findings, events, journal lines).

    uv run python benchmarks/state.py [--quick] [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dacrew.plan.parse import parse_plan_file
from dacrew.plan.schedule import simulate
from scheduler import MAX_PARALLEL, cassette, random_plan, run_once


def _rows_sqlite(work: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(work / ".dacrew" / "checkpoints.sqlite")) as conn:
        return {
            "checkpoints": conn.execute("select count(*) from checkpoints").fetchone()[0],
            "checkpoint_writes": conn.execute("select count(*) from writes").fetchone()[0],
        }


def _rows_postgres(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:

        def count(table: str) -> int:
            row = conn.execute(f"select count(*) from {table}").fetchone()  # pyright: ignore[reportArgumentType]
            return int(row[0]) if row else 0

        return {
            "checkpoints": count("checkpoints"),
            "checkpoint_writes": count("checkpoint_writes"),
            "store_items": count("store"),
        }


@contextlib.contextmanager
def _postgres(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from dacrew.testing.postgres import LocalPostgres

    with LocalPostgres(durable=True) as server:
        yield server.create_database("dacrew_state_bench")


def measure(backend: str, plan_text: str, durations_seed: int, url: str | None) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"dacrew-state-{backend}-"))
    saved = {k: os.environ.get(k) for k in ("DACREW_STATE__URL", "DACREW_STATE__PROJECT")}
    try:
        (work / "tasks.md").write_text(plan_text, encoding="utf-8")
        plan = parse_plan_file(work / "tasks.md")
        rng = random.Random(durations_seed)
        durations = {t.id: round(rng.uniform(0.05, 0.4), 3) for t in plan.tasks}
        cassette([t.id for t in plan.tasks], durations, work / "c.jsonl")
        if url:
            os.environ["DACREW_STATE__URL"] = url
            os.environ["DACREW_STATE__PROJECT"] = f"bench-{work.name}"
        else:
            os.environ.pop("DACREW_STATE__URL", None)
        measured, wall = run_once(work, barrier=False)
        rows = _rows_postgres(url) if url else _rows_sqlite(work)
        ideal = simulate(plan, durations, MAX_PARALLEL).makespan
        n = len(plan.tasks)
        out: dict[str, Any] = {
            "backend": backend,
            "tasks": n,
            "max_parallel": MAX_PARALLEL,
            "measured_makespan_s": round(measured, 3),
            "ideal_makespan_s": round(ideal, 3),
            "overhead_per_task_ms": round(1000 * (measured - ideal) / n, 2),
            "checkpoints_per_task": round(rows["checkpoints"] / n, 2),
            "checkpoint_writes_per_task": round(rows["checkpoint_writes"] / n, 2),
            "wall_s_including_startup": round(wall, 3),
        }
        if "store_items" in rows:
            out["store_items_per_task"] = round(rows["store_items"] / n, 2)
        return out
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 60-task random DAG instead of 300")
    parser.add_argument("--postgres-url", help="measure this Postgres database instead of starting a server")
    args = parser.parse_args()
    n = 60 if args.quick else 300
    plan_text = random_plan(n, seed=300)
    print(json.dumps(measure("sqlite", plan_text, 301, None)))
    with _postgres(args.postgres_url) as url:
        result = measure("postgres", plan_text, 301, url)
        result["postgres_server"] = "given (--postgres-url)" if args.postgres_url else "local, fsync on (defaults)"
        print(json.dumps(result))


if __name__ == "__main__":
    main()

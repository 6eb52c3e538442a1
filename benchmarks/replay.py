"""Replay benchmark: the same suite in full replay and in model replay, in one run.

The suite is copied to a temporary folder and sealed there (``eval seal``: request digests, tool results
and check outcomes from a model replay), then every case that can be full-replayed (a sealed cassette, no
pinned mode) runs ``--repeat`` times in each mode with the same concurrency. Prints one JSON object:
per mode the case runs, their wall time, cases per second and pass rate; and ``ratio``, full-replay
cases per second over model-replay cases per second (how many times faster a replay is when no tool
runs). The time includes each case's project copy, the run, the scoring and, in model replay, the
subprocess that isolates dbt.

    uv run python benchmarks/replay.py [--suite evals/offline] [--repeat 2] [--max-concurrency 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from dacrew.evals.case import CaseOptions
from dacrew.evals.pool import run_suite
from dacrew.evals.seal import seal_suite, sealable
from dacrew.evals.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]


def measure(suite: Any, cases: list[Any], mode: str, out: Path, repeat: int, concurrency: int) -> dict[str, Any]:
    started = time.perf_counter()
    result = run_suite(
        suite,
        CaseOptions(mode=mode),
        out,
        repeat=repeat,
        max_concurrency=concurrency,
        cases=cases,  # pyright: ignore[reportArgumentType]
    )
    seconds = time.perf_counter() - started
    runs = len(result.cases)
    return {
        "case_runs": runs,
        "seconds": round(seconds, 3),
        "cases_per_second": round(runs / seconds, 4),
        "pass_rate": round(result.pass_rate, 4),
        "verdicts": [f"{c.case}[{c.repeat}]: {c.verdict}" for c in result.cases],
    }


def _point_outside_paths_back(copy: Path, original: Path) -> None:
    """Paths that leave the suite's folder (the example's project) point back at the original."""
    import yaml

    path = copy / "suite.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    for case in data["cases"]:
        for field in ("project", "cassette", "scoring_files"):
            value = case.get(field)
            if value and not (copy / value).resolve().is_relative_to(copy.resolve()):
                case[field] = str((original / value).resolve())
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", type=Path, default=ROOT / "evals" / "offline")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--max-concurrency", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dacrew-replay-bench-") as tmp:
        work = Path(tmp)
        source = load_suite(args.suite)
        copy = work / "suite"
        shutil.copytree(source.root, copy, ignore=shutil.ignore_patterns("*.duckdb", "target", ".dacrew", "findings"))
        _point_outside_paths_back(copy, source.root)
        suite = load_suite(copy)
        cases = [c for c in suite.cases if not sealable(c) and c.replay is None]
        sealed = seal_suite(suite, work / "seal", names=[c.name for c in cases], max_concurrency=args.max_concurrency)
        cases = [c for c in cases if not next(s for s in sealed if s.case == c.name).skipped]
        model = measure(suite, cases, "model", work / "model", args.repeat, args.max_concurrency)
        full = measure(suite, cases, "full", work / "full", args.repeat, args.max_concurrency)
        print(
            json.dumps(
                {
                    "suite": source.name,
                    "cases": [c.name for c in cases],
                    "repeat": args.repeat,
                    "max_concurrency": args.max_concurrency,
                    "model_replay": model,
                    "full_replay": full,
                    "ratio": round(full["cases_per_second"] / model["cases_per_second"], 2),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()

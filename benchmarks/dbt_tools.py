"""Repeated `dbt build` through the dbt toolset (in-process, manifest reused) against the `dbt build`
CLI (a new process each time), on one generated 20-model DuckDB project, in one run.

    uv run python benchmarks/dbt_tools.py [--repeat N]

Prints JSON: the seconds of each run for both (interleaved, so both see the same machine load), their
medians and the ratio (CLI / toolset).
Target: the toolset at least 2x faster than the CLI on repeated builds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = 20


def write_project(root: Path) -> None:
    """A seed, then 20 models in layers: 5 staging views, 10 intermediate views, 5 mart tables."""
    files: dict[str, str] = {
        "dbt_project.yml": (
            "name: bench\nversion: '1.0'\nprofile: bench\n"
            "models:\n  bench:\n    staging: {+materialized: view}\n    intermediate: {+materialized: view}\n"
            "    marts: {+materialized: table}\n"
        ),
        "profiles.yml": "bench:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: bench.duckdb, threads: 1}\n",
        "seeds/raw_events.csv": "id,kind,amount\n" + "".join(f"{i},{'abc'[i % 3]},{i * 7 % 100}\n" for i in range(200)),
    }
    for i in range(5):
        files[f"models/staging/stg_events_{i}.sql"] = (
            f"select id, kind, amount + {i} as amount from {{{{ ref('raw_events') }}}} where id % 5 = {i}\n"
        )
    for i in range(10):
        files[f"models/intermediate/int_events_{i}.sql"] = (
            f"select kind, sum(amount) as amount, count(*) as n from {{{{ ref('stg_events_{i % 5}') }}}} group by kind\n"
        )
    for i in range(5):
        files[f"models/marts/fct_kind_{i}.sql"] = (
            f"select a.kind, a.amount + b.amount as amount, a.n + b.n as n\n"
            f"from {{{{ ref('int_events_{i}') }}}} a join {{{{ ref('int_events_{i + 5}') }}}} b using (kind)\n"
        )
    files["models/marts/schema.yml"] = "models:\n" + "".join(
        f"  - name: fct_kind_{i}\n    columns:\n      - name: kind\n        data_tests: [unique, not_null]\n"
        for i in range(5)
    )
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def interleaved(tool_root: Path, cli_root: Path, repeat: int) -> tuple[list[float], list[float], float]:
    """A first toolset build (parse included), then ``repeat`` rounds of one toolset build and one CLI
    build each, interleaved so that both see the same machine load."""
    from dacrew.tools.base import ToolContext
    from dacrew.tools.dbt.toolset import RunArgs, dbt_build

    ctx = ToolContext(project_dir=tool_root)
    start = time.perf_counter()
    first = dbt_build(ctx, RunArgs())
    cold = time.perf_counter() - start
    assert first.ok, first.error
    dbt = Path(sys.executable).with_name("dbt")
    command = [str(dbt), "build", "--project-dir", str(cli_root), "--profiles-dir", str(cli_root), "--quiet"]
    env = {**os.environ, "DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    tool_times: list[float] = []
    cli_times: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = dbt_build(ctx, RunArgs())
        tool_times.append(time.perf_counter() - start)
        assert result.ok, result.error
        assert result.manifest_reused
        assert sum(1 for n in result.nodes if n.resource_type == "model") == MODELS
        start = time.perf_counter()
        subprocess.run(command, cwd=cli_root, env=env, check=True, capture_output=True)
        cli_times.append(time.perf_counter() - start)
    return tool_times, cli_times, cold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="dbt-bench-"))
    try:
        tool_root, cli_root = workdir / "toolset", workdir / "cli"
        write_project(tool_root)
        write_project(cli_root)
        tool_times, cli_times, cold = interleaved(tool_root, cli_root, opts.repeat)
        tool_median, cli_median = statistics.median(tool_times), statistics.median(cli_times)
        print(
            json.dumps(
                {
                    "models": MODELS,
                    "repeat": opts.repeat,
                    "toolset_first_build_s": round(cold, 3),
                    "toolset_build_s": [round(t, 3) for t in tool_times],
                    "cli_build_s": [round(t, 3) for t in cli_times],
                    "toolset_median_s": round(tool_median, 3),
                    "cli_median_s": round(cli_median, 3),
                    "ratio_cli_over_toolset": round(cli_median / tool_median, 2),
                    "target_ratio": 2.0,
                },
                indent=2,
            )
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

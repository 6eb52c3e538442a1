"""Runs one eval case in this process: ``python -m dacrew.evals.worker`` reads the job (JSON) from stdin
and writes the case's result (JSON) to the file the job names. The eval pool starts one per case whose
tools run for real, because dbt-core allows one invocation at a time per process."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> int:
    from dacrew.evals.case import CaseOptions, run_case
    from dacrew.evals.suite import load_suite

    job = json.loads(sys.stdin.read())
    suite = load_suite(Path(job["suite"]))
    result = run_case(
        suite, suite.case(job["case"]), Path(job["workdir"]), CaseOptions(**job["options"]), int(job["repeat"])
    )
    Path(job["result"]).write_text(result.model_dump_json(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

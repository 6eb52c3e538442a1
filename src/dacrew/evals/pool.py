"""Runs a suite's cases: each run in its own copy of its project, up to N at a time.

dbt-core is not safe for concurrent invocations in one process, so a case whose tools run for real
(model replay, a live model) on a dbt project runs in a subprocess of its own (``python -m
dacrew.evals.worker``); a full replay runs no tool, and a project without dbt cannot call it: those run
in threads of this process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from dacrew.evals.case import CaseOptions, case_mode, run_case
from dacrew.evals.results import CaseResult, SuiteResult
from dacrew.evals.suite import Case, Suite
from dacrew.findings.format import now_iso

RESULT_FILE = "case-result.json"


def run_suite(
    suite: Suite,
    options: CaseOptions,
    out_dir: Path,
    *,
    repeat: int = 1,
    max_concurrency: int = 2,
    cases: list[Case] | None = None,
    on_done: Callable[[CaseResult], None] | None = None,
) -> SuiteResult:
    """Run every case ``repeat`` times; each run gets ``out_dir/<case>-<n>/`` (which must not exist)."""
    started = now_iso()
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(case, n) for case in (cases or suite.cases) for n in range(1, repeat + 1)]

    def one(job: tuple[Case, int]) -> CaseResult:
        case, n = job
        workdir = out_dir / f"{case.name}-{n}"
        if case_mode(suite, case, options) == "full" or not uses_dbt(suite, case):
            result = run_case(suite, case, workdir, options, n)
        else:
            result = run_in_subprocess(suite, case, workdir, options, n)
        if on_done is not None:
            on_done(result)
        return result

    with ThreadPoolExecutor(max_workers=max(1, max_concurrency)) as pool:
        results = list(pool.map(one, jobs))
    return SuiteResult(suite=suite.name, mode=options.mode, strict=options.strict, started=started, cases=results)


def uses_dbt(suite: Suite, case: Case) -> bool:
    """Whether the case's project holds a dbt project (where ``dacrew.yml`` says, default: the project)."""
    from dacrew.config import load_config

    project = suite.path(case.project)
    return (project / (load_config(project).dbt.project_dir or ".") / "dbt_project.yml").is_file()


def run_in_subprocess(suite: Suite, case: Case, workdir: Path, options: CaseOptions, repeat: int) -> CaseResult:
    """Run one case in a fresh Python process; its result comes back as JSON beside its project copy."""
    result_path = workdir.parent / f"{workdir.name}.{RESULT_FILE}"
    job = {
        "suite": str(suite.root),
        "case": case.name,
        "workdir": str(workdir),
        "repeat": repeat,
        "options": {
            "mode": options.mode,
            "strict": options.strict,
            "model": options.model,
            "max_parallel": options.max_parallel,
        },
        "result": str(result_path),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "dacrew.evals.worker"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=False,
    )
    if result_path.is_file():
        return CaseResult.model_validate_json(result_path.read_text(encoding="utf-8"))
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return CaseResult(
        case=case.name,
        repeat=repeat,
        verdict="error",
        mode=case_mode(suite, case, options),
        workdir=str(workdir),
        error=f"the case's process ended with exit {proc.returncode}: {' | '.join(tail)}",
    )

"""One run of one case: copy its project to a fresh folder, run its plan (or its one task) headless on
its cassette or model, then score the run."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dacrew.evals.plans import one_task_plan
from dacrew.evals.results import CaseResult, Drift, ScoreResult
from dacrew.evals.scorers import budget, build_for_scoring, run_check_scorer, tool_calls, trajectory, turns
from dacrew.evals.suite import Case, Suite
from dacrew.findings.format import CheckResult, Finding, Usage

PLAN_FILE = "eval-plan.md"
COPY_IGNORED = (".dacrew", "findings", "target", "logs", "dbt_packages", "*.duckdb.wal")

Mode = Literal["model", "full", "live"]


@dataclass(frozen=True)
class CaseOptions:
    mode: Literal["model", "full"] = "model"
    """The suite run's replay mode (a case may pin its own)."""
    strict: bool = False
    model: str | None = None
    """A live model for every agent instead of the case's cassette (``eval record``)."""
    max_parallel: int = 4


def case_mode(suite: Suite, case: Case, options: CaseOptions) -> Mode:
    if options.model is not None or case.cassette is None:
        return "live"
    return case.replay or options.mode


def prepare_project(suite: Suite, case: Case, workdir: Path) -> str:
    """Copy the case's project into ``workdir`` (which must not exist) and return the plan to run,
    relative to it (a one-task plan when the case names a task)."""
    from dacrew.errors import UserError
    from dacrew.plan.validate import compile_plan

    shutil.copytree(suite.path(case.project), workdir, ignore=shutil.ignore_patterns(*COPY_IGNORED), symlinks=True)
    if case.task is None:
        return case.plan
    plan, _ = compile_plan(workdir / case.plan)
    task = plan.by_id.get(case.task)
    if task is None:
        raise UserError(f"case {case.name}: the plan {case.plan} has no task {case.task}")
    (workdir / ".dacrew").mkdir(exist_ok=True)
    (workdir / ".dacrew" / PLAN_FILE).write_text(one_task_plan(plan.feature, task), encoding="utf-8")
    return f".dacrew/{PLAN_FILE}"


def run_case(suite: Suite, case: Case, workdir: Path, options: CaseOptions, repeat: int = 1) -> CaseResult:
    """Run and score one case in ``workdir``; a case that cannot run is an ``error`` verdict, not a crash."""
    from dacrew.errors import DacrewError

    workdir = workdir.resolve()  # dbt moves the working directory while it runs

    mode = case_mode(suite, case, options)
    try:
        return _run(suite, case, workdir, options, repeat, mode)
    except DacrewError as exc:
        return CaseResult(
            case=case.name, repeat=repeat, verdict="error", mode=mode, workdir=str(workdir), error=str(exc)
        )


def _run(suite: Suite, case: Case, workdir: Path, options: CaseOptions, repeat: int, mode: Mode) -> CaseResult:
    from dacrew.findings.events import read_events
    from dacrew.findings.store import FindingsStore
    from dacrew.graph.runner import execute_run
    from dacrew.graph.state import RunSettings
    from dacrew.models.cassette import load_cassette

    plan = prepare_project(suite, case, workdir)
    cassette = suite.path(case.cassette) if case.cassette is not None and mode != "live" else None
    model = options.model or case.model or f"replay:{cassette}"
    run_id = f"eval-{case.name}-{repeat}"
    settings = RunSettings(
        run_id=run_id,
        plan=plan,
        project_dir=str(workdir),
        model=model,
        headless=True,
        max_parallel=options.max_parallel,
        full_replay=mode == "full",
        strict_replay=options.strict,
    )
    started = time.perf_counter()
    outcome = execute_run(settings)
    seconds = time.perf_counter() - started
    events = read_events(settings.run_dir)
    scoring_files = suite.path(case.scoring_files) if case.scoring_files else None
    if scoring_files is not None:
        shutil.copytree(scoring_files, workdir, dirs_exist_ok=True)
    setup_error = build_for_scoring(workdir, case.scoring_build, run_id, scoring_files) if case.scoring_build else ""
    findings = {t: f for t, f in FindingsStore(workdir).all().items() if f.run_id == run_id}
    usage = sum((f.usage for f in findings.values()), Usage())
    drift = [
        Drift(
            task=str(e.get("task")),
            step=int(e.get("step") or 0),
            what=str(e.get("what")),
            message=str(e.get("message")),
            diff=str(e.get("diff") or ""),
        )
        for e in events
        if e.get("type") == "replay_drift"
    ]
    scores = [
        ScoreResult(
            scorer=f"exit code {case.expect_exit}",
            outcome="passed" if outcome.exit_code == case.expect_exit else "failed",
            output=f"the run ended {outcome.status} (exit {outcome.exit_code})",
        )
    ]
    if case.scoring_build:
        scores.append(
            ScoreResult(
                scorer=f"scoring build: {case.scoring_build}",
                outcome="failed" if setup_error else "passed",
                output=setup_error or "built for scoring",
            )
        )
    recorded = load_cassette(cassette) if cassette is not None and mode == "full" else None
    finding = _scored_finding(case, findings)
    scorer_checks: list[CheckResult] = []
    for scorer in case.scorers:
        if scorer.check_spec() is None:
            scores.append(trajectory(scorer, events, findings))
            continue
        target = findings.get(scorer.task) if scorer.task else finding
        score, check = run_check_scorer(
            scorer,
            workdir,
            target or Finding(task=scorer.task or "eval"),
            run_id,
            full=mode == "full",
            cassette=recorded,
            scoring_files=scoring_files,
        )
        scores.append(score)
        if check is not None:
            scorer_checks.append(check)
    scores += budget(suite.budget_of(case), usage.total_tokens, usage.usd, seconds)
    _record_scorer_checks(settings.run_dir / "cassette.jsonl", scorer_checks)
    failed = [s for s in scores if s.outcome == "failed" or (options.strict and s.outcome == "unverified")]
    if case.expect_drift and options.strict:
        verdict = "xfail" if drift else "xpass"
    else:
        verdict = "failed" if failed or (options.strict and drift) else "passed"
    return CaseResult(
        case=case.name,
        repeat=repeat,
        verdict=verdict,
        mode=mode,
        status=outcome.status,
        exit_code=outcome.exit_code,
        scores=scores,
        drift=drift,
        tokens=usage.total_tokens,
        usd=usage.usd,
        seconds=round(seconds, 3),
        tool_calls=len(tool_calls(events)),
        turns=turns(events),
        workdir=str(workdir),
        findings={t: str(workdir / "findings" / f"{t}.md") for t in sorted(findings)},
    )


def _scored_finding(case: Case, findings: dict[str, Finding]) -> Finding | None:
    """The finding a ``finding`` check scorer reads: the case's task, else the plan's last task."""
    if case.task is not None:
        return findings.get(case.task)
    return findings[sorted(findings)[-1]] if findings else None


def _record_scorer_checks(path: Path, checks: list[CheckResult]) -> None:
    """Scorer outcomes go into the run's cassette (task ``eval``), so a full replay of it can score."""
    from dacrew.evals.scorers import EVAL_TASK
    from dacrew.models.cassette import CassetteWriter

    if not checks or not path.is_file():
        return
    with CassetteWriter(path) as writer:
        for number, check in enumerate(checks, start=1):
            writer.tool_record(
                EVAL_TASK,
                1,
                0,
                f"scorer:{number}",
                "check",
                {"kind": check.kind, "argument": check.argument},
                result=check.model_dump(mode="json"),
            )

"""Scoring a case's run: plan checks run by the parent's own verifier, trajectory scorers read from the
run's events and findings, and the case's budget.

A check scorer runs against the case's project after the run (read-only, like every check). In full
replay nothing was built, so a check scorer takes the outcome recorded for the same check (the cassette's
``check`` records, which ``eval record`` and ``eval seal`` write); with none, it is ``unverified``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from dacrew.evals.results import Outcome, ScoreResult
from dacrew.evals.suite import Budget, Scorer
from dacrew.findings.format import CheckResult, Finding
from dacrew.models.cassette import Cassette

GUARD_STATUSES = ("refused", "denied")
EVAL_TASK = "eval"
"""The cassette task under which scorer outcomes are recorded (``check`` records)."""


def tool_calls(events: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("type") == "tool_call"]


def turns(events: Sequence[dict[str, Any]]) -> int:
    return sum(1 for e in events if e.get("type") == "model_response")


def is_unverified(check: CheckResult) -> bool:
    """A check that could not reach a verdict (no server configured, nothing to compare with)."""
    return check.outcome == "unverified"


def trajectory(scorer: Scorer, events: Sequence[dict[str, Any]], findings: dict[str, Finding]) -> ScoreResult:
    """Score one trajectory scorer on a run's events (tool calls, results, turns) and findings."""
    calls = tool_calls(events)
    results = [e for e in events if e.get("type") == "tool_result"]
    names = [str(c.get("tool")) for c in calls]
    label = scorer.label

    def verdict(ok: bool, output: str) -> ScoreResult:
        return ScoreResult(scorer=label, outcome="passed" if ok else "failed", output=output)

    if scorer.tool_called is not None:
        n = names.count(scorer.tool_called)
        return verdict(n > 0, f"called {n} time(s)")
    if scorer.tool_not_called is not None:
        n = names.count(scorer.tool_not_called)
        return verdict(n == 0, f"called {n} time(s)")
    if scorer.max_tool_calls is not None:
        return verdict(len(calls) <= scorer.max_tool_calls, f"{len(calls)} tool calls")
    if scorer.max_turns is not None:
        n = turns(events)
        return verdict(n <= scorer.max_turns, f"{n} model turns")
    if scorer.guard_stopped is not None:
        mine = [r for r in results if r.get("tool") == scorer.guard_stopped]
        stopped = [r for r in mine if r.get("status") in GUARD_STATUSES]
        executed = len(mine) - len(stopped)
        return verdict(
            bool(mine) and executed == 0,
            f"{len(mine)} call(s), {len(stopped)} stopped by a guard, {executed} executed",
        )
    if scorer.no_guard_refusal:
        stopped = [
            f"{r.get('task')} {r.get('tool')}: {r.get('status')}" for r in results if r.get("status") in GUARD_STATUSES
        ]
        asked = [
            f"{e.get('task')} {e.get('tool')}: approval requested"
            for e in events
            if e.get("type") == "approval_requested"
        ]
        found = stopped + asked
        return verdict(not found, "; ".join(found[:5]) or "no refusal, denial or approval request")
    if scorer.no_unverified:
        found = [f"{f.task} {c.kind}: {c.argument}" for f in findings.values() for c in f.checks if is_unverified(c)]
        return verdict(not found, "; ".join(found[:5]) or "every check was decided")
    raise AssertionError(f"not a trajectory scorer: {label}")


def recorded_check(cassette: Cassette | None, kind: str, argument: str) -> CheckResult | None:
    """The last outcome a cassette recorded for this check (a scorer's, else a plan check's)."""
    if cassette is None:
        return None
    matches = [
        r
        for r in cassette.tools
        if r.name == "check" and r.args == {"kind": kind, "argument": argument} and isinstance(r.result, dict)
    ]
    preferred = [r for r in matches if r.task == EVAL_TASK] or matches
    return CheckResult.model_validate(preferred[-1].result) if preferred else None


def run_check_scorer(
    scorer: Scorer,
    project: Path,
    finding: Finding,
    run_id: str,
    *,
    full: bool,
    cassette: Cassette | None,
    scoring_files: Path | None = None,
) -> tuple[ScoreResult, CheckResult | None]:
    """Run a check scorer (full replay: its recorded outcome); also returns the check result to record.
    ``scoring_files`` is the folder the harness copied into the project for scoring (see
    :func:`scoring_code_only`)."""
    from dacrew.graph.verify import CheckSpec, run_check

    spec = scorer.check_spec()
    assert spec is not None
    kind, argument = spec
    if full:
        recorded = recorded_check(cassette, kind, argument)
        if recorded is None:
            return ScoreResult(
                scorer=scorer.label,
                outcome="unverified",
                output="full replay: the cassette has no outcome for this check",
            ), None
        return _score(scorer.label, recorded, "recorded: "), None
    ctx = _scoring_context(project, finding.task, run_id, scoring_files)
    try:
        check = run_check(ctx, finding, CheckSpec(kind, argument))
    finally:
        ctx.close()
    return _score(scorer.label, check), check


def scoring_code_only(detail: dict[str, Any], project: Path, scoring_files: Path) -> bool:
    """Whether an approval the dbt guard asks for names only the harness's own scoring code: every file
    in it is one the harness copied from ``scoring_files``, byte for byte (an ADE-bench equality test runs
    SQL of its own with ``run_query``). Code the agent wrote is never approved."""
    entries = detail.get("code")
    if not isinstance(entries, list) or not entries:
        return False
    for entry in cast(list[Any], entries):
        relative = str(entry[0]) if isinstance(entry, (list, tuple)) and entry else ""
        ours, theirs = (scoring_files / relative).resolve(), (project / relative).resolve()
        inside = ours.is_relative_to(scoring_files.resolve()) and theirs.is_relative_to(project.resolve())
        if not relative or not inside or not ours.is_file() or not theirs.is_file():
            return False
        if ours.read_bytes() != theirs.read_bytes():
            return False
    return True


def _scoring_context(project: Path, task: str, run_id: str, scoring_files: Path | None, *, build: bool = False) -> Any:
    """The tool context a check scorer runs in: read-only (``build``: allowed to build, for the harness's
    own scoring setup), approving its own scoring code only."""
    from dacrew.tools.base import ToolContext

    class ScoringContext(ToolContext):
        def require_approval(self, action: str, message: str, detail: dict[str, Any]) -> None:
            if scoring_files is not None and scoring_code_only(detail, project, scoring_files):
                return
            super().require_approval(action, message, detail)

    permissions = frozenset({"read", "ddl", "write"}) if build else frozenset({"read"})
    return ScoringContext(project_dir=project, task_id=task, run_id=run_id, permissions=permissions)


def build_for_scoring(project: Path, selection: str, run_id: str, scoring_files: Path | None) -> str:
    """Build ``selection`` into the case's copy of its project before scoring (ADE-bench seeds its
    solution tables so); returns "" or why it failed."""
    from dacrew.errors import DacrewError
    from dacrew.tools.registry import get

    ctx = _scoring_context(project, EVAL_TASK, run_id, scoring_files, build=True)
    try:
        result: Any = get("dbt_build").call(ctx, {"select": selection})
    except DacrewError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        ctx.close()
    return "" if result.success else (result.error or "dbt build failed")


def _score(label: str, check: CheckResult, prefix: str = "") -> ScoreResult:
    outcome: Outcome = "unverified" if is_unverified(check) else "passed" if check.passed else "failed"
    return ScoreResult(scorer=label, outcome=outcome, output=prefix + check.output)


def budget(limit: Budget, tokens: int, usd: float, seconds: float) -> list[ScoreResult]:
    out: list[ScoreResult] = []
    if limit.tokens is not None:
        out.append(_limit(f"budget: tokens <= {limit.tokens}", tokens <= limit.tokens, f"{tokens} tokens"))
    if limit.usd is not None:
        out.append(_limit(f"budget: USD <= {limit.usd:g}", usd <= limit.usd, f"{usd:.4f} USD"))
    if limit.seconds is not None:
        out.append(_limit(f"budget: seconds <= {limit.seconds:g}", seconds <= limit.seconds, f"{seconds:.1f} s"))
    return out


def _limit(label: str, ok: bool, output: str) -> ScoreResult:
    return ScoreResult(scorer=label, outcome="passed" if ok else "failed", output=output)

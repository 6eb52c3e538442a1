"""``eval seal`` and ``eval record``: cassettes made fit for strict and full replay.

Sealing replays a case (model replay, lenient) with today's prompts, tools and graph and, when the run
ends as the case expects (its exit code; scorers are not required to pass), writes back
into its cassette what the run recorded: each model turn keeps its response and gets the request's
digest and summary (so strict replay can see drift), and the tool records, the parent's check outcomes
and the scorers' outcomes are replaced by the run's (so full replay can answer without running
anything). Recording runs a case on a live model and saves the run's cassette as the case's.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from dacrew.errors import UserError
from dacrew.evals.case import CaseOptions
from dacrew.evals.pool import run_suite
from dacrew.evals.results import CaseResult
from dacrew.evals.suite import Case, Suite
from dacrew.models.cassette import load_cassette


@dataclass
class Sealed:
    case: str
    cassette: str
    turns: int = 0
    tools: int = 0
    skipped: str = ""
    """Why the case was not sealed (empty: sealed)."""


def recorded_cassette(result: CaseResult) -> Path:
    return Path(result.workdir) / ".dacrew" / "runs" / f"eval-{result.case}-{result.repeat}" / "cassette.jsonl"


def sealable(case: Case) -> str:
    """Why a case is not sealed, or "" when it is."""
    if case.cassette is None:
        return "it runs a live model"
    if not case.seal:
        return "seal: false (its cassette is maintained elsewhere)"
    if case.expect_drift:
        return "expect_drift: its cassette stays drifted"
    return ""


def seal_suite(
    suite: Suite, out_dir: Path, *, names: list[str] | None = None, max_concurrency: int = 2
) -> list[Sealed]:
    """Seal the suite's cases (or the named ones); returns what happened to each."""
    chosen = [suite.case(n) for n in names] if names else suite.cases
    report = [Sealed(c.name, c.cassette or "", skipped=sealable(c)) for c in chosen]
    todo = [c for c in chosen if not sealable(c)]
    results = run_suite(suite, CaseOptions(mode="model"), out_dir, cases=todo, max_concurrency=max_concurrency)
    by_case = {r.case: r for r in results.cases}
    for entry in report:
        if entry.skipped:
            continue
        result = by_case[entry.case]
        ended = result.scores[0] if result.scores else None
        if result.verdict == "error" or ended is None or not ended.passed:
            why = result.error or (ended.output if ended is not None else result.verdict)
            entry.skipped = f"its replay did not end as the case expects: {why}"
            continue
        entry.turns, entry.tools = _write_sealed(suite.path(entry.cassette), recorded_cassette(result))
    return report


def _write_sealed(target: Path, recording: Path) -> tuple[int, int]:
    original = load_cassette(target)
    recorded = load_cassette(recording)
    lines = [original.header.model_dump()]
    turns = 0
    for key, turn in sorted(original.turns.items()):
        fresh = recorded.turns.get(key)
        if fresh is not None:
            turn = turn.model_copy(update={"request_digest": fresh.request_digest, "request": fresh.request})
            turns += 1
        lines.append(turn.model_dump())
    lines += [record.model_dump() for record in recorded.tools]
    text = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    target.write_text(text, encoding="utf-8")
    return turns, len(recorded.tools)


def record_case(
    suite: Suite, case: Case, model: str, out_dir: Path, target: Path | None = None
) -> tuple[Path, CaseResult]:
    """Run ``case`` on the live ``model`` and save the run's cassette (default: the case's cassette)."""
    if target is None:
        if case.cassette is None:
            raise UserError(f"case {case.name} names no cassette to record into: pass --out FILE")
        target = suite.path(case.cassette)
    results = run_suite(suite, CaseOptions(mode="model", model=model), out_dir, cases=[case], max_concurrency=1)
    (result,) = results.cases
    recording = recorded_cassette(result)
    if not recording.is_file():
        raise UserError(f"case {case.name} recorded nothing: {result.error or result.verdict}")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(recording, target)
    return target, result

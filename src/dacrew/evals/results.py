"""What an eval run produced: per-case results, the suite's totals, and the comparison with a baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dacrew.errors import UserError
from dacrew.evals.suite import Thresholds

Outcome = Literal["passed", "failed", "unverified"]


class ScoreResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scorer: str
    outcome: Outcome
    output: str = ""

    @property
    def passed(self) -> bool:
        return self.outcome == "passed"


class Drift(BaseModel):
    """A ``replay_drift`` event: where the replay left the recording, and the diff."""

    model_config = ConfigDict(extra="forbid")

    task: str
    step: int
    what: str
    message: str
    diff: str = ""


class CaseResult(BaseModel):
    """One run of one case. ``verdict``: passed, failed, xfail (an expected strict drift failure), xpass
    (an expected drift that did not happen: a failure), error (the case could not run)."""

    model_config = ConfigDict(extra="forbid")

    case: str
    repeat: int = 1
    verdict: Literal["passed", "failed", "xfail", "xpass", "error"]
    mode: str = "model"
    status: str = ""
    exit_code: int | None = None
    scores: list[ScoreResult] = Field(default_factory=list[ScoreResult])
    drift: list[Drift] = Field(default_factory=list[Drift])
    tokens: int = 0
    usd: float = 0.0
    seconds: float = 0.0
    tool_calls: int = 0
    turns: int = 0
    workdir: str = ""
    findings: dict[str, str] = Field(default_factory=dict[str, str])
    """Task id → its finding file."""
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.verdict in ("passed", "xfail")


class SuiteResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suite: str
    mode: str
    strict: bool
    started: str
    cases: list[CaseResult]
    regressions: list[str] = Field(default_factory=list[str])

    @property
    def pass_rate(self) -> float:
        return sum(c.ok for c in self.cases) / len(self.cases) if self.cases else 0.0

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.cases) and not self.regressions

    def totals(self) -> dict[str, float]:
        """Mean tokens, USD and seconds per case run, and the pass rate."""
        n = len(self.cases) or 1
        return {
            "pass_rate": round(self.pass_rate, 4),
            "tokens": round(sum(c.tokens for c in self.cases) / n, 1),
            "usd": round(sum(c.usd for c in self.cases) / n, 6),
            "seconds": round(sum(c.seconds for c in self.cases) / n, 3),
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json"), "totals": self.totals(), "ok": self.ok}


class Baseline(BaseModel):
    """A saved suite result to compare with: the totals, and each case's."""

    model_config = ConfigDict(extra="forbid")

    suite: str
    created: str
    totals: dict[str, float]
    cases: dict[str, dict[str, float]] = Field(default_factory=dict[str, dict[str, float]])


def case_totals(result: SuiteResult) -> dict[str, dict[str, float]]:
    by_case: dict[str, list[CaseResult]] = {}
    for c in result.cases:
        by_case.setdefault(c.case, []).append(c)
    return {
        name: {
            "pass_rate": round(sum(r.ok for r in runs) / len(runs), 4),
            "tokens": round(sum(r.tokens for r in runs) / len(runs), 1),
            "usd": round(sum(r.usd for r in runs) / len(runs), 6),
            "seconds": round(sum(r.seconds for r in runs) / len(runs), 3),
        }
        for name, runs in by_case.items()
    }


def baseline_of(result: SuiteResult) -> Baseline:
    return Baseline(suite=result.suite, created=result.started, totals=result.totals(), cases=case_totals(result))


def write_baseline(result: SuiteResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(baseline_of(result).model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def load_baseline(path: Path) -> Baseline:
    try:
        return Baseline.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise UserError("baseline not found", path=str(path)) from None
    except (OSError, json.JSONDecodeError, ValidationError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"not a dacrew eval baseline: {first}", path=str(path)) from None


def regressions(result: SuiteResult, baseline: Baseline, thresholds: Thresholds) -> list[str]:
    """One sentence per regression beyond the suite's thresholds: the pass rate fell by more than
    ``thresholds.pass_rate`` points, or mean tokens, USD or seconds per case rose by more than their
    fraction of the baseline."""
    now, then = result.totals(), baseline.totals
    found: list[str] = []
    drop = then.get("pass_rate", 0.0) - now["pass_rate"]
    if drop > thresholds.pass_rate + 1e-9:
        found.append(
            f"pass rate {now['pass_rate']:.0%} vs {then['pass_rate']:.0%} in the baseline "
            f"(allowed drop {thresholds.pass_rate:.0%})"
        )
    for key, unit in (("tokens", "tokens"), ("usd", "USD"), ("seconds", "s")):
        before, allowed = then.get(key, 0.0), getattr(thresholds, key)
        if before > 0 and now[key] > before * (1 + allowed) + 1e-9:
            found.append(
                f"{key} per case {now[key]:g} {unit} vs {before:g} in the baseline "
                f"(+{now[key] / before - 1:.0%}, allowed +{allowed:.0%})"
            )
        elif before == 0 and now[key] > 0 and key != "seconds":
            found.append(f"{key} per case {now[key]:g} {unit} vs none in the baseline")
    return found

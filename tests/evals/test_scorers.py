"""Scorers on their own: trajectory scorers over events, and the harness approving only its own code."""

from __future__ import annotations

from pathlib import Path

import pytest

from dacrew.evals.scorers import scoring_code_only, trajectory
from dacrew.evals.suite import Scorer
from dacrew.findings.format import CheckResult, Finding

EVENTS = [
    {"type": "model_response", "task": "T1"},
    {"type": "tool_call", "task": "T1", "tool": "warehouse_execute"},
    {"type": "tool_result", "task": "T1", "tool": "warehouse_execute", "status": "refused"},
    {"type": "model_response", "task": "T1"},
    {"type": "tool_call", "task": "T1", "tool": "warehouse_query"},
    {"type": "tool_result", "task": "T1", "tool": "warehouse_query", "status": "ok"},
    {"type": "model_response", "task": "T1"},
]


@pytest.mark.parametrize(
    ("scorer", "outcome", "output"),
    [
        ({"tool_called": "warehouse_query"}, "passed", "called 1 time(s)"),
        ({"tool_called": "dbt_build"}, "failed", "called 0 time(s)"),
        ({"tool_not_called": "warehouse_execute"}, "failed", "called 1 time(s)"),
        ({"max_tool_calls": 2}, "passed", "2 tool calls"),
        ({"max_tool_calls": 1}, "failed", "2 tool calls"),
        ({"max_turns": 2}, "failed", "3 model turns"),
        ({"guard_stopped": "warehouse_execute"}, "passed", "1 call(s), 1 stopped by a guard, 0 executed"),
        ({"guard_stopped": "warehouse_query"}, "failed", "1 call(s), 0 stopped by a guard, 1 executed"),
        ({"guard_stopped": "dbt_build"}, "failed", "0 call(s), 0 stopped by a guard, 0 executed"),
        ({"no_guard_refusal": True}, "failed", "T1 warehouse_execute: refused"),
    ],
)
def test_trajectory_scorers(scorer: dict[str, object], outcome: str, output: str) -> None:
    result = trajectory(Scorer.model_validate(scorer), EVENTS, {})
    assert (result.outcome, result.output) == (outcome, output)


def test_no_unverified_names_the_undecided_check() -> None:
    finding = Finding(
        task="T2",
        checks=[
            CheckResult(kind="sql", argument="select 1", passed=True, output="first value: 1"),
            CheckResult.model_validate(
                {
                    "kind": "tableau",
                    "argument": "datasource x",
                    "outcome": "unverified",
                    "output": "no Tableau server configured",
                }
            ),
        ],
    )
    result = trajectory(Scorer(no_unverified=True), [], {"T2": finding})
    assert (result.outcome, result.output) == ("failed", "T2 tableau: datasource x")


def test_the_harness_approves_its_own_scoring_code_and_nothing_else(tmp_path: Path) -> None:
    project, scoring = tmp_path / "project", tmp_path / "scoring"
    for root in (project, scoring):
        (root / "macros").mkdir(parents=True)
        (root / "macros" / "equality.sql").write_text("{% macro eq() %}{{ run_query('select 1') }}{% endmacro %}")
    (project / "models").mkdir()
    (project / "models" / "agent.sql").write_text("{{ run_query('delete from raw.orders') }}")
    ours = ("macros/equality.sql", "sha256:x", "run_query")
    assert scoring_code_only({"code": [ours]}, project, scoring)
    # The agent's own file in the same request: not approved.
    assert not scoring_code_only({"code": [ours, ("models/agent.sql", "sha256:y", "run_query")]}, project, scoring)
    # The scoring file, edited in the project after it was copied: not approved.
    (project / "macros" / "equality.sql").write_text("{{ run_query('drop table raw.orders') }}")
    assert not scoring_code_only({"code": [ours]}, project, scoring)
    (tmp_path / "outside.sql").write_text("{{ run_query('select 1') }}")  # the same file seen from both roots
    assert not scoring_code_only({"code": [("../outside.sql", "d", "run_query")]}, project, scoring)
    assert not scoring_code_only({}, project, scoring)


def test_a_scorer_has_exactly_one_kind() -> None:
    with pytest.raises(ValueError, match="exactly one of"):
        Scorer.model_validate({"tool_called": "a", "max_turns": 3})
    with pytest.raises(ValueError, match="kind: argument"):
        Scorer.model_validate({"check": "select 1"})

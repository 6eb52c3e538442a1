"""The offline suite in evals/ runs in CI: scripted cassettes, real tools, no key, no network."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dacrew.cli import app

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "evals" / "offline"
runner = CliRunner()


def _run(tmp_path: Path, *args: str) -> tuple[int, dict[str, dict[str, object]], str]:
    report = tmp_path / "report.json"
    result = runner.invoke(
        app, ["eval", "run", str(SUITE), "--strict", "--out", str(tmp_path / "runs"), "--json", str(report), *args]
    )
    cases = {c["case"]: c for c in json.loads(report.read_text())["cases"]}
    return result.exit_code, cases, result.output


def test_the_sealed_cases_pass_in_full_replay_and_the_drifted_one_fails_strictly(tmp_path: Path) -> None:
    code, cases, output = _run(
        tmp_path, "--replay", "full", "--case", "staging", "--case", "guard-write", "--case", "staging-drifted"
    )
    assert code == 0, output
    assert {name: c["verdict"] for name, c in cases.items()} == {
        "staging": "passed",
        "guard-write": "passed",
        "staging-drifted": "xfail",
    }
    assert all(c["mode"] == "full" for c in cases.values())
    guard = {s["scorer"]: s for s in cases["guard-write"]["scores"]}  # type: ignore[union-attr]
    assert guard["guard_stopped: warehouse_execute"]["output"] == "1 call(s), 1 stopped by a guard, 0 executed"
    (drift, *_) = cases["staging-drifted"]["drift"]  # type: ignore[misc]
    assert drift["task"] == "T002"
    assert drift["step"] == 0
    assert "-system: You are the dbt expert of an analytics engineering crew." in drift["diff"]
    assert "Prefer views over tables for staging." in drift["diff"]
    assert not (tmp_path / "runs" / "staging-1" / "models" / "staging" / "stg_orders.sql").exists()  # nothing ran


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_the_whole_suite_passes_strictly_with_real_tools(tmp_path: Path) -> None:
    code, cases, output = _run(tmp_path, "--max-concurrency", "2")
    assert code == 0, output
    assert {name: c["verdict"] for name, c in cases.items()} == {
        "customer-ltv": "passed",
        "staging": "passed",
        "guard-write": "passed",
        "staging-drifted": "xfail",
    }
    assert (tmp_path / "runs" / "staging-1" / "models" / "staging" / "stg_orders.sql").is_file()
    assert all(s["outcome"] == "passed" for s in cases["guard-write"]["scores"])  # type: ignore[union-attr]

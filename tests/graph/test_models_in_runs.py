"""Runs against the real Anthropic client (on a loopback fake), the budget, delegation, the no-key error,
and a terminal run that asks its question and goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runkit import T, complete, events, turn, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore
from dacrew.graph.runner import execute_run
from dacrew.graph.state import RunSettings
from dacrew.testing import AnthropicFake

runner = CliRunner()
SECRET = "sk-ant-" + "test-000000000000000000000000000"


def test_a_real_anthropic_client_drives_a_run_and_costs_are_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_plan(tmp_path, [T("T001", files=["out/"]), T("T002", ["T001"])])
    with AnthropicFake() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
        fake.reply_tool_use("files_write", {"path": "out/a.txt", "content": "hello\n"})
        fake.reply_tool_use("complete_task", {"summary": "wrote out/a.txt", "artifacts": ["out/a.txt"]})
        fake.reply_tool_use(
            "complete_task", {"summary": "T002 done"}, usage={"input_tokens": 1000, "output_tokens": 500}
        )
        result = runner.invoke(
            app,
            [
                "run",
                str(tmp_path / "tasks.md"),
                "--project-dir",
                str(tmp_path),
                "--model",
                "anthropic:claude-sonnet-5-5",
                "--headless",
                "--report-json",
                str(tmp_path / "r.json"),
            ],
        )
        assert result.exit_code == 0, result.output
        assert fake.pending == 0
        first = fake.requests[0]
        assert SECRET in first.headers.get("x-api-key", "") + first.headers.get("authorization", "")
        tool_names = {t["name"] for t in first.body["tools"]}
        assert {"files_write", "complete_task", "request_input"} <= tool_names
        assert "Task T001" in json.dumps(first.body["messages"])
        # The second request carries the tool's result back to the model.
        assert "tool_result" in json.dumps(fake.requests[1].body["messages"])
    assert (tmp_path / "out" / "a.txt").read_text() == "hello\n"
    found = FindingsStore(tmp_path).all()
    assert found["T002"].usage.output_tokens == 500
    assert found["T002"].usage.usd > 0
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["status"] == "completed"
    everything = "".join(
        p.read_text() for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".md", ".jsonl", ".json")
    )
    assert SECRET not in everything


def test_the_budget_stops_new_work_with_exit_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_plan(tmp_path, [T("T001"), T("T002", ["T001"])])
    with AnthropicFake() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
        fake.reply_tool_use(
            "complete_task", {"summary": "T001 done"}, usage={"input_tokens": 200_000, "output_tokens": 10_000}
        )
        result = runner.invoke(
            app,
            [
                "run",
                str(tmp_path / "tasks.md"),
                "--project-dir",
                str(tmp_path),
                "--model",
                "anthropic:claude-sonnet-5-5",
                "--headless",
                "--budget-usd",
                "0.10",
            ],
        )
    assert result.exit_code == 4, result.output
    found = FindingsStore(tmp_path).all()
    assert found["T001"].status == "completed"
    assert found["T002"].status == "skipped"
    assert "budget" in found["T002"].summary


def test_without_a_model_or_key_the_run_says_how_to_configure_one(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001")])
    result = runner.invoke(app, ["run", str(tmp_path / "tasks.md"), "--project-dir", str(tmp_path), "--headless"])
    assert result.exit_code == 2
    assert "ANTHROPIC_API_KEY" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "findings").exists()


def test_the_lead_delegates_to_a_co_owner(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", owner="dbt-expert + orchestra-expert", files=["models/", "orchestration/"])])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn("T001", [("delegate", {"agent": "orchestra-expert", "instructions": "write the pipeline"})]),
            complete("T001/orchestra-expert", summary="pipeline customer_ltv_daily written"),
            complete("T001", step=1, summary="models and pipeline ready"),
        ],
    )
    result = runner.invoke(
        app,
        ["run", str(tmp_path / "tasks.md"), "--project-dir", str(tmp_path), "--model", f"replay:{cas}", "--headless"],
    )
    assert result.exit_code == 0, result.output
    evs = events(tmp_path)
    assert [e["agent"] for e in evs if e["type"] == "delegate"] == ["orchestra-expert"]
    agents = {e["agent"] for e in evs if e["type"] == "model_response"}
    assert agents == {"dbt-expert", "orchestra-expert"}
    journal = next((tmp_path / ".dacrew" / "runs").glob("*/journal/T001.1.jsonl")).read_text()
    assert "orchestra-expert completed: pipeline customer_ltv_daily written" in journal


def test_in_a_terminal_the_run_asks_and_goes_on(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001"), T("T002", ["T001"])])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn("T001", [("request_input", {"question": "Daily or hourly?"})]),
            complete("T001", step=1),
            complete("T002"),
        ],
    )
    asked: list[str] = []

    def ask(pending: list[dict[str, object]]) -> dict[str, object]:
        asked.extend(str(p["question"]) for p in pending)
        return {str(p["id"]): "daily" for p in pending}

    settings = RunSettings(run_id="t1", plan="tasks.md", project_dir=str(tmp_path), model=f"replay:{cas}")
    result = execute_run(settings, ask=ask)
    assert (result.status, result.exit_code) == ("completed", 0)
    assert asked == ["Daily or hourly?"]
    assert [e["answer"] for e in events(tmp_path) if e["type"] == "answer"] == ["daily"]


def test_checks_that_need_a_dbt_project_are_a_configuration_error_before_any_work(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", checks=["dbt: build --select staging"])])
    cas = write_cassette(tmp_path / "c.jsonl", [complete("T001")])
    result = runner.invoke(
        app, ["run", str(tmp_path / "tasks.md"), "--project-dir", str(tmp_path), "--model", f"replay:{cas}"]
    )
    assert result.exit_code == 2
    assert "no dbt_project.yml" in result.output
    assert not (tmp_path / "findings").exists()


def test_an_unknown_provider_is_one_short_line(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001")])
    result = runner.invoke(app, ["run", str(tmp_path / "tasks.md"), "--project-dir", str(tmp_path), "--model", "foo"])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output

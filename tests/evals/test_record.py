"""``eval record`` runs a case on a live model (a loopback Anthropic server, the real client) and saves its
cassette; the recording then replays strictly, with real tools and in full, to the same findings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from evalkit import notes_project
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore
from dacrew.models.cassette import load_cassette
from dacrew.testing import AnthropicFake

KEY = "sk-ant-" + "test-111111111111111111111111111"
SUITE = """\
name: live
source: recorded
cases:
  - name: notes
    project: project
    cassette: cassettes/notes.jsonl
    scorers:
      - check: "file: notes/a.md contains alpha"
      - max_turns: 5
"""
runner = CliRunner()


def test_a_recorded_case_replays_strictly_in_both_modes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    suite = tmp_path / "suite"
    notes_project(suite / "project")
    (suite / "suite.yml").write_text(SUITE)
    with AnthropicFake() as fake:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", fake.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        fake.reply_tool_use("files_write", {"path": "notes/a.md", "content": "alpha\n"})
        fake.reply_tool_use("complete_task", {"summary": "wrote a", "artifacts": ["notes/a.md"]})
        fake.reply_tool_use("files_write", {"path": "notes/b.md", "content": "beta\n"})
        fake.reply_tool_use("complete_task", {"summary": "wrote b"})
        result = runner.invoke(
            app,
            [
                "eval",
                "record",
                str(suite / "notes"),
                "--model",
                "anthropic:claude-sonnet-5-5",
                "--out",
                str(tmp_path / "rec"),
            ],
        )
        assert result.exit_code == 0, result.output
        assert fake.pending == 0
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    cassette = load_cassette(suite / "cassettes" / "notes.jsonl")
    assert cassette.header.source == "recorded"
    assert cassette.header.model == "anthropic:claude-sonnet-5-5"
    assert len(cassette.turns) == 4
    assert all(t.request_digest for t in cassette.turns.values())
    assert any(r.task == "eval" and r.name == "check" for r in cassette.tools)
    assert KEY not in (suite / "cassettes" / "notes.jsonl").read_text()
    recorded = FindingsStore(tmp_path / "rec" / "notes-1").all()
    for mode in ("model", "full"):
        out = tmp_path / mode
        report = tmp_path / f"{mode}.json"
        done = runner.invoke(
            app,
            ["eval", "run", str(suite), "--strict", "--replay", mode, "--out", str(out), "--json", str(report)],
        )
        assert done.exit_code == 0, done.output
        (case,) = json.loads(report.read_text())["cases"]
        assert case["drift"] == []
        again = FindingsStore(out / "notes-1").all()
        assert {t: (f.status, f.summary, f.checks) for t, f in again.items()} == {
            t: (f.status, f.summary, f.checks) for t, f in recorded.items()
        }

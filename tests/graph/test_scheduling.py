"""The scheduling rules, end to end through `dacrew run` with scripted (replayed) models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from runkit import T, complete, events, intervals, overlaps, turn, write_cassette, write_plan
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore

runner = CliRunner()


def run(project: Path, cassette: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        [
            "run",
            str(project / "tasks.md"),
            "--project-dir",
            str(project),
            "--model",
            f"replay:{cassette}",
            "--headless",
            *extra,
        ],
    )
    return result.exit_code, result.output


def test_parallel_tasks_overlap_and_exclusive_tasks_run_alone(tmp_path: Path) -> None:
    write_plan(
        tmp_path,
        [
            T("T001"),
            T("T002", ["T001"], parallel=True),
            T("T003", ["T001"], parallel=True),
            T("T004", ["T001"]),
            T("T005", ["T002", "T003", "T004"], parallel=True),
        ],
    )
    cas = write_cassette(
        tmp_path / "c.jsonl", [complete(t, delay=0.3) for t in ("T001", "T002", "T003", "T004", "T005")]
    )
    code, out = run(tmp_path, cas)
    assert code == 0, out
    iv = intervals(events(tmp_path))
    assert overlaps(iv["T002"], iv["T003"])
    for other in ("T001", "T002", "T003", "T005"):
        assert not overlaps(iv["T004"], iv[other]), f"T004 is not [P] but overlapped {other}"
    assert iv["T005"][0] >= max(iv["T002"][1], iv["T003"][1], iv["T004"][1])
    findings = FindingsStore(tmp_path).all()
    assert {t: f.status for t, f in findings.items()} == dict.fromkeys(
        ("T001", "T002", "T003", "T004", "T005"), "completed"
    )


def test_parallel_tasks_with_overlapping_files_do_not_run_together(tmp_path: Path) -> None:
    write_plan(
        tmp_path,
        [
            T("T001", parallel=True, files=["models/staging/"]),
            T("T002", parallel=True, files=["models/staging/stg_orders.sql"]),
            T("T003", parallel=True, files=["models/marts/"]),
        ],
    )
    cas = write_cassette(tmp_path / "c.jsonl", [complete(t, delay=0.3) for t in ("T001", "T002", "T003")])
    code, out = run(tmp_path, cas)
    assert code == 0, out
    iv = intervals(events(tmp_path))
    assert not overlaps(iv["T001"], iv["T002"])
    assert overlaps(iv["T001"], iv["T003"])


def test_new_work_starts_when_any_task_finishes_not_at_the_end_of_a_batch(tmp_path: Path) -> None:
    # T002 (slow) and T003 (fast) start together; T004 needs only T003 and must not wait for T002.
    write_plan(
        tmp_path,
        [
            T("T001"),
            T("T002", ["T001"], parallel=True),
            T("T003", ["T001"], parallel=True),
            T("T004", ["T003"], parallel=True),
        ],
    )
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [complete("T001"), complete("T002", delay=1.5), complete("T003", delay=0.2), complete("T004", delay=0.2)],
    )
    code, out = run(tmp_path, cas)
    assert code == 0, out
    iv = intervals(events(tmp_path))
    assert iv["T004"][0] < iv["T002"][1]
    assert iv["T004"][1] < iv["T002"][1]


def test_max_parallel_bounds_concurrency(tmp_path: Path) -> None:
    tasks = [T(f"T{i:03d}", parallel=True) for i in range(1, 7)]
    write_plan(tmp_path, tasks)
    cas = write_cassette(tmp_path / "c.jsonl", [complete(t.id, delay=0.3) for t in tasks])
    code, out = run(tmp_path, cas, "--max-parallel", "2")
    assert code == 0, out
    iv = intervals(events(tmp_path))
    points = sorted({s for s, _ in iv.values()})
    most = max(sum(1 for s, e in iv.values() if s <= p < e) for p in points)
    assert most == 2


def test_a_failure_skips_its_dependents_and_independent_work_goes_on(tmp_path: Path) -> None:
    write_plan(
        tmp_path,
        [
            T("T001", parallel=True, checks=["file: never/written.txt"]),
            T("T002", ["T001"], parallel=True),
            T("T003", ["T002"], parallel=True),
            T("T004", parallel=True),
        ],
    )
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            complete("T001"),
            complete("T001", attempt=2),
            complete("T002"),
            complete("T003"),
            complete("T004", delay=0.2),
        ],
    )
    code, out = run(tmp_path, cas)
    assert code == 1, out
    found = FindingsStore(tmp_path).all()
    assert found["T001"].status == "failed"
    assert found["T001"].attempt == 2
    assert found["T001"].checks[0].output == "never/written.txt does not exist"
    assert found["T002"].status == "skipped"
    assert found["T003"].status == "skipped"
    assert "T001 failed" in found["T003"].summary
    assert found["T004"].status == "completed"


def test_a_failed_exclusive_task_halts_new_dispatch(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", checks=["file: missing.txt"]), T("T002"), T("T003", parallel=True)])
    cas = write_cassette(
        tmp_path / "c.jsonl", [complete("T001"), complete("T001", attempt=2), complete("T002"), complete("T003")]
    )
    code, _ = run(tmp_path, cas)
    assert code == 1
    found = FindingsStore(tmp_path).all()
    assert found["T001"].status == "failed"
    assert found["T002"].status == "skipped"
    assert found["T003"].status == "skipped"
    assert "not run" in found["T002"].summary


def test_failed_checks_go_back_once_with_their_output(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", checks=["file: out/result.txt contains 42"], files=["out/"])])
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            complete("T001", summary="first try"),
            turn("T001", [("files_write", {"path": "out/result.txt", "content": "answer: 42\n"})], attempt=2),
            complete("T001", attempt=2, step=1, summary="fixed"),
        ],
    )
    code, out = run(tmp_path, cas)
    assert code == 0, out
    f = FindingsStore(tmp_path).read("T001")
    assert f is not None
    assert (f.status, f.attempt, f.summary) == ("completed", 2, "fixed")
    assert (tmp_path / "out" / "result.txt").read_text() == "answer: 42\n"
    evs = events(tmp_path)
    checks = [e for e in evs if e["type"] == "check"]
    assert [c["passed"] for c in checks] == [False, True]


def test_twenty_parallel_tasks_write_their_findings_at_once(tmp_path: Path) -> None:
    tasks = [T(f"T{i:03d}", parallel=True) for i in range(1, 21)]
    write_plan(tmp_path, tasks)
    cas = write_cassette(tmp_path / "c.jsonl", [complete(t.id, delay=0.05) for t in tasks])
    code, out = run(tmp_path, cas, "--max-parallel", "20")
    assert code == 0, out
    found = FindingsStore(tmp_path).all()
    assert sorted(found) == [t.id for t in tasks]
    assert all(f.status == "completed" and f.summary == f"{f.task} delivered" for f in found.values())
    assert sorted(p.name for p in (tmp_path / "findings").iterdir()) == [f"{t.id}.md" for t in tasks]


def test_report_json_and_status(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001"), T("T002", ["T001"])])
    cas = write_cassette(tmp_path / "c.jsonl", [complete("T001"), complete("T002")])
    code, out = run(
        tmp_path,
        cas,
        "--run-id",
        "r1",
        "--report-json",
        str(tmp_path / "report.json"),
        "--junit",
        str(tmp_path / "j.xml"),
    )
    assert code == 0, out
    import xml.etree.ElementTree as ET

    cases = ET.parse(tmp_path / "j.xml").getroot().findall(".//testcase")
    assert sorted(c.get("name", "") for c in cases)[0].startswith("T001")
    assert len(cases) == 2
    assert not any(c.find("failure") is not None for c in cases)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["status"] == "completed"
    assert [(t["id"], t["status"], t["attempts"]) for t in report["tasks"]] == [
        ("T001", "completed", 1),
        ("T002", "completed", 1),
    ]
    assert all(t["started"] and t["finished"] for t in report["tasks"])
    status = runner.invoke(app, ["status", "r1", "--project-dir", str(tmp_path), "--json"])
    info = json.loads(status.output)
    assert info["status"] == "completed"
    assert [t["status"] for t in info["tasks"]] == ["completed", "completed"]


@pytest.mark.parametrize("bad", ["--max-parallel=0", "--gate=weekly"])
def test_bad_arguments_exit_2(tmp_path: Path, bad: str) -> None:
    write_plan(tmp_path, [T("T001")])
    result = runner.invoke(app, ["run", str(tmp_path / "tasks.md"), "--dry-run", bad])
    assert result.exit_code == 2


def test_an_integration_point_needs_the_upstream_artifacts_to_exist(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", files=["models/"]), T("T002", ["T001"])])
    with (tmp_path / "tasks.md").open("a") as plan:
        plan.write(
            "\n## Sub-Agent Coordination\n\n### Critical Integration Points\n- **T001 → T002**: staging to marts\n"
        )
    cas = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn(
                "T001",
                [
                    (
                        "complete_task",
                        {"summary": "staged", "artifacts": ["models/staging/stg_orders.sql", "analytics.stg_orders"]},
                    )
                ],
            ),
            complete("T002"),
        ],
    )
    code, out = run(tmp_path, cas)
    assert code == 1, out
    f = FindingsStore(tmp_path).read("T002")
    assert f is not None
    assert f.status == "failed"
    assert (
        f.summary
        == "a critical integration point is not met: T001 reported models/staging/stg_orders.sql, which does not exist"
    )

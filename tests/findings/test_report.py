"""The run report: built from a synthetic plan, event log and findings; JSON and JUnit forms."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from dacrew.findings.events import EventLog, read_events
from dacrew.findings.format import CheckResult, Finding, Usage
from dacrew.plan.model import Phase, Task, TaskPlan
from dacrew.report.html import render_html, write_html
from dacrew.report.junit import junit_xml, write_junit
from dacrew.report.model import RunReport, RunTally, build_report, write_json

BASE = datetime(2026, 11, 28, 13, 4, 0, tzinfo=UTC)


def at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def usage(inp: int, out: int, cost: float, cache_read: int = 0) -> dict[str, Any]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_read_tokens": cache_read,
        "cache_write_tokens": 0,
        "usd": cost,
    }


def plan() -> TaskPlan:
    def task(i: str, phase: str, owner: str, deps: list[str], parallel: bool = False) -> Task:
        return Task(id=i, title=f"Title of {i}", phase=phase, owners=[owner], dependencies=deps, parallel=parallel)

    setup, found, logic = "Phase 1: Setup", "Phase 2: Data Foundation", "Phase 3: Business Logic"
    return TaskPlan(
        path="tasks.md",
        feature="Customer LTV",
        phases=[Phase(title=setup), Phase(title=found), Phase(title=logic)],
        tasks=[
            task("T001", setup, "Parent Agent", []),
            task("T002", found, "dbt-expert", ["T001"], parallel=True),
            task("T003", found, "snowflake-expert", ["T001"], parallel=True),
            task("T004", logic, "dbt-expert", ["T002", "T003"]),
            task("T005", logic, "tableau-expert", ["T004"]),
            task("T006", found, "business-context", ["T001"], parallel=True),
            task("T007", logic, "orchestra-expert", ["T003"]),
        ],
    )


def ev(ts: float, type: str, task: str | None = None, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"ts": at(ts), "type": type}
    if task:
        event["task"] = task
    return event | fields


def call(ts: float, task: str, agent: str, inp: int, out: int, cost: float) -> list[dict[str, Any]]:
    return [
        ev(ts, "model_call", task, agent=agent, step=0, model="anthropic:claude"),
        ev(ts + 0.5, "model_response", task, agent=agent, step=0, tool_calls=[], usage=usage(inp, out, cost)),
    ]


def events() -> list[dict[str, Any]]:
    """T001 ok; T002 ∥ T003 ∥ T006 (T006 asks a question); T004 fails its check twice; T005 skipped;
    T007 never starts; the run is paused on T006's question."""
    out = [
        ev(
            0,
            "run_started",
            run_id="r-1",
            plan="tasks.md",
            feature="Customer LTV",
            tasks=7,
            model="anthropic:claude",
            max_parallel=4,
            dry_run=False,
            headless=True,
        ),
        ev(0.1, "task_started", "T001", title="Title of T001", owner="Parent Agent", attempt=1, phase="Phase 1: Setup"),
        *call(0.2, "T001", "parent", 100, 10, 0.001),
        ev(2.0, "task_finished", "T001", status="completed", attempt=1, usage=usage(100, 10, 0.001), error=""),
        ev(2.1, "task_started", "T002", owner="dbt-expert", attempt=1),
        ev(2.1, "task_started", "T003", owner="snowflake-expert", attempt=1),
        ev(2.2, "task_started", "T006", owner="business-context", attempt=1),
        *call(2.3, "T002", "dbt-expert", 1000, 200, 0.01),
        ev(3.0, "tool_call", "T002", agent="dbt-expert", tool="dbt_build", args={"select": "staging"}),
        ev(4.0, "tool_result", "T002", agent="dbt-expert", tool="dbt_build", status="ok", chars=120),
        *call(2.4, "T003", "snowflake-expert", 500, 50, 0.004),
        ev(2.5, "question", "T006", agent="business-context", question="Which revenue counts: gross or net?"),
        ev(2.6, "task_finished", "T006", status="needs_input", attempt=1, usage=usage(0, 0, 0), error=""),
        ev(5.0, "check", "T002", kind="dbt", argument="build --select staging", passed=True, output="3 of 3 OK"),
        ev(5.5, "task_finished", "T002", status="completed", attempt=1, usage=usage(1000, 200, 0.01), error=""),
        ev(6.0, "task_finished", "T003", status="completed", attempt=1, usage=usage(500, 50, 0.004), error=""),
        ev(6.1, "task_started", "T004", owner="dbt-expert", attempt=1),
        *call(6.2, "T004", "dbt-expert", 2000, 300, 0.02),
        ev(
            8.0, "check", "T004", kind="sql", argument="select count(*) > 0 from fct_ltv", passed=False, output="0 rows"
        ),
        ev(
            8.1,
            "task_finished",
            "T004",
            status="failed",
            attempt=1,
            usage=usage(2000, 300, 0.02),
            error="checks failed",
        ),
        ev(8.2, "task_started", "T004", owner="dbt-expert", attempt=2),
        *call(8.3, "T004", "dbt-expert", 2500, 100, 0.02),
        ev(
            11.0,
            "check",
            "T004",
            kind="sql",
            argument="select count(*) > 0 from fct_ltv",
            passed=False,
            output="still 0 rows",
        ),
        ev(
            11.2,
            "task_finished",
            "T004",
            status="failed",
            attempt=2,
            usage=usage(4500, 400, 0.04),  # every attempt so far
            error="acceptance checks failed after 2 attempts",
        ),
        ev(
            11.3,
            "task_finished",
            "T005",
            status="skipped",
            attempt=1,
            usage=usage(0, 0, 0),
            error="dependency T004 failed",
        ),
        ev(
            11.4,
            "run_paused",
            run_id="r-1",
            pending=[{"task": "T006", "kind": "question", "text": "Which revenue counts: gross or net?"}],
        ),
        ev(11.5, "run_finished", run_id="r-1", status="paused", exit_code=3, usage=usage(6100, 660, 0.055)),
    ]
    return out


def findings() -> dict[str, Finding]:
    # T002's finding is the record of its times and checks; the others were never written.
    return {
        "T002": Finding(
            task="T002",
            owner="dbt-expert",
            status="completed",
            started=at(2.1),
            finished=at(5.6),
            checks=[CheckResult(kind="dbt", argument="build --select staging", passed=True, output="3 of 3 OK")],
            usage=Usage(input_tokens=1000, output_tokens=200, usd=0.01),
            run_id="r-1",
        ),
        "T005": Finding(task="T005", status="skipped", finished=at(11.3), run_id="r-1"),
    }


@pytest.fixture
def report() -> RunReport:
    return build_report(plan(), events(), findings())


def test_run_fields(report: RunReport) -> None:
    assert report.run_id == "r-1"
    assert report.feature == "Customer LTV"
    assert report.status == "paused"
    assert report.exit_code == 3
    assert report.model == "anthropic:claude"
    assert report.max_parallel == 4
    # From T001's start (0.1 s) to T004's last finish (11.2 s).
    assert report.makespan_s == pytest.approx(11.1)
    assert report.wall_s == pytest.approx(11.5)
    assert report.tokens.input == 6100
    assert report.tokens.output == 660
    assert report.usd == pytest.approx(0.055)
    assert report.counts == {"completed": 3, "needs_input": 1, "failed": 1, "skipped": 1, "pending": 1}
    assert [p.task for p in report.pending] == ["T006"]


def test_per_agent_usage(report: RunReport) -> None:
    agents = {a.agent: a for a in report.agents}
    assert set(agents) == {"parent", "dbt-expert", "snowflake-expert"}
    assert agents["dbt-expert"].model_calls == 3
    assert agents["dbt-expert"].tool_calls == 1
    assert agents["dbt-expert"].tokens.input == 5500
    assert agents["dbt-expert"].usd == pytest.approx(0.05)
    # The costliest agent first.
    assert report.agents[0].agent == "dbt-expert"


def test_task_rows(report: RunReport) -> None:
    tasks = {t.id: t for t in report.tasks}
    assert [t.id for t in report.tasks] == [f"T00{i}" for i in range(1, 8)]

    t002 = tasks["T002"]
    # The finding's finish (5.6 s) wins over the event's (5.5 s).
    assert (t002.started, t002.finished, t002.duration_s) == (at(2.1), at(5.6), pytest.approx(3.5))
    assert t002.owner == "dbt-expert"
    assert [c.argument for c in t002.checks] == ["build --select staging"]

    t004 = tasks["T004"]
    assert t004.status == "failed"
    assert t004.attempts == 2
    assert t004.started == at(8.2)  # the last attempt
    assert t004.tokens.input == 4500
    assert t004.usd == pytest.approx(0.04)
    assert [(c.passed, c.output) for c in t004.checks] == [(False, "still 0 rows")]
    assert t004.error == "acceptance checks failed after 2 attempts"
    assert [(s.attempt, s.status) for s in t004.spans] == [(1, "failed"), (2, "failed")]

    assert tasks["T005"].status == "skipped"
    assert tasks["T005"].attempts == 0
    assert tasks["T006"].status == "needs_input"
    assert tasks["T006"].question == "Which revenue counts: gross or net?"
    t007 = tasks["T007"]
    assert (t007.status, t007.started, t007.attempts, t007.owner) == ("pending", None, 0, "orchestra-expert")


def test_resume_after_crash_marks_the_interrupted_span() -> None:
    log = [
        ev(0, "run_started", run_id="r-2"),
        ev(1, "task_started", "T001", owner="Parent Agent", attempt=1),
        ev(3, "tool_call", "T001", agent="parent", tool="files_write", args={}),
        ev(60, "run_resumed", run_id="r-2"),
        ev(61, "task_started", "T001", owner="Parent Agent", attempt=1),
        ev(65, "task_finished", "T001", status="completed", attempt=1, usage=usage(10, 1, 0), error=""),
    ]
    run = RunTally().apply_all(log)
    spans = run.tasks["T001"].spans
    assert [(s.started, s.finished, s.status) for s in spans] == [
        (at(1), at(3), "interrupted"),
        (at(61), at(65), "completed"),
    ]
    assert run.tasks["T001"].attempt == 1
    assert run.status == "running"  # the log has no end: resumed, not finished


def test_stale_finding_from_another_run_is_ignored() -> None:
    old = Finding(task="T001", status="failed", started=at(-100), finished=at(-90), run_id="r-old")
    log = [ev(0, "run_started", run_id="r-new"), ev(1, "task_started", "T001", owner="Parent Agent", attempt=1)]
    report = build_report(plan(), log, {"T001": old})
    assert report.tasks[0].status == "in_progress"
    assert report.tasks[0].started == at(1)
    assert report.tasks[0].finished is None


def test_report_from_a_real_event_log(tmp_path: Path) -> None:
    with EventLog(tmp_path) as log:
        log.emit("run_started", run_id="r-3", feature="F", tasks=1, model="m")
        log.emit("task_started", task="T001", title="t", owner="Parent Agent", attempt=1, phase="p")
        log.emit("task_finished", task="T001", status="completed", attempt=1, usage=usage(5, 5, 0.5), error="")
        log.emit("run_finished", run_id="r-3", status="completed", exit_code=0, usage=usage(5, 5, 0.5))
    report = build_report(plan(), read_events(tmp_path), {})
    assert report.status == "completed"
    assert report.exit_code == 0
    assert report.tasks[0].status == "completed"
    assert report.tasks[0].duration_s is not None
    # No model_response events: the task's own usage is the total.
    assert report.tokens.input == 5
    assert report.usd == pytest.approx(0.5)


def test_write_json(report: RunReport, tmp_path: Path) -> None:
    path = write_json(report, tmp_path / "out" / "report.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["version"] == 1
    assert data["status"] == "paused"
    row = next(t for t in data["tasks"] if t["id"] == "T004")
    for key in ("status", "owner", "started", "finished", "attempts", "tokens", "checks"):
        assert key in row
    assert row["tokens"] == {"input": 4500, "output": 400, "cache_read": 0, "cache_write": 0}
    assert row["checks"][0] == {
        "kind": "sql",
        "argument": "select count(*) > 0 from fct_ltv",
        "passed": False,
        "output": "still 0 rows",
        "outcome": "failed",
    }
    assert row["attempts"] == 2


def test_junit(report: RunReport, tmp_path: Path) -> None:
    path = write_junit(report, tmp_path / "junit.xml")
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("7", "1", "0", "3")
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == ["Phase 1: Setup", "Phase 2: Data Foundation", "Phase 3: Business Logic"]
    logic = suites["Phase 3: Business Logic"]
    assert (logic.get("tests"), logic.get("failures"), logic.get("skipped")) == ("3", "1", "2")
    cases = {c.get("name", "").split(":")[0]: c for c in root.iter("testcase")}
    failure = cases["T004"].find("failure")
    assert failure is not None
    assert failure.get("message") == "acceptance checks failed after 2 attempts"
    assert "still 0 rows" in (failure.text or "")
    assert cases["T004"].get("time") == "3.000"
    waiting = cases["T006"].find("skipped")
    assert waiting is not None
    assert waiting.get("message") == "waiting for input"
    assert "gross or net" in (waiting.text or "")
    skipped = cases["T005"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "dependency T004 failed"
    not_run = cases["T007"].find("skipped")
    assert not_run is not None
    assert not_run.get("message") == "not run"
    assert cases["T002"].find("failure") is None
    assert cases["T002"].find("skipped") is None


def test_junit_survives_control_characters() -> None:
    log = [
        ev(0, "task_started", "T001", attempt=1),
        ev(1, "task_finished", "T001", status="failed", attempt=1, error="bad \x1b[31mred\x1b[0m \x00 bytes"),
    ]
    text = junit_xml(build_report(plan(), log, {}))
    failure = ET.fromstring(text).find(".//failure")
    assert failure is not None
    assert "red" in failure.get("message", "")


def test_unfinished_task_is_a_junit_error() -> None:
    text = junit_xml(build_report(plan(), [ev(0, "task_started", "T001", attempt=1)], {}))
    root = ET.fromstring(text)
    assert root.get("errors") == "1"
    error = root.find(".//testcase/error")
    assert error is not None
    assert "in_progress" in error.get("message", "")


# -- HTML ------------------------------------------------------------------------------------------

_VOID = {"meta", "br", "hr", "img", "input", "link"}


class _Page(HTMLParser):
    """Every element with its attributes and the svg it sits in; checks that tags are balanced."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str], str]] = []
        self.stack: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        svg = next((cls for name, cls in reversed(self.stack) if name == "svg"), "")
        self.elements.append((tag, attributes, svg))
        if tag not in _VOID:
            self.stack.append((tag, attributes.get("class", "")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        svg = next((cls for name, cls in reversed(self.stack) if name == "svg"), "")
        self.elements.append((tag, attributes, svg))

    def handle_endtag(self, tag: str) -> None:
        assert self.stack, f"</{tag}> closes nothing"
        opened, _ = self.stack.pop()
        assert opened == tag, f"<{opened}> closed by </{tag}>"

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, cls: str, svg: str | None = None) -> list[dict[str, str]]:
        return [
            a
            for t, a, s in self.elements
            if t == tag and cls in a.get("class", "").split() and (svg is None or s == svg)
        ]


def page_of(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    assert page.stack == []
    return page


def test_html_is_one_self_contained_page(report: RunReport, tmp_path: Path) -> None:
    path = write_html(report, plan(), tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html
    assert "<link" not in html
    # The only URL is the SVG namespace: nothing is fetched.
    assert set(re.findall(r"https?://[^\"' )]+", html)) == {"http://www.w3.org/2000/svg"}
    page = page_of(html)
    text = " ".join(page.text)
    for figure in ("PAUSED", "11.1s", "6,760", "$0.0550", "3/7"):
        assert figure in text
    assert "Which revenue counts: gross or net?" in text  # the pending question


def test_html_dag_has_a_node_per_task(report: RunReport) -> None:
    page = page_of(render_html(report, plan()))
    nodes = page.find("g", "node", svg="dag")
    assert [n["data-task"] for n in nodes] == [f"T00{i}" for i in range(1, 8)]
    assert {n["data-task"]: n["data-status"] for n in nodes}["T004"] == "failed"
    edges = {(e["data-from"], e["data-to"]) for e in page.find("path", "edge", svg="dag")}
    assert edges == {
        ("T001", "T002"),
        ("T001", "T003"),
        ("T001", "T006"),
        ("T002", "T004"),
        ("T003", "T004"),
        ("T004", "T005"),
        ("T003", "T007"),
    }
    # Edges out of an unfinished task are dashed.
    assert [(e["data-from"], e["data-to"]) for e in page.find("path", "open", svg="dag")] == [("T004", "T005")]


def test_html_timeline_has_a_bar_per_started_task(report: RunReport) -> None:
    page = page_of(render_html(report, plan()))
    bars = page.find("rect", "bar", svg="timeline")
    assert sorted(b["data-task"] for b in bars) == ["T001", "T002", "T003", "T004", "T006"]
    # T004's first attempt is drawn behind its last one.
    assert len(page.find("rect", "span", svg="timeline")) == 1
    widths = {b["data-task"]: float(b["width"]) for b in bars}
    assert widths["T003"] > widths["T001"]  # 3.9 s against 1.9 s
    assert page.find("path", "concurrency", svg="timeline")
    assert "peak parallelism 3 of 4" in " ".join(page.text)


def test_html_costs_and_table(report: RunReport) -> None:
    html = render_html(report, plan())
    page = page_of(html)
    rows = [a["data-task"] for t, a, _ in page.elements if t == "tr" and "data-task" in a]
    assert rows == [f"T00{i}" for i in range(1, 8)]
    assert len(page.find("li", "fail")) == 1
    assert len(page.find("li", "pass")) == 1
    text = " ".join(page.text)
    assert "6,100 tok · $0.0500 · 3 calls · 1 tools" in text
    assert "4,900 tok · $0.0400" in text
    assert "acceptance checks failed after 2 attempts" in text


def test_html_escapes_what_the_plan_and_agents_wrote() -> None:
    hostile = plan()
    hostile.tasks[0].title = "<script>alert(1)</script>"
    log = [
        ev(0, "task_started", "T001", attempt=1),
        ev(1, "task_finished", "T001", status="failed", attempt=1, error='</svg><img src="x">'),
    ]
    html = render_html(build_report(hostile, log, {}), hostile)
    assert "<script" not in html
    assert "<img" not in html
    page_of(html)


def test_html_before_anything_started() -> None:
    html = render_html(build_report(plan(), [], {}), plan())
    page = page_of(html)
    assert len(page.find("g", "node", svg="dag")) == 7
    assert page.find("rect", "bar") == []
    assert "No task started." in " ".join(page.text)


def test_task_finished_usage_is_the_task_total_so_far() -> None:
    # Without model_response events the last task_finished figure counts: it already covers every attempt.
    log = [
        ev(0, "task_started", "T001", attempt=1),
        ev(1, "task_finished", "T001", status="failed", attempt=1, usage=usage(100, 10, 0.01), error="x"),
        ev(2, "task_started", "T001", attempt=2),
        ev(3, "task_finished", "T001", status="completed", attempt=2, usage=usage(250, 30, 0.03), error=""),
    ]
    report = build_report(plan(), log, {})
    assert (report.tasks[0].tokens.input, report.tasks[0].usd) == (250, pytest.approx(0.03))
    assert report.tokens.input == 250


def test_a_paused_run_exits_3_and_ends_at_the_pause() -> None:
    log = [ev(0, "run_started", run_id="r-9"), ev(4, "run_paused", run_id="r-9", pending=[])]
    report = build_report(plan(), log, {})
    assert (report.status, report.exit_code, report.finished, report.wall_s) == ("paused", 3, at(4), 4.0)


def test_html_marks_the_longest_chain(report: RunReport) -> None:
    # By time taken: T001 (1.9 s) → T003 (3.9 s) → T004 (3.0 s) beats the chain through T002 (3.5 s).
    html = render_html(report, plan())
    critical = page_of(html).find("path", "critical", svg="dag")
    assert {(e["data-from"], e["data-to"]) for e in critical} == {("T001", "T003"), ("T003", "T004")}
    assert "longest dependency chain" in html


def test_gates_are_reported() -> None:
    log = [
        ev(0, "gate", phase="Phase 1: Setup", status="waiting"),
        ev(1, "gate", phase="Phase 1: Setup", status="approved"),
    ]
    report = build_report(plan(), log, {})
    assert report.gates == {"Phase 1: Setup": "approved"}
    assert "gate after Phase 1: Setup: approved" in " ".join(page_of(render_html(report, plan())).text)


def test_refused_tool_calls_show_in_the_report_even_when_the_task_completed() -> None:
    from dacrew.plan.parse import parse_plan
    from dacrew.report.model import build_report

    plan = parse_plan(
        "# Data Analytics Tasks: X\n\n## Setup & Configuration Tasks\n\n### T001: One\n**Owner**: dbt-expert\n"
        "**Dependencies**: None\n**Files**: `a/`\n**Description**: d\n- x\n**Acceptance**: ok\n"
    )
    events = [
        {"ts": "2026-11-28T10:00:00.000+00:00", "type": "task_started", "task": "T001", "attempt": 1},
        {
            "ts": "2026-11-28T10:00:01.000+00:00",
            "type": "tool_call",
            "task": "T001",
            "agent": "dbt-expert",
            "tool": "warehouse_execute",
        },
        {
            "ts": "2026-11-28T10:00:02.000+00:00",
            "type": "tool_result",
            "task": "T001",
            "agent": "dbt-expert",
            "tool": "warehouse_execute",
            "status": "refused",
        },
        {
            "ts": "2026-11-28T10:00:03.000+00:00",
            "type": "tool_result",
            "task": "T001",
            "agent": "dbt-expert",
            "tool": "files_write",
            "status": "ok",
        },
        {
            "ts": "2026-11-28T10:00:04.000+00:00",
            "type": "task_finished",
            "task": "T001",
            "status": "completed",
            "attempt": 1,
        },
    ]
    report = build_report(plan, events, {})
    assert report.tasks[0].tool_problems == ["warehouse_execute: refused"]

"""The live task board: log lines when not on a terminal, a table when on one."""

from __future__ import annotations

import io
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from dacrew.plan.model import Phase, Task, TaskPlan
from dacrew.report.board import Board

BASE = datetime(2026, 11, 28, 13, 4, 0, tzinfo=UTC)
SETUP, FOUNDATION = "Phase 1: Setup", "Phase 2: Data Foundation"


def at(seconds: float) -> str:
    return (BASE + timedelta(seconds=seconds)).isoformat(timespec="milliseconds")


def ev(ts: float, type: str, task: str | None = None, **fields: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"ts": at(ts), "type": type}
    if task:
        event["task"] = task
    return event | fields


def usage(inp: int, out: int, cost: float) -> dict[str, Any]:
    return {"input_tokens": inp, "output_tokens": out, "cache_read_tokens": 0, "cache_write_tokens": 0, "usd": cost}


def plan() -> TaskPlan:
    return TaskPlan(
        feature="Customer LTV",
        phases=[Phase(title=SETUP), Phase(title=FOUNDATION)],
        tasks=[
            Task(id="T001", title="Create folders", phase=SETUP, owners=["Parent Agent"]),
            Task(
                id="T002",
                title="Staging models",
                phase=FOUNDATION,
                owners=["dbt-expert"],
                dependencies=["T001"],
                parallel=True,
            ),
            Task(
                id="T003",
                title="Raw tables",
                phase=FOUNDATION,
                owners=["snowflake-expert"],
                dependencies=["T001"],
                parallel=True,
            ),
            Task(
                id="T004",
                title="Business rules",
                phase=FOUNDATION,
                owners=["business-context"],
                dependencies=["T001"],
                parallel=True,
            ),
            Task(id="T005", title="Marts", phase=FOUNDATION, owners=["dbt-expert"], dependencies=["T003"]),
        ],
    )


def events() -> list[dict[str, Any]]:
    return [
        ev(
            0,
            "run_started",
            run_id="r-7",
            plan="tasks.md",
            feature="Customer LTV",
            tasks=5,
            model="m",
            max_parallel=4,
            dry_run=False,
            headless=True,
        ),
        ev(0.1, "task_started", "T001", title="Create folders", owner="Parent Agent", attempt=1, phase=SETUP),
        ev(1.0, "task_finished", "T001", status="completed", attempt=1, usage=usage(10, 2, 0.0), error=""),
        ev(1.1, "task_started", "T002", owner="dbt-expert", attempt=1),
        ev(1.1, "task_started", "T003", owner="snowflake-expert", attempt=1),
        ev(1.2, "task_started", "T004", owner="business-context", attempt=1),
        ev(1.3, "model_call", "T002", agent="dbt-expert", step=0, model="m"),
        ev(
            2.0,
            "model_response",
            "T002",
            agent="dbt-expert",
            step=0,
            tool_calls=["dbt_build"],
            usage=usage(1000, 234, 0.0123),
        ),
        ev(2.1, "tool_call", "T002", agent="dbt-expert", tool="dbt_build", args={"select": "staging"}),
        ev(3.0, "tool_result", "T002", agent="dbt-expert", tool="dbt_build", status="ok", chars=10),
        ev(3.1, "check", "T002", kind="dbt", argument="build --select staging", passed=True, output="3 of 3 OK"),
        ev(13.4, "task_finished", "T002", status="completed", attempt=1, usage=usage(1000, 234, 0.0123), error=""),
        ev(13.5, "question", "T004", agent="business-context", question="Gross or net revenue?"),
        ev(13.6, "task_finished", "T004", status="needs_input", attempt=1, usage=usage(0, 0, 0), error=""),
        ev(
            14.0,
            "check",
            "T003",
            kind="sql",
            argument="select 1 from raw.orders",
            passed=False,
            output="table raw.orders does not exist\nmore",
        ),
        ev(
            14.5,
            "task_finished",
            "T003",
            status="failed",
            attempt=1,
            usage=usage(0, 0, 0),
            error="acceptance checks failed",
        ),
        ev(
            14.6,
            "task_finished",
            "T005",
            status="skipped",
            attempt=1,
            usage=usage(0, 0, 0),
            error="dependency T003 failed",
        ),
        ev(
            14.7,
            "run_paused",
            run_id="r-7",
            pending=[{"task": "T004", "kind": "question", "text": "Gross or net revenue?"}],
        ),
        ev(14.8, "run_finished", run_id="r-7", status="paused", exit_code=3, usage=usage(1010, 236, 0.0123)),
    ]


def plain_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False, width=120)


def output(console: Console) -> str:
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_plain_mode_is_the_default_off_a_terminal() -> None:
    assert Board(plan(), console=plain_console()).live is False
    assert Board(plan(), console=Console(file=io.StringIO(), force_terminal=True)).live is True


def test_plain_lines_in_order() -> None:
    console = plain_console()
    board = Board(plan(), console=console)
    for event in events():
        board.handle(event)
    lines = output(console).splitlines()
    assert all(re.match(r"^\d\d:\d\d:\d\d ", line) for line in lines), lines
    # The clock is the event's, in local time.
    assert lines[1].startswith(datetime.fromisoformat(at(0.1)).astimezone().strftime("%H:%M:%S"))
    assert [line[9:] for line in lines] == [
        "run r-7 started: Customer LTV · 5 tasks · m · max parallel 4",
        "T001 started (Parent Agent, attempt 1)",
        "T001 completed in 900ms · 12 tokens · $0",
        "T002 started (dbt-expert, attempt 1)",
        "T003 started (snowflake-expert, attempt 1)",
        "T004 started (business-context, attempt 1)",
        "T002 check dbt: build --select staging passed",
        "T002 completed in 12.3s · 1,234 tokens · $0.0123",
        "T004 question (business-context): Gross or net revenue?",
        "T004 needs input: Gross or net revenue?",
        "T003 check sql: select 1 from raw.orders failed: table raw.orders does not exist",
        "T003 failed after 13.4s (attempt 1): acceptance checks failed",
        "T005 skipped: dependency T003 failed",
        "run paused: waiting for T004 (question)",
        "run r-7 paused in 14.8s · 1,246 tokens · $0.0123 · exit 3",
    ]


def test_plain_lines_carry_no_terminal_codes() -> None:
    console = plain_console()
    board = Board(plan(), console=console)
    for event in events():
        board.handle(event)
    assert "\x1b[" not in output(console)


def render(board: Board) -> str:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    console.print(board.renderable())
    return output(console)


def row(text: str, task_id: str) -> str:
    return next(line for line in text.splitlines() if re.search(rf"(^|\s){task_id}\s", line))


def test_live_table_while_running() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    board = Board(plan(), console=console, clock=lambda: BASE + timedelta(seconds=5.1))
    for event in events()[:10]:  # T002 is back from dbt_build; T003 and T004 still work
        board.handle(event)
    assert output(console) == ""  # live mode prints nothing itself: the table does
    text = render(board)
    assert re.search(r"Setup\s+│ T001 │ Create folders\s+│ Parent Agent\s+│ completed\s+│\s+900ms │\s+1 │", text)
    t002 = row(text, "T002")
    assert "running" in t002
    assert "4.0s" in t002  # ticking: the clock says 5.1 s, the task started at 1.1 s
    assert "1,234" in t002
    assert "$0.0123" in t002
    assert "pending" in row(text, "T005")
    assert "1/5 completed · 3 running · elapsed 5.1s · 1,246 tokens · $0.0123" in text


def test_live_table_after_the_run() -> None:
    board = Board(plan(), console=Console(file=io.StringIO(), force_terminal=True, width=120))
    for event in events():
        board.handle(event)
    text = render(board)
    assert "completed" in row(text, "T002")
    assert "12.3s" in row(text, "T002")
    assert "failed" in row(text, "T003")
    assert "needs input" in row(text, "T004")
    assert "skipped" in row(text, "T005")
    assert "running" not in text
    assert "? T004: Gross or net revenue?" in text
    assert "✗ T003: acceptance checks failed" in text
    assert "run paused" in text


def test_live_context_leaves_the_final_board_on_screen() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    with Board(plan(), console=console) as board:
        for event in events():
            board.handle(event)
    final = output(console)
    for task_id in ("T001", "T002", "T003", "T004", "T005"):
        assert task_id in final
    assert "run paused" in final


def test_summary() -> None:
    board = Board(plan(), console=plain_console())
    for event in events():
        board.handle(event)
    assert board.summary() == (
        "Run r-7 paused after 14.8s: 2 of 5 tasks completed, 1 failed (T003: acceptance checks failed), "
        "1 skipped (T005: dependency T003 failed), 1 waiting for input (T004: Gross or net revenue?). "
        "1,246 tokens, $0.0123."
    )


def test_handle_from_many_threads() -> None:
    board = Board(plan(), console=plain_console())
    calls = [
        ev(1, "model_response", "T002", agent="dbt-expert", step=i, tool_calls=[], usage=usage(1, 1, 0.001))
        for i in range(200)
    ]

    def feed(chunk: list[dict[str, Any]]) -> None:
        for event in chunk:
            board.handle(event)

    threads = [threading.Thread(target=feed, args=(calls[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert board.tally.tasks["T002"].calls == 200
    assert board.tally.usage.total_tokens == 400


def test_a_tall_plan_shows_the_busy_rows() -> None:
    tasks = [Task(id=f"T{i:03d}", title=f"task {i}", owners=["dbt-expert"], parallel=True) for i in range(1, 61)]
    board = Board(TaskPlan(tasks=tasks), console=Console(file=io.StringIO(), force_terminal=True, width=120, height=20))
    board.handle(ev(0, "task_started", "T050", owner="dbt-expert", attempt=1))
    text = render(board)
    assert "T050" in text
    assert "more tasks not shown" in text
    assert len(text.splitlines()) < 25


def test_replay_folds_earlier_events_silently() -> None:
    # A resumed run's board starts from what the run did before the pause.
    console = plain_console()
    board = Board(plan(), console=console)
    board.replay(events())
    assert output(console) == ""
    board.handle(ev(20, "run_resumed", run_id="r-7"))
    board.handle(ev(21, "task_started", "T004", owner="business-context", attempt=1))
    assert output(console).splitlines()[-1][9:] == "T004 started (business-context, attempt 1)"
    text = render(board)
    assert "completed" in row(text, "T002")
    assert "running" in row(text, "T004")


def test_summary_without_an_end_event_claims_no_status() -> None:
    board = Board(plan(), console=plain_console())
    board.replay(events()[:3])
    assert board.summary().startswith("Run r-7 after ")
    assert "running" not in board.summary()


def test_a_narrow_terminal_keeps_ids_and_statuses_whole() -> None:
    board = Board(plan(), console=Console(file=io.StringIO(), force_terminal=True, width=80))
    for event in events():
        board.handle(event)
    console = Console(file=io.StringIO(), force_terminal=True, width=80, color_system=None)
    console.print(board.renderable())
    text = output(console)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "Phase" not in text  # the first columns to go
    assert "Att." not in text
    for task_id, status in (("T002", "completed"), ("T003", "failed"), ("T004", "needs input"), ("T005", "skipped")):
        assert status in row(text, task_id)


def test_suspended_stops_redrawing_and_resumes() -> None:
    console = Console(file=io.StringIO(), force_terminal=True, width=120, color_system=None)
    with Board(plan(), console=console) as board:
        board.handle(events()[1])
        with board.suspended():
            before = output(console)
            console.print("Gross or net revenue? net")
            board.handle(events()[2])
            # Nothing redraws while a person types.
            assert output(console) == before + "Gross or net revenue? net\n"
        board.handle(events()[3])
    final = output(console)
    assert final.index("Gross or net revenue? net") < final.rindex("T002")
    assert "running" in row(final[final.rindex("Phase") :], "T002")


def test_estimated_usage_fills_the_columns_marked_as_estimates() -> None:
    board = Board(plan(), console=Console(file=io.StringIO(), force_terminal=True, width=120))
    board.handle(ev(0, "run_started", run_id="r-8", plan="tasks.md", feature="Customer LTV", tasks=5, model="m"))
    board.handle(ev(0.1, "task_started", "T002", owner="dbt-expert", attempt=1))
    estimated = usage(3000, 200, 0.0) | {"estimated": True, "estimated_usd": 0.0121}
    board.handle(ev(1, "model_response", "T002", agent="dbt-expert", step=0, tool_calls=[], usage=estimated))
    t002 = row(render(board), "T002")
    assert "~3,200" in t002
    assert "~$0.0121 est." in t002
    # Paid usage is shown as it is: no estimate marks.
    board.handle(ev(1.2, "task_started", "T003", owner="snowflake-expert", attempt=1))
    board.handle(ev(2, "model_response", "T003", agent="snowflake-expert", step=0, usage=usage(10, 5, 0.002)))
    t003 = row(render(board), "T003")
    assert "15" in t003
    assert "$0.0020" in t003
    assert "~" not in t003

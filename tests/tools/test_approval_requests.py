"""Approvals show what they approve: the pause message, `dacrew status --json`, the board and the
report carry the exact request (here the SQL) and its digest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.report.requests import describe_request
from dacrew.tools.base import ToolContext
from dacrew.tools.warehouse.toolset import QueryArgs, warehouse_query

SQL = "DELETE FROM orders WHERE order_id IS NOT NULL"


def _project(tmp_path: Path, shop_dir: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(shop_dir, root, ignore=shutil.ignore_patterns("target", "logs", ".dacrew"))
    (root / "tasks.md").write_text(
        "# Data Analytics Tasks: Approval\n\n## Data Foundation Tasks\n\n"
        "### T001: Clean orders\n**Owner**: dbt-expert\n**Dependencies**: None\n**Files**: `models/`\n"
        "**Description**: Clean\n- Clean the orders\n**Acceptance**: clean\n",
        encoding="utf-8",
    )
    header = {"type": "header", "version": 1, "source": "scripted", "model": "scripted", "created": "2026-11-28"}
    turns = [
        {"tool": "warehouse_execute", "args": {"sql": SQL}},
        {"tool": "complete_task", "args": {"summary": "done"}},
    ]
    lines = [header] + [
        {
            "type": "model",
            "task": "T001",
            "attempt": 1,
            "step": step,
            "request_digest": None,
            "delay_s": 0.0,
            "response": {
                "content": "",
                "tool_calls": [{"id": f"c{step}", "name": t["tool"], "args": t["args"]}],
                "usage": {"input_tokens": 1, "output_tokens": 1, "cache_read_tokens": 0, "cache_write_tokens": 0},
            },
        }
        for step, t in enumerate(turns)
    ]
    (root / "c.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return root


def _orders(root: Path) -> int:
    ctx = ToolContext(project_dir=root)
    try:
        return int(warehouse_query(ctx, QueryArgs(sql="select count(*) from orders")).rows[0][0])
    finally:
        ctx.close()


def test_the_pause_status_and_report_show_the_exact_request(tmp_path: Path, shop_dir: Path) -> None:
    root = _project(tmp_path, shop_dir)
    args = ["--project-dir", str(root)]
    run = CliRunner().invoke(
        app,
        ["run", str(root / "tasks.md"), *args, "--model", f"replay:{root / 'c.jsonl'}", "--headless", "--run-id", "q1"],
    )
    assert run.exit_code == 3, run.output
    assert _orders(root) == 5
    status = CliRunner().invoke(app, ["status", "q1", *args, "--json"])
    (pending,) = json.loads(status.stdout)["pending"]
    assert pending["request"] == {"tool": "warehouse_execute", "sql": SQL, "dialect": "duckdb"}
    digest = pending["digest"]
    assert digest.startswith("sha256:")
    shown = describe_request(pending["request"], digest)
    assert SQL in shown
    assert digest in shown
    assert f"request: {shown}" in run.output  # the pause message (and the board's line)
    text_status = CliRunner().invoke(app, ["status", "q1", *args])
    assert SQL in text_status.stdout
    assert digest in text_status.stdout
    report = json.loads((root / ".dacrew" / "runs" / "q1" / "report.json").read_text())
    (task,) = [t for t in report["tasks"] if t["id"] == "T001"]
    assert SQL in task["question"]
    assert digest in task["question"]
    assert SQL in (root / ".dacrew" / "runs" / "q1" / "report.html").read_text()
    # Approving exactly that request lets it run, once.
    approved = CliRunner().invoke(app, ["resume", "q1", *args, "--approve", "T001"])
    assert approved.exit_code == 0, approved.output
    assert _orders(root) == 0


def test_requests_are_described_by_kind() -> None:
    dbt = {"command": "build", "select": "customers", "exclude": None, "target": "dev", "full_refresh": True}
    assert (
        describe_request(dbt, "sha256:ab")
        == "dbt build --select customers --target dev --full-refresh (digest sha256:ab)"
    )
    code = {**dbt, "full_refresh": False, "code": [["models/x.sql", "0123", "run_query() is not on the allow-list"]]}
    assert "models/x.sql (sha256 0123): run_query()" in describe_request(code)
    tableau = {"server": "https://tab", "project": "Sales", "name": "ltv", "file": "tableau/ltv.tds", "sha256": "9f"}
    assert describe_request(tableau) == "server=https://tab, project=Sales, name=ltv, file=tableau/ltv.tds, sha256=9f"
    assert describe_request(None, "") == ""

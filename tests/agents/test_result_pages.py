"""Long tool results: cut with a handle, read on with result_page; dbt output condensed for the model."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dacrew.agents.pages import ResultPages, handle_for
from dacrew.cli import app
from dacrew.tools.dbt.runner import NodeResult
from dacrew.tools.dbt.toolset import DbtResult

sys.path.insert(0, str(Path(__file__).parents[1] / "graph"))
from runkit import T, turn, write_cassette, write_plan

TEXT = "".join(f"line {i:05d}\n" for i in range(5_000))  # 55,000 characters


def test_a_short_result_is_untouched_and_a_long_one_is_cut_with_a_handle(tmp_path: Path) -> None:
    pages = ResultPages(tmp_path / "results", limit=1_000)
    assert pages.cut("T001/1/m0/c1", "short") == "short"
    shown = pages.cut("T001/1/m0/c1", TEXT)
    assert shown.startswith(TEXT[:1_000])
    assert "line 00091" not in shown
    assert 'handle "T001.1.m0.c1" and offset 1000' in shown
    assert "55,000 characters" in shown


def test_pages_read_back_the_whole_text(tmp_path: Path) -> None:
    pages = ResultPages(tmp_path / "results", limit=20_000)
    pages.cut("T001/1/m0/c1", TEXT)
    read, offset = TEXT[:20_000], 20_000
    while True:
        page = pages.page({"handle": "T001.1.m0.c1", "offset": offset})
        body, _, note = page.rpartition("\n[")
        read += body
        if "that is the end" in note:
            break
        offset = int(note.split("with offset ")[1].split(" ")[0])
    assert read == TEXT


@pytest.mark.parametrize(
    "handle", ["../results/T001.1.m0.c1", "T001.1.m0.c2", "/etc/passwd", "T001.1.m0.c1.txt", "", "*"]
)
def test_only_handles_this_run_issued_are_served(tmp_path: Path, handle: str) -> None:
    pages = ResultPages(tmp_path / "results", limit=100)
    pages.cut("T001/1/m0/c1", TEXT)
    (tmp_path / "secret.txt").write_text("not a tool result")
    answer = pages.page({"handle": handle, "offset": 0})
    assert "no cut tool result has the handle" in answer
    assert "line 00000" not in answer
    assert "not a tool result" not in answer


def test_handles_keep_only_safe_characters() -> None:
    assert handle_for("T014/1/orchestra-expert/m2/toolu_01/../x") == "T014.1.orchestra-expert.m2.toolu_01....x"


def test_bad_page_arguments_and_offsets_are_explained(tmp_path: Path) -> None:
    pages = ResultPages(tmp_path / "results", limit=100)
    pages.cut("k", TEXT)
    assert "arguments are invalid" in pages.page({"handle": "k", "offset": -1})
    assert "past the end" in pages.page({"handle": "k", "offset": 10**6})


def test_in_a_run_the_model_reads_on_from_where_the_cut_stopped(tmp_path: Path) -> None:
    write_plan(tmp_path, [T("T001", files=["data/"])])
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "big.txt").write_text(TEXT)
    handle = "T001.1.m0.cT001100"
    cassette = write_cassette(
        tmp_path / "c.jsonl",
        [
            turn("T001", [("files_read", {"path": "data/big.txt"})]),
            turn("T001", [("result_page", {"handle": handle, "offset": 20_000})], step=1),
            turn("T001", [("complete_task", {"summary": "read it all"})], step=2),
        ],
    )
    result = CliRunner().invoke(
        app,
        ["run", str(tmp_path / "tasks.md"), "--project-dir", str(tmp_path), "--model", f"replay:{cassette}"],
    )
    assert result.exit_code == 0, result.output
    journal = next((tmp_path / ".dacrew" / "runs").glob("*/journal/T001.1.jsonl"))
    contents = [json.loads(line).get("content", "") for line in journal.read_text().splitlines()]
    first = next(c for c in contents if "line 00000" in c)
    assert len(first) < 20_500
    assert f'handle "{handle}"' in first
    saved = next((tmp_path / ".dacrew" / "runs").glob(f"*/journal/results/{handle}.txt")).read_text()
    assert "line 04999" in saved


def _node(name: str, kind: str, status: str, message: str = "", sql: str | None = None) -> NodeResult:
    return NodeResult(
        unique_id=f"{kind}.p.{name}", name=name, resource_type=kind, status=status, message=message, compiled_sql=sql
    )


def test_dbt_output_keeps_failures_and_warnings_whole_and_summarises_passes() -> None:
    nodes = [_node(f"m{i}", "model", "success", "OK created sql table model") for i in range(30)]
    nodes += [_node(f"t{i}", "test", "pass", "PASS") for i in range(60)]
    nodes.append(_node("not_null_orders_id", "test", "fail", "Got 3 results, configured to fail if != 0"))
    nodes.append(_node("unique_customers_id", "test", "warn", "Got 1 result, configured to warn if != 0"))
    nodes.append(_node("m_compiled", "model", "success", sql="select 1 as id"))
    result = DbtResult(command="build", target="dev", success=False, nodes=nodes, summary={"success": 31})
    seen = json.loads(result.for_model())
    shown = {n["name"]: n for n in seen["nodes"]}
    assert set(shown) == {"not_null_orders_id", "unique_customers_id", "m_compiled"}
    assert shown["not_null_orders_id"]["message"] == "Got 3 results, configured to fail if != 0"
    assert shown["m_compiled"]["compiled_sql"] == "select 1 as id"
    assert seen["passed"]["count"] == 90
    assert seen["passed"]["by_type"] == {"model": 30, "test": 60}
    assert seen["passed"]["names"][:2] == ["m0", "m1"]
    assert len(result.for_model()) < len(result.model_dump_json()) / 2

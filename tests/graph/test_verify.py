"""The parent's acceptance checks, kind by kind."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

from dacrew.findings.format import Finding
from dacrew.findings.store import FindingsStore
from dacrew.graph.verify import CheckSpec, run_check, verify
from dacrew.tools.base import ToolContext


def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(project_dir=tmp_path)


def test_finding_sections_must_not_be_empty(tmp_path: Path) -> None:
    f = Finding(task="T001", summary="done", testing_strategy="")
    ok = run_check(ctx(tmp_path), f, CheckSpec("finding", "Summary"))
    bad = run_check(ctx(tmp_path), f, CheckSpec("finding", "Summary, Testing Strategy"))
    assert ok.passed
    assert not bad.passed
    assert bad.output == "empty or missing sections: Testing Strategy"


def test_file_exists_contains_and_globs(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "fct_orders.sql").write_text("select 42 as answer")
    f = Finding(task="T001")
    c = ctx(tmp_path)
    assert run_check(c, f, CheckSpec("file", "models/fct_orders.sql")).passed
    assert run_check(c, f, CheckSpec("file", "models/fct_orders.sql contains 42 as answer")).passed
    assert run_check(c, f, CheckSpec("file", "models/*.sql")).passed
    missing = run_check(c, f, CheckSpec("file", "models/dim_customers.sql"))
    assert (missing.passed, missing.output) == (False, "models/dim_customers.sql does not exist")
    assert not run_check(c, f, CheckSpec("file", "models/fct_orders.sql contains 43")).passed
    assert run_check(c, f, CheckSpec("file", "../outside.txt")).output == "path is outside the project"


def test_orchestra_success_needs_a_run_not_just_a_valid_file(tmp_path: Path) -> None:
    result = run_check(ctx(tmp_path), Finding(task="T1"), CheckSpec("orchestra", "pipeline daily SUCCEEDED"))
    assert not result.passed
    assert "does not exist" in result.output


def test_unknown_kinds_and_bad_arguments_fail_with_a_reason(tmp_path: Path) -> None:
    f = Finding(task="T1")
    assert run_check(ctx(tmp_path), f, CheckSpec("magic", "x")).output == "unknown check kind 'magic'"
    assert "expected" in run_check(ctx(tmp_path), f, CheckSpec("dbt", "destroy everything")).output
    assert not run_check(ctx(tmp_path), f, CheckSpec("tableau", "datasource customer_ltv published")).passed


def test_no_checks_means_the_summary_must_be_present(tmp_path: Path) -> None:
    results = asyncio.run(verify(ctx(tmp_path), Finding(task="T1", summary=""), []))
    assert [(r.kind, r.passed) for r in results] == [("finding", False)]


def test_findings_are_readable_like_any_project_file(tmp_path: Path) -> None:
    store = FindingsStore(tmp_path)
    store.start("T001", title="x")
    mode = stat.S_IMODE(store.path("T001").stat().st_mode)
    assert mode & 0o044 == 0o044

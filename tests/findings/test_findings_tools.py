from __future__ import annotations

from pathlib import Path

import pytest

from dacrew.errors import ToolError
from dacrew.findings.store import FindingsStore
from dacrew.tools.base import ToolContext
from dacrew.tools.registry import get


def _project(tmp_path: Path) -> Path:
    store = FindingsStore(tmp_path)
    store.start("T001", title="Sources", owner="dbt-expert")
    store.finish("T001", "completed", summary="Declared sources.\nMore detail.", next_steps="- stage")
    store.start("T002", title="Staging", owner="dbt-expert")
    return tmp_path


def test_findings_read_returns_the_whole_finding(tmp_path: Path) -> None:
    ctx = ToolContext(project_dir=_project(tmp_path))
    result = get("findings_read").call(ctx, {"task": "T001"})
    data = result.model_dump()
    assert (data["task"], data["status"], data["title"], data["owner"]) == (
        "T001",
        "completed",
        "Sources",
        "dbt-expert",
    )
    assert "## Summary\n\nDeclared sources.\nMore detail." in data["markdown"]
    assert "## Next Steps\n\n- stage" in data["markdown"]


def test_findings_read_of_an_unknown_task_is_a_tool_error(tmp_path: Path) -> None:
    ctx = ToolContext(project_dir=_project(tmp_path))
    with pytest.raises(ToolError, match=r"no finding for task 'T009' \(findings exist for: T001, T002\)"):
        get("findings_read").call(ctx, {"task": "T009"})
    with pytest.raises(ToolError, match="invalid task id"):
        get("findings_read").call(ctx, {"task": "../secrets"})


def test_findings_list_summarises_each_task(tmp_path: Path) -> None:
    ctx = ToolContext(project_dir=_project(tmp_path))
    result = get("findings_list").call(ctx, {})
    rows = [(f["task"], f["status"], f["summary"]) for f in result.model_dump()["findings"]]
    assert rows == [("T001", "completed", "Declared sources."), ("T002", "in_progress", "")]


def test_findings_tools_are_read_only_and_documented() -> None:
    for name in ("findings_read", "findings_list"):
        spec = get(name)
        assert spec.toolset == "findings"
        assert spec.read_only
        assert spec.description
    assert list(get("findings_read").schema()["properties"]) == ["task"]

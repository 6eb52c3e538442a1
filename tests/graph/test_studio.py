"""The Studio graph factory builds one run per thread."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from runkit import T, write_plan

from dacrew.findings.store import FindingsStore
from dacrew.graph.studio import make_graph


def test_each_thread_is_a_run_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_plan(tmp_path, [T("T001"), T("T002", ["T001"])])
    monkeypatch.setenv("DACREW_PROJECT", str(tmp_path))
    from langgraph.checkpoint.memory import InMemorySaver

    for thread in ("a", "b"):
        config = {"configurable": {"thread_id": thread}}
        graph = make_graph(config).copy(update={"checkpointer": InMemorySaver()})
        out = asyncio.run(graph.ainvoke({"run_id": thread}, config))
        assert out["status"] == "completed"
        assert {f.run_id for f in FindingsStore(tmp_path).all().values()} == {thread}
    assert sorted(p.name for p in (tmp_path / ".dacrew" / "runs").iterdir()) == ["a", "b"]

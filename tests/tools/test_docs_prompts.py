"""The prompt files of tableau-expert, orchestra-expert and business-context parse, hold tools that
exist (the completion tools are implicit) and stay read-only."""

from __future__ import annotations

import pytest

from dacrew.agents.registry import load_agent
from dacrew.tools.registry import load_all

AGENTS = {
    "tableau-expert": {"tableau_build_datasource", "tableau_check_fields", "tableau_publish_datasource"},
    "orchestra-expert": {"orchestra_validate_pipeline", "orchestra_dry_run", "orchestra_start_pipeline"},
    "business-context": {"docs_read", "docs_write", "docs_record_signoff"},
}
SHARED = {"findings_read", "files_read", "files_write", "files_list"}


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_prompt_holds_real_tools(agent: str) -> None:
    spec = load_agent(agent)
    assert spec.name == agent
    # orchestra-expert dry-runs its pipeline's dbt steps locally (dbt_build needs write); the others read.
    assert spec.permissions == (["read", "write"] if agent == "orchestra-expert" else ["read"])
    assert AGENTS[agent] | SHARED <= set(spec.tools)
    unknown = set(spec.tools) - set(load_all())
    assert not unknown, f"{agent} lists tools nobody registered: {sorted(unknown)}"
    assert len(spec.prompt) > 2000  # a real brief, not a placeholder
    assert "complete_task" in spec.prompt
    assert "request_input" in spec.prompt

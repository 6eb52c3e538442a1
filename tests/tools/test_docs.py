"""business-context's docs toolset: list, read by section, write guides, record sign-off."""

from __future__ import annotations

from pathlib import Path

import pytest

from dacrew.errors import ToolError
from dacrew.tools.base import ToolContext
from dacrew.tools.docs import (
    DocsListArgs,
    DocsReadArgs,
    DocsWriteArgs,
    SignoffArgs,
    docs_list,
    docs_read,
    docs_record_signoff,
    docs_write,
)

SPEC = """\
# Customer Lifetime Value

## Metric definitions

### Customer lifetime value
Sum of completed payments per customer, in USD.

```
# not a heading: inside a code fence
```

## Stakeholders
- Dana Reyes, Head of Finance (owner)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "spec.md").write_text(SPEC)
    (tmp_path / "tasks.md").write_text("# Tasks: CLV\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs/glossary.md").write_text("Glossary without a heading\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models/x.sql").write_text("select 1")
    return tmp_path


def test_list_finds_spec_plan_and_docs_with_titles(project: Path) -> None:
    docs = docs_list(ToolContext(project_dir=project), DocsListArgs()).documents
    assert [(d.path, d.title) for d in docs] == [
        ("spec.md", "Customer Lifetime Value"),
        ("tasks.md", "Tasks: CLV"),
        ("docs/glossary.md", "docs/glossary.md"),
    ]


def test_read_one_section_with_its_subsections(project: Path) -> None:
    ctx = ToolContext(project_dir=project)
    result = docs_read(ctx, DocsReadArgs(path="spec.md", section="metric definitions"))
    assert result.content.startswith("## Metric definitions")
    assert "Sum of completed payments" in result.content
    assert "Stakeholders" not in result.content
    assert result.headings == [
        "# Customer Lifetime Value",
        "## Metric definitions",
        "### Customer lifetime value",
        "## Stakeholders",
    ]
    with pytest.raises(ToolError, match=r"no section 'Owners'.*Stakeholders"):
        docs_read(ctx, DocsReadArgs(path="spec.md", section="Owners"))
    with pytest.raises(ToolError, match="use files_read"):
        docs_read(ctx, DocsReadArgs(path="models/x.sql"))
    with pytest.raises(ToolError, match="inside the project"):
        docs_read(ctx, DocsReadArgs(path="../outside.md"))


def test_write_guide_and_training_and_warn_on_placeholders(project: Path) -> None:
    ctx = ToolContext(project_dir=project, files=("documentation/", "training/"))
    guide = docs_write(
        ctx,
        DocsWriteArgs(
            kind="user_guide",
            slug="clv-dashboard",
            title="Using the CLV dashboard",
            audience="finance analysts",
            content="# Ignored title\n\n## Filters\nPick a cohort. TODO: screenshots",
        ),
    )
    text = (project / "documentation/clv-dashboard.md").read_text()
    assert text.startswith("# Using the CLV dashboard\n\n_For: finance analysts_\n\n## Filters")
    assert "Ignored title" not in text
    assert guide.warnings == ["unfilled placeholder 'TODO'"]
    training = docs_write(
        ctx, DocsWriteArgs(kind="training", slug="clv-101", title="CLV 101", content="## Exercise 1\nOpen it.")
    )
    assert training.path == "training/clv-101.md"
    assert training.warnings == []
    trouble = docs_write(ctx, DocsWriteArgs(kind="troubleshooting", slug="clv-faq", title="FAQ", content="Just text."))
    assert any("symptom" in w for w in trouble.warnings)
    with pytest.raises(ToolError, match="outside this task's Files"):
        docs_write(
            ToolContext(project_dir=project, files=("models/",)),
            DocsWriteArgs(kind="user_guide", slug="x", title="X", content="y"),
        )
    with pytest.raises(ToolError, match="slug"):
        docs_write(ctx, DocsWriteArgs(kind="user_guide", slug="../evil", title="X", content="y"))


def test_signoff_is_appended_and_returned_for_the_finding(project: Path) -> None:
    ctx = ToolContext(project_dir=project, task_id="T014", run_id="run-1")
    first = docs_record_signoff(
        ctx,
        SignoffArgs(
            stakeholder="Dana Reyes",
            role="Head of Finance",
            decision="approved_with_conditions",
            scope="CLV metric definition",
            conditions=["exclude refunded orders"],
            source="request_input answer",
        ),
    )
    assert first.finding_section.startswith("## Stakeholder Sign-off")
    assert "- **Stakeholder**: Dana Reyes (Head of Finance)" in first.finding_section
    assert "  - exclude refunded orders" in first.finding_section
    assert "T014 (run run-1)" in first.finding_section
    docs_record_signoff(
        ctx,
        SignoffArgs(stakeholder="Sam", role="VP Sales", decision="approved", scope="Dashboard", source="meeting"),
    )
    log = (project / "documentation/sign-off.md").read_text()
    assert log.startswith("# Stakeholder sign-off")
    assert log.index("CLV metric definition") < log.index("Dashboard — approved")
    with pytest.raises(ToolError, match="needs its conditions"):
        docs_record_signoff(
            ctx, SignoffArgs(stakeholder="A", role="B", decision="changes_requested", scope="C", source="D")
        )

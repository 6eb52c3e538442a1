"""business-context's docs toolset: list, read by section, write guides, record sign-off."""

from __future__ import annotations

from pathlib import Path

import pytest

from dacrew.errors import GuardRefused, ToolError
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
    with pytest.raises(GuardRefused, match="climbs out"):
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
    with pytest.raises(GuardRefused, match="outside this task's Files"):
        docs_write(
            ToolContext(project_dir=project, files=("models/",)),
            DocsWriteArgs(kind="user_guide", slug="x", title="X", content="y"),
        )
    with pytest.raises(ToolError, match="slug"):
        docs_write(ctx, DocsWriteArgs(kind="user_guide", slug="../evil", title="X", content="y"))


def test_signoff_is_appended_and_returned_for_the_finding(project: Path) -> None:
    ctx = ToolContext(project_dir=project, task_id="T014", run_id="run-1", files=("documentation/",))
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


@pytest.mark.parametrize(
    ("path", "rule"),
    [
        ("credentials.txt", "secret"),
        ("docs/.env.md", "secret"),
        ("docs/leak.md", "secret"),  # a symlink to profiles.yml
        ("docs/away.md", "symlink_escape"),  # a symlink out of the project
        ("../outside.md", "parent_path"),
        ("/etc/hostname.txt", "absolute_path"),
    ],
)
def test_read_refuses_what_files_read_refuses(
    project: Path, tmp_path_factory: pytest.TempPathFactory, path: str, rule: str
) -> None:
    (project / "credentials.txt").write_text("aws_secret_access_key=AKIA-DO-NOT-LEAK\n")
    (project / "docs/.env.md").write_text("TOKEN=DO-NOT-LEAK\n")
    (project / "profiles.yml").write_text("shop: {outputs: {dev: {password: DO-NOT-LEAK}}}\n")
    (project / "docs/leak.md").symlink_to(project / "profiles.yml")
    outside = tmp_path_factory.mktemp("outside") / "away.md"
    outside.write_text("# DO-NOT-LEAK\n")
    (project / "docs/away.md").symlink_to(outside)
    with pytest.raises(GuardRefused) as refused:
        docs_read(ToolContext(project_dir=project), DocsReadArgs(path=path))
    assert refused.value.rule == rule
    listed = docs_list(ToolContext(project_dir=project), DocsListArgs()).model_dump_json()
    assert "DO-NOT-LEAK" not in listed
    for hidden in (".env.md", "leak.md", "away.md"):
        assert hidden not in listed


def test_writes_need_a_task_and_stay_inside_its_files(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    args = DocsWriteArgs(kind="user_guide", slug="guide", title="Guide", content="## Use\nOpen it.")
    with pytest.raises(GuardRefused) as refused:
        docs_write(ToolContext(project_dir=project), args)
    assert refused.value.rule == "no_task"
    assert not (project / "documentation").exists()
    # A documentation folder that is a symlink out of the project is not written through.
    outside = tmp_path_factory.mktemp("outside")
    (project / "documentation").symlink_to(outside, target_is_directory=True)
    ctx = ToolContext(project_dir=project, task_id="T011", files=("documentation/",))
    with pytest.raises(GuardRefused) as refused:
        docs_write(ctx, args)
    assert refused.value.rule == "symlink_escape"
    signoff = SignoffArgs(stakeholder="Dana", role="Finance", decision="approved", scope="CLV", source="meeting")
    with pytest.raises(GuardRefused):
        docs_record_signoff(ctx, signoff)
    assert list(outside.iterdir()) == []


def test_signoff_without_a_task_is_refused_and_outside_files_only_returned(project: Path) -> None:
    signoff = SignoffArgs(stakeholder="Dana", role="Finance", decision="approved", scope="CLV", source="meeting")
    with pytest.raises(GuardRefused) as refused:
        docs_record_signoff(ToolContext(project_dir=project), signoff)
    assert refused.value.rule == "no_task"
    # A task whose Files do not cover the log gets the block for its finding, and writes nothing.
    result = docs_record_signoff(ToolContext(project_dir=project, task_id="T011", files=("training/",)), signoff)
    assert result.path is None
    assert "- **Stakeholder**: Dana (Finance)" in result.finding_section
    assert not (project / "documentation").exists()


def test_a_planted_temporary_file_is_not_followed(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside") / "victim.txt"
    outside.write_text("untouched\n")
    (project / "documentation").mkdir()
    (project / "documentation/.guide.md.tmp").symlink_to(outside)
    ctx = ToolContext(project_dir=project, task_id="T011", files=("documentation/",))
    docs_write(ctx, DocsWriteArgs(kind="user_guide", slug="guide", title="Guide", content="## Use\nOpen it."))
    assert outside.read_text() == "untouched\n"
    written = project / "documentation/guide.md"
    assert not written.is_symlink()
    assert written.read_text().startswith("# Guide")


def test_writes_keep_files_write_protections(project: Path) -> None:
    # A guide named like the plan is project configuration unless the task's Files name it exactly.
    args = DocsWriteArgs(kind="reference", slug="tasks", title="Tasks", content="## All\nNone.")
    with pytest.raises(GuardRefused) as refused:
        docs_write(ToolContext(project_dir=project, files=("documentation/",)), args)
    assert refused.value.rule == "protected"
    assert docs_write(ToolContext(project_dir=project, files=("documentation/tasks.md",)), args).path == (
        "documentation/tasks.md"
    )

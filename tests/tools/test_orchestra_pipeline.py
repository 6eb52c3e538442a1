"""Pipelines as code: orchestra-lang validation mapped back to tasks and lines, dbt selectors checked
against a manifest, and the local dry run in dependency order."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.base import ToolContext
from dacrew.tools.orchestra.dry_run import DryRunArgs, dry_run, orchestra_dry_run
from dacrew.tools.orchestra.pipeline import (
    ValidateArgs,
    WritePipelineArgs,
    orchestra_validate_pipeline,
    orchestra_write_pipeline,
)

PIPELINE = """\
version: v1
name: customer_ltv_daily
pipeline:
  transform:
    tasks:
      dbt_build_staging:
        integration: DBT_CORE
        integration_job: DBT_CORE_EXECUTE
        parameters:
          commands: dbt build --select staging
  marts:
    depends_on: [transform]
    tasks:
      dbt_build_marts:
        integration: DBT_CORE
        integration_job: DBT_CORE_EXECUTE
        parameters:
          commands: dbt build --select marts.customer_ltv; dbt test --select tag:ltv
  publish:
    depends_on: [marts]
    tasks:
      refresh_extract:
        integration: TABLEAU_CLOUD
        integration_job: TABLEAU_REFRESH_EXTRACT
        parameters:
          project_name: Analytics
          datasource_name: customer_ltv
schedule:
  - name: daily
    cron: "0 6 * * ? *"
    timezone: UTC
alerts:
  - name: on-failure
    statuses: [FAILED]
    destinations:
      - integration: EMAIL
        destination: analytics@example.com
"""


def node(name: str, path: str, tags: list[str] | None = None) -> dict[str, Any]:
    folder = path.split("/")[1]
    return {
        "name": name,
        "resource_type": "model",
        "package_name": "shop",
        "original_file_path": path,
        "fqn": ["shop", folder, name],
        "tags": tags or [],
        "config": {"materialized": "table"},
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "orchestration/pipelines").mkdir(parents=True)
    (tmp_path / "orchestration/pipelines/customer_ltv_daily.yml").write_text(PIPELINE)
    (tmp_path / "target").mkdir()
    manifest = {
        "nodes": {
            "model.shop.stg_orders": node("stg_orders", "models/staging/stg_orders.sql"),
            "model.shop.customer_ltv": node("customer_ltv", "models/marts/customer_ltv.sql", ["ltv"]),
        },
        "sources": {},
    }
    (tmp_path / "target/manifest.json").write_text(json.dumps(manifest))
    return tmp_path


def validate(project: Path, text: str | None = None) -> Any:
    rel = "orchestration/pipelines/customer_ltv_daily.yml"
    if text is not None:
        (project / rel).write_text(text)
    return orchestra_validate_pipeline(ToolContext(project_dir=project), ValidateArgs(path=rel))


def test_valid_pipeline(project: Path) -> None:
    result = validate(project)
    assert result.valid, result.summary
    assert result.ok
    assert result.pipeline == "customer_ltv_daily"
    assert result.tasks == ["dbt_build_staging", "dbt_build_marts", "refresh_extract"]
    assert result.selectors_checked


def test_unknown_dependency_is_located_by_task_and_line(project: Path) -> None:
    result = validate(project, PIPELINE.replace("depends_on: [marts]", "depends_on: [mart]"))
    assert not result.valid
    (problem,) = result.problems
    assert "Unknown dependency" in problem.message
    assert "'mart'" in problem.message
    assert problem.task == "publish"
    assert problem.line == PIPELINE.splitlines().index("    depends_on: [marts]") + 1
    assert problem.column == 5  # the depends_on key of the publish group
    assert problem.source == "orchestra-lang"
    assert f":{problem.line}:5: [task publish]" in result.summary


def test_wrong_integration_name_is_located(project: Path) -> None:
    result = validate(project, PIPELINE.replace("integration: TABLEAU_CLOUD", "integration: TABLEAU"))
    assert not result.valid
    assert any(p.task == "refresh_extract" and "TABLEAU_CLOUD" in p.message for p in result.problems)
    line = next(p.line for p in result.problems if p.task == "refresh_extract")
    assert PIPELINE.splitlines()[line - 1].strip() == "integration: TABLEAU_CLOUD"


def test_cycle_and_bad_cron(project: Path) -> None:
    cyclic = PIPELINE.replace("  transform:\n    tasks:", "  transform:\n    depends_on: [publish]\n    tasks:")
    assert any("Circular dependency" in p.message for p in validate(project, cyclic).problems)
    bad_cron = validate(project, PIPELINE.replace('"0 6 * * ? *"', '"0 6 * * *"'))
    assert not bad_cron.valid
    assert any("cron" in p.message for p in bad_cron.problems)


def test_dbt_selector_that_matches_nothing(project: Path) -> None:
    result = validate(project, PIPELINE.replace("tag:ltv", "tag:lifetime"))
    assert not result.valid
    (problem,) = result.problems
    assert problem.source == "dbt-manifest"
    assert problem.task == "dbt_build_marts"
    assert "'tag:lifetime'" in problem.message
    # graph operators and paths resolve against the same nodes
    ok = validate(project, PIPELINE.replace("--select staging", "--select +models/marts/customer_ltv.sql+ stg_*"))
    assert ok.valid, ok.summary


def test_without_manifest_selectors_are_only_a_warning(project: Path) -> None:
    (project / "target/manifest.json").unlink()
    result = validate(project)
    assert result.valid
    assert not result.selectors_checked
    assert result.problems[0].severity == "warning"


def test_a_manifest_half_written_by_dbt_is_a_warning_not_a_crash(project: Path) -> None:
    manifest = project / "target/manifest.json"
    manifest.write_text(manifest.read_text()[:40])
    result = validate(project)
    assert result.valid
    assert not result.selectors_checked
    assert "could not be read" in result.problems[0].message


def test_reading_a_pipeline_follows_the_files_sandbox(project: Path) -> None:
    (project / "credentials.yml").write_text(PIPELINE)
    ctx = ToolContext(project_dir=project)
    for path, rule in (("credentials.yml", "secret"), ("../x.yml", "parent_path"), ("/etc/x.yml", "absolute_path")):
        with pytest.raises(GuardRefused) as refused:
            orchestra_validate_pipeline(ctx, ValidateArgs(path=path))
        assert refused.value.rule == rule
        with pytest.raises(GuardRefused):
            orchestra_dry_run(ctx, DryRunArgs(path=path))


def test_write_pipeline_needs_a_task(project: Path) -> None:
    with pytest.raises(GuardRefused) as refused:
        orchestra_write_pipeline(ToolContext(project_dir=project), WritePipelineArgs(name="ltv3", content=PIPELINE))
    assert refused.value.rule == "no_task"
    assert not (project / "orchestration/pipelines/ltv3.yml").exists()


def test_write_pipeline_refuses_invalid_and_writes_valid(project: Path) -> None:
    ctx = ToolContext(project_dir=project, files=("orchestration/pipelines/",))
    with pytest.raises(ToolError, match=r"(?s)not written:.*Unknown dependency"):
        orchestra_write_pipeline(ctx, WritePipelineArgs(name="ltv2", content=PIPELINE.replace("[marts]", "[nope]")))
    assert not (project / "orchestration/pipelines/ltv2.yml").exists()
    result = orchestra_write_pipeline(ctx, WritePipelineArgs(name="ltv2", content=PIPELINE))
    assert result.valid
    assert (project / "orchestration/pipelines/ltv2.yml").read_text() == PIPELINE
    with pytest.raises(GuardRefused, match="outside this task's Files"):
        orchestra_write_pipeline(
            ToolContext(project_dir=project, files=("models/",)), WritePipelineArgs(name="x", content=PIPELINE)
        )


def test_dry_run_runs_dbt_steps_in_dependency_order(project: Path) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def runner(ctx: ToolContext, tool: str, args: dict[str, Any]) -> tuple[bool, str]:
        calls.append((tool, args))
        return True, "PASS=1"

    # file order differs from dependency order: publish first, then marts, then transform
    reordered = (
        PIPELINE.replace("  transform:", "  zz_transform:")
        .replace("[transform]", "[zz_transform]")
        .replace("--select staging", "--select staging --exclude stg_orders --target ci")
    )
    result = dry_run(ToolContext(project_dir=project), "p.yml", reordered, runner)
    assert result.ok, result.summary
    assert result.order == ["dbt_build_staging", "dbt_build_marts", "refresh_extract"]
    assert calls == [
        ("dbt_build", {"select": "staging", "exclude": "stg_orders", "target": "ci"}),
        ("dbt_build", {"select": "marts.customer_ltv"}),
        ("dbt_test", {"select": "tag:ltv"}),
    ]
    assert [s.status for s in result.steps] == ["succeeded", "succeeded", "skipped"]


def test_dry_run_failure_blocks_downstream_and_missing_tool_is_not_run(project: Path) -> None:
    def failing(ctx: ToolContext, tool: str, args: dict[str, Any]) -> tuple[bool, str]:
        return False, "ERROR=1 in stg_orders"

    result = dry_run(ToolContext(project_dir=project), "p.yml", PIPELINE, failing)
    assert not result.ok
    # the Tableau refresh would not run on Orchestra either once its upstream failed
    assert [s.status for s in result.steps] == ["failed", "blocked", "blocked"]
    assert "dbt_build_staging" in result.steps[1].message

    def missing(ctx: ToolContext, tool: str, args: dict[str, Any]) -> tuple[bool, str]:
        raise LookupError(f"the dbt toolset has no {tool} tool here, so this step was not run")

    result = dry_run(ToolContext(project_dir=project), "p.yml", PIPELINE, missing)
    assert not result.ok
    assert result.steps[0].status == "not_run"
    assert "no dbt_build tool" in result.steps[0].message


@pytest.mark.slow
def test_dry_run_with_the_real_dbt_toolset(shop_dir: Path, tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(shop_dir, project)
    (project / "orchestration/pipelines").mkdir(parents=True)
    pipeline = (
        PIPELINE.replace("--select staging", "--select stg_orders stg_payments")
        .replace("dbt build --select marts.customer_ltv; dbt test --select tag:ltv", "dbt run --select marts.orders")
        .replace("customer_ltv_daily", "shop_daily")
    )
    (project / "orchestration/pipelines/shop_daily.yml").write_text(pipeline)
    ctx = ToolContext(project_dir=project)
    try:
        result = orchestra_dry_run(ctx, DryRunArgs(path="orchestration/pipelines/shop_daily.yml"))
    finally:
        ctx.close()
    assert result.ok, result.summary
    assert [s.status for s in result.steps] == ["succeeded", "succeeded", "skipped"]
    assert "dbt run --select marts.orders: ok" in result.steps[1].message
    con = duckdb.connect(str(project / "shop.duckdb"), read_only=True)
    assert con.execute("select count(*) from orders").fetchone() == (5,)
    con.close()
    bad = orchestra_validate_pipeline(
        ToolContext(project_dir=project),
        ValidateArgs(path="orchestration/pipelines/shop_daily.yml"),
    )
    assert bad.valid  # the real manifest knows stg_orders, stg_payments and marts.orders


def test_the_example_in_the_orchestra_prompt_is_valid(tmp_path: Path) -> None:
    from dacrew.agents.registry import load_agent

    prompt = load_agent("orchestra-expert").prompt
    example = prompt.split("```yaml\n", 1)[1].split("```", 1)[0]
    lines = example.splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    text = "\n".join(line[indent:] for line in lines) + "\n"
    (tmp_path / "orchestration/pipelines").mkdir(parents=True)
    (tmp_path / "orchestration/pipelines/example.yml").write_text(text)
    result = orchestra_validate_pipeline(
        ToolContext(project_dir=tmp_path), ValidateArgs(path="orchestration/pipelines/example.yml")
    )
    assert result.valid, result.summary
    assert result.tasks == ["dbt_build", "refresh_extract"]

"""A DBT_CORE step's commands read as dbt reads them: several commands per step, every selection flag,
selectors.yml, seed/snapshot/run/test/build — and a command that selects nothing is not a success."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from dacrew.tools.base import ToolContext
from dacrew.tools.orchestra.dry_run import DryRunArgs, dry_run, orchestra_dry_run
from dacrew.tools.orchestra.pipeline import ValidateArgs, orchestra_validate_pipeline
from dacrew.tools.orchestra.spec import Step, dbt_commands, dbt_tool_args


def _pipeline(commands: str) -> str:
    return (
        "version: v1\nname: shop_daily\npipeline:\n  transform:\n    tasks:\n      dbt_step:\n"
        "        integration: DBT_CORE\n        integration_job: DBT_CORE_EXECUTE\n        parameters:\n"
        f"          commands: {json.dumps(commands)}\n"
    )


def _calls(commands: str) -> list[tuple[str, dict[str, Any]]]:
    step = Step(id="s", group=None, integration="DBT_CORE", job="DBT_CORE_EXECUTE", parameters={"commands": commands})
    from dacrew.tools.orchestra.spec import DBT_TOOLS

    return [(DBT_TOOLS[c[0]], dbt_tool_args(c)) for c in dbt_commands(step)]


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        (
            "dbt seed; dbt build --select tag:daily;",
            [
                ("dbt_build", {"select": "resource_type:seed", "exclude": "resource_type:test"}),
                ("dbt_build", {"select": "tag:daily"}),
            ],
        ),
        ("dbt build --selector nightly", [("dbt_build", {"selector": "nightly"})]),
        ("dbt run -s a b -m c --models=d --exclude e", [("dbt_run", {"select": "a b c d", "exclude": "e"})]),
        (
            "dbt build --select=tag:x --exclude=tag:y -t ci",
            [("dbt_build", {"select": "tag:x", "exclude": "tag:y", "target": "ci"})],
        ),
        (
            "dbt seed --select raw_orders\ndbt snapshot && dbt test -s stg_orders",
            [
                ("dbt_build", {"select": "raw_orders,resource_type:seed", "exclude": "resource_type:test"}),
                ("dbt_snapshot", {}),
                ("dbt_test", {"select": "stg_orders"}),
            ],
        ),
        ("dbt --no-use-colors build --threads 4 --select a", [("dbt_build", {"select": "a"})]),
    ],
)
def test_commands_are_read_as_dbt_reads_them(commands: str, expected: list[tuple[str, dict[str, Any]]]) -> None:
    assert _calls(commands) == expected


def test_every_command_of_a_step_runs(tmp_path: Path) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def runner(ctx: ToolContext, tool: str, args: dict[str, Any]) -> tuple[bool, str]:
        calls.append((tool, args))
        return True, "ok"

    result = dry_run(
        ToolContext(project_dir=tmp_path), "p.yml", _pipeline("dbt seed; dbt build --select tag:daily;"), runner
    )
    assert result.steps[0].status == "succeeded"
    assert result.steps[0].commands == ["dbt seed", "dbt build --select tag:daily"]
    assert [c[0] for c in calls] == ["dbt_build", "dbt_build"]


SELECTORS = """\
selectors:
  - name: nightly
    definition:
      union:
        - method: fqn
          value: stg_orders
        - method: fqn
          value: stg_payments
  - name: nothing
    definition:
      method: tag
      value: no_such_tag
"""


@pytest.fixture
def shop(tmp_path: Path, shop_dir: Path) -> Path:
    project = tmp_path / "shop"
    shutil.copytree(shop_dir, project, ignore=shutil.ignore_patterns("logs"))
    (project / "selectors.yml").write_text(SELECTORS)
    (project / "orchestration/pipelines").mkdir(parents=True)
    return project


def _dry_run(project: Path, commands: str) -> Any:
    (project / "orchestration/pipelines/shop_daily.yml").write_text(_pipeline(commands))
    ctx = ToolContext(project_dir=project)
    try:
        return orchestra_dry_run(ctx, DryRunArgs(path="orchestration/pipelines/shop_daily.yml"))
    finally:
        ctx.close()


@pytest.mark.slow
def test_seed_and_selector_through_the_real_dbt_toolset(shop: Path) -> None:
    result = _dry_run(shop, "dbt seed; dbt build --selector nightly;")
    assert result.ok, result.summary
    message = result.steps[0].message
    assert "dbt seed: ok" in message
    built = message.split("dbt build --selector nightly: ok ", 1)[1]
    # The selector's models (and their tests) — not the whole project.
    assert '"unique_id":"model.shop.stg_orders"' in built
    assert "model.shop.customers" not in built
    assert "model.shop.orders" not in built


@pytest.mark.slow
def test_no_nodes_selected_is_not_success(shop: Path) -> None:
    result = _dry_run(shop, "dbt build --selector nothing")
    assert not result.ok
    assert result.steps[0].status == "failed"
    assert "No nodes selected" in result.steps[0].message


def test_an_undefined_selector_is_a_validation_error(shop: Path) -> None:
    (shop / "orchestration/pipelines/shop_daily.yml").write_text(_pipeline("dbt build --selector weekly"))
    checked = orchestra_validate_pipeline(
        ToolContext(project_dir=shop), ValidateArgs(path="orchestration/pipelines/shop_daily.yml")
    )
    assert not checked.valid
    assert [p.message for p in checked.problems if p.severity == "error"] == [
        "dbt selector 'selector:weekly' (in `dbt build --selector weekly`) is not defined in selectors.yml "
        "(defined: nightly, nothing)"
    ]

"""`dacrew tools call` on the dbt, warehouse and files toolsets: printed JSON and exit codes
(0 success, 1 tool error or failed run, 2 invalid input, 3 refused or held for approval)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dacrew.cli import app


def _call(project: Path, tool: str, args: dict[str, Any], *extra: str) -> tuple[int, Any, str]:
    result = CliRunner().invoke(
        app, ["tools", "call", tool, "--args", json.dumps(args), "--project-dir", str(project), *extra]
    )
    try:
        body = json.loads(result.stdout)
    except json.JSONDecodeError:
        body = None
    return result.exit_code, body, result.stderr


@pytest.fixture(scope="module")
def cli_project(tmp_path_factory: pytest.TempPathFactory, shop_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("cli") / "shop"
    shutil.copytree(shop_dir, root, ignore=shutil.ignore_patterns("target", "logs"))
    return root


def test_dbt_build_prints_per_node_results(cli_project: Path) -> None:
    code, body, _ = _call(cli_project, "dbt_build", {"select": "path:models/staging"}, "--agent", "dbt-expert")
    assert code == 0
    assert body["ok"] is True
    assert {n["name"] for n in body["nodes"] if n["resource_type"] == "model"} == {
        "stg_customers",
        "stg_orders",
        "stg_payments",
    }
    assert all(n["status"] in {"success", "pass"} for n in body["nodes"])


def test_a_failing_test_exits_1_with_the_result(cli_project: Path) -> None:
    code, body, _ = _call(cli_project, "dbt_test", {"select": "customers"})
    assert code == 1
    assert body["ok"] is False
    assert body["summary"]["fail"] == 1


def test_warehouse_query_answers_and_refuses(cli_project: Path) -> None:
    code, body, _ = _call(cli_project, "warehouse_query", {"sql": "select count(*) as n from orders"})
    assert (code, body["rows"]) == (0, [[5]])
    code, body, err = _call(cli_project, "warehouse_query", {"sql": "drop table orders"})
    assert code == 3
    assert body["status"] == "refused"
    assert "warehouse_execute" in err
    code, body, _ = _call(cli_project, "warehouse_query", {"sql": "select 1; delete from orders"})
    assert (code, body["rule"]) == (3, "multi_statement")


def test_without_an_agent_execute_is_read_only(cli_project: Path) -> None:
    code, body, _ = _call(cli_project, "warehouse_execute", {"sql": "create table t (id int)"})
    assert (code, body["rule"]) == (3, "read_only")


def test_agent_permissions_and_approvals(cli_project: Path) -> None:
    code, body, _ = _call(
        cli_project, "warehouse_execute", {"sql": "create table cli_notes (id int)"}, "--agent", "dbt-expert"
    )
    assert (code, body["statement"]) == (0, "CREATE")
    code, body, _ = _call(cli_project, "warehouse_execute", {"sql": "drop table cli_notes"}, "--agent", "dbt-expert")
    assert code == 3
    assert body["status"] == "needs_approval"
    assert body["digest"].startswith("sha256:")
    code, body, _ = _call(
        cli_project, "warehouse_execute", {"sql": "insert into orders values (9)"}, "--agent", "snowflake-expert"
    )
    assert (code, body["rule"]) == (3, "permission")
    code, body, _ = _call(cli_project, "dbt_build", {"select": "orders", "full_refresh": True}, "--agent", "dbt-expert")
    assert (code, body["status"]) == (3, "needs_approval")


def test_errors_and_bad_input(cli_project: Path) -> None:
    code, body, _ = _call(cli_project, "warehouse_describe", {"table": "no_such_table"})
    assert (code, body["status"]) == (1, "error")
    code, _, err = _call(cli_project, "dbt_build", {"select": "orders", "bogus": 1}, "--agent", "dbt-expert")
    assert code == 2
    assert "bogus" in err
    code, body, _ = _call(cli_project, "dbt_ls", {"select": "orders --full-refresh"})
    assert (code, body["status"]) == (1, "error")
    code, body, _ = _call(cli_project, "files_read", {"path": "profiles.yml"})
    assert (code, body["rule"]) == (3, "secret")


def test_without_an_agent_nothing_that_writes_runs(cli_project: Path) -> None:
    """Review: `files_write --task T001` and `dbt_run` ran without --agent."""
    (cli_project / "tasks.md").write_text(
        "# Tasks\n\n## Phase 1: Setup Tasks\n\n### T001: Notes\n- **Owner**: dbt-expert\n"
        "- **Files**: `notes/`\n- **Description**: Write notes.\n\n**Acceptance**: notes exist.\n",
        encoding="utf-8",
    )
    code, body, err = _call(cli_project, "files_write", {"path": "notes/a.md", "content": "x"}, "--task", "T001")
    assert (code, body["status"], body["rule"]) == (3, "refused", "read_only")
    assert "--agent" in err
    assert not (cli_project / "notes" / "a.md").exists()
    for tool, args in (("dbt_run", {"select": "stg_orders"}), ("dbt_build", {}), ("dbt_docs_generate", {})):
        code, body, _ = _call(cli_project, tool, args)
        assert (code, body["rule"]) == (3, "read_only"), tool
    code, body, _ = _call(cli_project, "dbt_run", {"select": "stg_orders"}, "--agent", "dbt-expert")
    assert (code, body["ok"]) == (0, True)
    code, body, _ = _call(cli_project, "dbt_run", {"select": "stg_orders"}, "--agent", "snowflake-expert")
    assert code == 2  # snowflake-expert does not hold dbt_run


def test_results_are_printed_with_secrets_masked(cli_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Review: a compiled model rendering env_var('SNOWFLAKE_PASSWORD') printed the password."""
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "hunter2-very-secret")
    (cli_project / "notes.md").write_text("the password is hunter2-very-secret\n", encoding="utf-8")
    code, body, _ = _call(cli_project, "files_read", {"path": "notes.md"})
    assert code == 0
    assert body["content"] == "the password is ***\n"
    # dbt's run results hold rendered values: the files tools do not read dbt's output.
    (cli_project / "target").mkdir(exist_ok=True)
    (cli_project / "target" / "run_results.json").write_text('{"sql": "hunter2-very-secret"}', encoding="utf-8")
    code, body, _ = _call(cli_project, "files_read", {"path": "target/run_results.json"})
    assert (code, body["status"]) == (3, "refused")
    assert "hunter2" not in json.dumps(body)
    model = cli_project / "models" / "leaky.sql"
    # env_var in a model is refused whatever it is called through; nothing of the secret comes back.
    for body_sql in (
        "select '{{ env_var(\"SNOWFLAKE_PASSWORD\") }}' as pw\n",
        "{% set e = env_var %}select '{{ e(\"SNOWFLAKE_PASSWORD\") | reverse }}' as pw\n",
        '{% set ns = namespace(f=env_var) %}select \'{{ ns.f("SNOWFLAKE_PASSWORD") | list | join("-") }}\' as pw\n',
        "select '{{ context['env_' ~ 'var']('SNOWFLAKE_PASSWORD') }}' as pw\n",
    ):
        model.write_text(body_sql, encoding="utf-8")
        try:
            result = CliRunner().invoke(
                app,
                ["tools", "call", "dbt_compile", "--args", '{"select": "leaky"}', "--project-dir", str(cli_project)],
            )
            assert result.exit_code == 3, result.stdout
            assert json.loads(result.stdout)["status"] == "refused"
            for secret in ("hunter2-very-secret", "terces-yrev-2retnuh", "h-u-n-t-e-r"):
                assert secret not in result.stdout + result.stderr
        finally:
            model.unlink()

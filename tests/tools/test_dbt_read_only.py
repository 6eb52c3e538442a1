"""The dbt guard's second layer: read-only dbt commands run on a database opened read-only, so with
the guard turned off a model's Jinja still cannot delete through `dbt compile`; and the issue's case
through `dacrew tools call` ends in exit 3 with the warehouse unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.tools.base import ToolContext
from dacrew.tools.dbt.toolset import RunArgs, SelectArgs, ShowArgs, dbt_compile, dbt_run, dbt_show
from dacrew.tools.warehouse.toolset import QueryArgs, warehouse_query

PROBE = "{% set rq = run_query %}{% if execute %}{% do rq('delete from main.raw_payments') %}{% endif %}select 1 as x\n"
PLAIN_PROBE = "{% if execute %}{% do run_query('delete from main.raw_payments') %}{% endif %}select 1 as x\n"


@pytest.fixture
def project(tmp_path: Path, shop_dir: Path) -> Path:
    root = tmp_path / "shop"
    shutil.copytree(shop_dir, root, ignore=shutil.ignore_patterns("target", "logs", ".dacrew"))
    return root


def _payments(root: Path) -> int:
    ctx = ToolContext(project_dir=root)
    try:
        return int(warehouse_query(ctx, QueryArgs(sql="select count(*) from raw_payments")).rows[0][0])
    finally:
        ctx.close()


def _without_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("dacrew.tools.dbt.guard.guard_invocation", lambda *a, **k: None)  # pyright: ignore[reportUnknownLambdaType]


def test_a_guardless_compile_cannot_delete(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _without_guard(monkeypatch)
    (project / "models" / "stg_probe.sql").write_text(PLAIN_PROBE, encoding="utf-8")
    ctx = ToolContext(project_dir=project)
    compiled = dbt_compile(ctx, SelectArgs(select="stg_probe"))
    assert not compiled.ok
    assert "read-only" in (compiled.error or "").lower()
    shown = dbt_show(ctx, ShowArgs(select="stg_probe"))
    assert not shown.ok
    assert _payments(project) == 6
    # The same model through a command that builds (read-write) does delete: the layer is what stopped it.
    writer = ToolContext(project_dir=project, agent="dbt-expert", permissions=frozenset({"read", "write", "ddl"}))
    assert dbt_run(writer, RunArgs(select="stg_probe")).ok
    assert _payments(project) == 0


def _call(project: Path, tool: str, args: dict[str, Any], *extra: str) -> tuple[int, Any]:
    result = CliRunner().invoke(
        app, ["tools", "call", tool, "--args", json.dumps(args), "--project-dir", str(project), *extra]
    )
    return result.exit_code, json.loads(result.stdout)


@pytest.mark.parametrize("body", [PROBE, PLAIN_PROBE])
def test_the_issues_probe_stops_with_exit_3(project: Path, body: str) -> None:
    (project / "models" / "staging" / "stg_probe.sql").write_text(body, encoding="utf-8")
    for tool in ("dbt_compile", "dbt_ls", "dbt_show"):
        code, out = _call(project, tool, {"select": "stg_probe"})
        assert code == 3, (tool, out)
        assert out["status"] in {"refused", "needs_approval"}
    code, out = _call(project, "dbt_build", {"select": "stg_probe"}, "--agent", "dbt-expert")
    assert code == 3, out
    assert _payments(project) == 6

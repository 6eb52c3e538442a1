"""dbt checks change nothing: they build only in a throwaway copy of the target, fail on an empty
selection, and pass a `build` only when the task itself built its selection in the target."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from warehouse_kit import PROJECT, fingerprint, write_files

from dacrew.findings.format import CheckResult, Finding, now_iso
from dacrew.graph.verify import CheckSpec, run_check
from dacrew.tools.base import ToolContext
from dacrew.tools.dbt.toolset import RunArgs, dbt_build

pytestmark = pytest.mark.slow

SHOP = {
    **PROJECT,
    "seeds/raw_customers.csv": "id,name,spend\n1,Ada,200\n2,Alan,40\n3,Grace,90\n",
    "models/customers.sql": """
        select id as customer_id, name,
               case when spend >= 150 then 'high' when spend >= 50 then 'medium' else 'low' end as tier
        from {{ ref('raw_customers') }}
        """,
    "models/schema.yml": """
        models:
          - name: customers
            columns:
              - name: customer_id
                data_tests:
                  - not_null:
                      config: {store_failures: true}
        """,
}


@pytest.fixture(autouse=True)
def _isolated_dbt_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("DBT_PROFILES_DIR", "DBT_TARGET", "DBT_PROJECT_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("DO_NOT_TRACK", "1")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    return write_files(tmp_path / "shop", SHOP)


def project_files(root: Path) -> dict[str, str]:
    """Every file of the project but the warehouse, with its digest."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith("shop.duckdb")
    }


def check(root: Path, argument: str, started: str | None) -> CheckResult:
    ctx = ToolContext(project_dir=root, agent="parent-checks")
    try:
        return run_check(ctx, Finding(task="T1", started=started), CheckSpec("dbt", argument))
    finally:
        ctx.close()


def build(root: Path, select: str | None = None, *, succeeds: bool = True) -> None:
    ctx = ToolContext(project_dir=root)
    try:
        assert dbt_build(ctx, RunArgs(select=select)).success is succeeds
    finally:
        ctx.close()


def test_a_build_check_fails_when_the_agent_built_nothing_and_writes_nothing(shop: Path) -> None:
    files = project_files(shop)
    result = check(shop, "build --select path:seeds", now_iso())
    assert result.outcome == "failed"
    assert "the target database shop.duckdb does not exist" in result.output
    assert '"shop"."analytics"."raw_customers" does not exist in the target' in result.output
    assert not (shop / "shop.duckdb").exists()
    assert project_files(shop) == files


def test_a_build_check_passes_when_the_task_built_its_selection(shop: Path) -> None:
    started = now_iso()
    time.sleep(0.01)
    build(shop)
    before, files = fingerprint(shop / "shop.duckdb"), project_files(shop)
    result = check(shop, "build", started)
    assert result.outcome == "passed", result.output
    assert result.output == (
        "3 nodes passed in a throwaway copy of the target; the target holds what the code of 2 relations builds"
    )
    assert fingerprint(shop / "shop.duckdb") == before
    assert project_files(shop) == files
    # Built before the task started: this task did not build it.
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="milliseconds")
    stale = check(shop, "build --select customers", later)
    assert stale.outcome == "failed"
    assert "was last written before the task started" in stale.output


def test_code_changed_after_the_build_fails(shop: Path) -> None:
    started = now_iso()
    build(shop)
    model = shop / "models" / "customers.sql"
    model.write_text(model.read_text().replace("150", "10").replace("50", "5"))
    before = fingerprint(shop / "shop.duckdb")
    result = check(shop, "build --select customers", started)
    assert result.outcome == "failed"
    assert result.output.endswith(
        '"shop"."analytics"."customers" differs from what its code builds now: '
        "only in the target: (2, Alan, low); (3, Grace, medium); "
        "only in what the code builds: (2, Alan, high); (3, Grace, high)"
    )
    assert fingerprint(shop / "shop.duckdb") == before


def test_an_empty_selection_fails(shop: Path) -> None:
    build(shop)
    none = check(shop, "build --select tag:nothing_has_this_tag", None)
    assert (none.outcome, none.output) == (
        "failed",
        "the selection tag:nothing_has_this_tag matches no node: nothing was verified",
    )
    no_test = check(shop, "test --select path:tests/does_not_exist", None)
    assert (no_test.outcome, no_test.output) == (
        "failed",
        "the selection path:tests/does_not_exist matches no test: nothing was verified",
    )


def test_a_test_check_stores_no_failures_in_the_target(shop: Path) -> None:
    build(shop, "raw_customers")
    (shop / "models" / "customers.sql").write_text("select null::integer as customer_id")
    build(shop, "customers", succeeds=False)  # its not_null test fails, stored in the target's audit schema
    before, files = fingerprint(shop / "shop.duckdb"), project_files(shop)
    result = check(shop, "test --select customers", None)
    assert result.outcome == "failed"
    assert "not_null_customers_customer_id: fail" in result.output
    assert fingerprint(shop / "shop.duckdb") == before
    assert project_files(shop) == files
    passing = check(shop, "test --select raw_customers", None)
    assert passing.outcome == "failed"  # a seed without tests: nothing to verify


def test_a_target_that_is_not_a_duckdb_file_is_unverified(tmp_path: Path) -> None:
    write_files(
        tmp_path,
        {
            "dbt_project.yml": "name: shop\nversion: '1.0'\nprofile: shop\n",
            "profiles.yml": "shop:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ':memory:'}\n",
        },
    )
    result = check(tmp_path, "build", None)
    assert result.outcome == "unverified"
    assert "not a DuckDB file" in result.output


def test_a_task_whose_agent_did_nothing_does_not_complete_and_its_check_changes_nothing(shop: Path) -> None:
    from runkit import complete, write_cassette
    from typer.testing import CliRunner

    from dacrew.cli import app
    from dacrew.findings.store import FindingsStore

    build(shop)  # an earlier run left the seeds and the model in the warehouse
    plan = shop / "tasks.md"
    plan.write_text(
        "# Data Analytics Tasks: Seeds\n\n## Setup Tasks\n\n### T001: Load the seeds\n**Owner**: dbt-expert\n"
        "**Dependencies**: None\n**Files**: `seeds/`\n**Description**: Load the raw seeds\n- all of them\n"
        "**Acceptance**: the seeds are in the warehouse\n**Checks**:\n- dbt: build --select path:seeds\n",
        encoding="utf-8",
    )
    cassette = write_cassette(shop / "nothing.jsonl", [complete("T001"), complete("T001", attempt=2)])
    before, files = fingerprint(shop / "shop.duckdb"), project_files(shop)
    result = CliRunner().invoke(
        app, ["run", str(plan), "--project-dir", str(shop), "--model", f"replay:{cassette}", "--headless"]
    )
    assert result.exit_code == 1, result.output
    finding = FindingsStore(shop).read("T001")
    assert finding is not None
    assert (finding.status, finding.attempt) == ("failed", 2)
    assert "was last written before the task started" in finding.checks[0].output
    assert fingerprint(shop / "shop.duckdb") == before
    # Only the run's own records are new: its findings and its state under .dacrew/ (no dbt output).
    new = {k for k in project_files(shop).keys() - files.keys() if not k.startswith(("findings/", ".dacrew/"))}
    assert new == set()
    assert {k: v for k, v in project_files(shop).items() if k in files} == files

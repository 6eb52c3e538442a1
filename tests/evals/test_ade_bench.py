"""ADE-bench tasks as cases: a task folder of our own in ADE-bench's layout (task.yaml, setup.sh, solution
seeds, AUTO tests and their macro, the shared dbt project and a DuckDB we build) is imported and run,
and scored on its solution seeds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from evalkit import turn, write_cassette
from typer.testing import CliRunner

from dacrew.cli import app

ROOT = Path(__file__).resolve().parents[2]
ADE = ROOT.parent / "shared" / "fixtures" / "ade-bench"
REAL_TASK = ADE / "tasks" / "analytics_engineering003"
runner = CliRunner()

TASK_YAML = """\
task_id: mini001
status: ready
description: Creates a new model that modifies a staging model.
prompts:
  - key: base
    prompt: |-
      Create a model called "dim_customer" that renames id to customer_id, and makes that row a unique primary key.
tags: [dbt, model-creation]
test_setup: |-
  dbt run --select dim_customer
solution_seeds:
  - table_name: dim_customer
variants:
- db_type: duckdb
  db_name: mini
  project_type: dbt
  project_name: mini
- db_type: snowflake
  db_name: mini
  project_type: dbt
  project_name: mini
"""
SETUP_SH = "#!/bin/bash\n# Start without the warehouse models\nrm -r models/warehouse\n\ndbt deps\ndbt run"
SOLUTION = "customer_id,company,last_name\n1,Company A,Bedecs\n2,Company B,Gratacos Solsona\n3,Company C,Axen\n"
GOOD_MODEL = """\
with source as (
    select id as customer_id, company, last_name from {{ ref('stg_customer') }}
),
ranked as (
    select *, row_number() over (partition by customer_id order by customer_id) as rn from source
)
select customer_id, company, last_name from ranked where rn = 1
"""
DUPLICATE_MODEL = "select id as customer_id, company, last_name from {{ ref('stg_customer') }}\n"
BAD_MODEL = "select distinct id as customer_id, company, lower(last_name) as last_name from {{ ref('stg_customer') }}\n"


def _layout(root: Path) -> Path:
    """ADE-bench's layout: tasks/<task>/ beside shared/projects/dbt/<project> and shared/databases/duckdb."""
    import duckdb

    task = root / "tasks" / "mini001"
    (task / "seeds").mkdir(parents=True)
    (task / "tests").mkdir()
    (task / "macros").mkdir()
    (task / "task.yaml").write_text(TASK_YAML)
    (task / "setup.sh").write_text(SETUP_SH)
    (task / "seeds" / "solution__dim_customer.csv").write_text(SOLUTION)
    (task / "seeds" / "_no-op.txt").write_text("")
    for name in ("AUTO_dim_customer_equality.sql", "AUTO_dim_customer_existence.sql"):
        shutil.copyfile(REAL_TASK / "tests" / name, task / "tests" / name)
    shutil.copyfile(
        REAL_TASK / "macros" / "ade_bench_equality_test.sql", task / "macros" / "ade_bench_equality_test.sql"
    )
    project = root / "shared" / "projects" / "dbt" / "mini"
    (project / "models" / "staging").mkdir(parents=True)
    (project / "models" / "warehouse").mkdir(parents=True)
    (project / "dbt_project.yml").write_text(
        "name: mini\nversion: '1.0.0'\nconfig-version: 2\nprofile: mini-duckdb\nmodels:\n  +materialized: table\n"
    )
    (project / "profiles.yml").write_text(
        "mini-duckdb:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: ./mini.duckdb\n      schema: main\n"
    )
    (project / "packages.yml").write_text("packages:\n  - package: dbt-labs/dbt_utils\n    version: 1.3.0\n")
    (project / "models" / "staging" / "source.yml").write_text(
        "version: 2\nsources:\n  - name: mini\n    schema: main\n    tables:\n      - name: customer\n"
    )
    (project / "models" / "staging" / "stg_customer.sql").write_text("select * from {{ source('mini', 'customer') }}\n")
    (project / "models" / "warehouse" / "dim_customer.sql").write_text(GOOD_MODEL)
    databases = root / "shared" / "databases" / "duckdb"
    databases.mkdir(parents=True)
    con = duckdb.connect(str(databases / "mini.duckdb"))
    con.execute("create table customer (id integer, company varchar, last_name varchar)")
    con.execute(
        "insert into customer values (1, 'Company A', 'Bedecs'), (2, 'Company B', 'Gratacos Solsona'), "
        "(3, 'Company C', 'Axen'), (3, 'Company C', 'Axen')"  # a duplicate: deduplication matters
    )
    con.close()
    return task


def _cassette(model_sql: str) -> list[dict[str, object]]:
    return [
        turn("T001", 0, [("files_write", {"path": "models/warehouse/dim_customer.sql", "content": model_sql})]),
        turn("T001", 1, [("dbt_build", {"select": "+dim_customer"})]),
        turn(
            "T001",
            2,
            [("complete_task", {"summary": "dim_customer built", "artifacts": ["models/warehouse/dim_customer.sql"]})],
        ),
    ]


@pytest.mark.slow
@pytest.mark.skipif(not REAL_TASK.is_dir(), reason="the ADE-bench fixture (../shared/fixtures/ade-bench) is absent")
def test_an_imported_task_runs_as_a_case_scored_on_its_solution_seeds(tmp_path: Path) -> None:
    task = _layout(tmp_path / "ade")
    suite = tmp_path / "suite"
    result = runner.invoke(app, ["eval", "import", "ade-bench", str(task), "--output", str(suite)])
    assert result.exit_code == 0, result.output
    spec = yaml.safe_load((suite / "suite.yml").read_text())
    (case,) = spec["cases"]
    assert case["name"] == "mini001"
    assert [s.get("table") or s.get("check") for s in case["scorers"]] == [
        "dim_customer matches seeds/solution__dim_customer.csv",
        "dbt: test --select AUTO_dim_customer_equality AUTO_dim_customer_existence",
    ]
    assert case["scoring_build"] == "solution__dim_customer"
    assert "dbt deps; dbt run" in case["description"]
    project = suite / "projects" / "mini001"
    assert not (project / "models" / "warehouse").exists()  # setup.sh's rm -r
    assert not (project / "packages.yml").exists()
    assert not (project / "seeds" / "solution__dim_customer.csv").exists()  # the agent never sees the answer
    plan = (project / "tasks.md").read_text()
    assert "**Owner**: dbt-expert" in plan
    assert "renames id to customer_id" in plan
    assert "- dbt: build --select dim_customer" in plan

    outcomes = {}
    for name, sql in (("good", GOOD_MODEL), ("bad", BAD_MODEL), ("duplicate", DUPLICATE_MODEL)):
        write_cassette(suite / "cassettes" / "mini001.jsonl", _cassette(sql))
        report = tmp_path / f"{name}.json"
        done = runner.invoke(app, ["eval", "run", str(suite), "--out", str(tmp_path / name), "--json", str(report)])
        (run,) = json.loads(report.read_text())["cases"]
        outcomes[name] = (done.exit_code, {s["scorer"].split(":")[0]: s["outcome"] for s in run["scores"]})
    assert outcomes["good"] == (
        0,
        {"exit code 0": "passed", "scoring build": "passed", "table": "passed", "check": "passed"},
    )
    # The bad model changes a value: the table scorer and ADE-bench's own tests both see it.
    assert outcomes["bad"][0] == 1
    assert outcomes["bad"][1]["table"] == "failed"
    assert outcomes["bad"][1]["check"] == "failed"
    # A kept duplicate: ADE-bench's EXCEPT-based test cannot see it; the table scorer (rows as a multiset) can.
    assert outcomes["duplicate"][1]["check"] == "passed"
    assert outcomes["duplicate"][1]["table"] == "failed"


@pytest.mark.skipif(not REAL_TASK.is_dir(), reason="the ADE-bench fixture (../shared/fixtures/ade-bench) is absent")
def test_the_real_task_layout_is_read_and_its_missing_database_named(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", "import", "ade-bench", str(REAL_TASK), "--output", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "analytics_engineering.duckdb" in result.output
    assert "release download): pass --database" in result.output

"""The issue's SQL cases through `dacrew tools call`: writes to relations that existed before the call
stop with exit 3 whatever their WHERE or ON clause, and the warehouse is unchanged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.errors import ApprovalRequired
from dacrew.tools.base import ToolContext
from dacrew.tools.sql.guard import enforce


def _call(project: Path, tool: str, args: dict[str, Any], *extra: str) -> tuple[int, Any]:
    result = CliRunner().invoke(
        app, ["tools", "call", tool, "--args", json.dumps(args), "--project-dir", str(project), *extra]
    )
    return result.exit_code, json.loads(result.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, shop_dir: Path) -> Path:
    root = tmp_path_factory.mktemp("scope") / "shop"
    shutil.copytree(shop_dir, root, ignore=shutil.ignore_patterns("target", "logs"))
    return root


def _snapshot(project: Path) -> Any:
    code, body = _call(project, "warehouse_query", {"sql": "select * from customers order by customer_id"})
    assert code == 0
    return body["rows"]


@pytest.mark.parametrize(
    ("agent", "sql", "status"),
    [
        ("dbt-expert", "DELETE FROM customers WHERE customer_id IS NOT NULL", "needs_approval"),
        (
            "dbt-expert",
            "MERGE INTO customers d USING (SELECT 1 AS x) s ON TRUE WHEN MATCHED THEN UPDATE SET number_of_orders = 0",
            "needs_approval",
        ),
        ("dbt-expert", "UPDATE customers SET number_of_orders = 0 WHERE customer_id > -1", "needs_approval"),
        ("dbt-expert", "INSERT INTO customers SELECT * FROM customers", "needs_approval"),
        ("dbt-expert", "ALTER TABLE customers RENAME COLUMN number_of_orders TO n", "needs_approval"),
        ("dbt-expert", "ALTER TABLE customers DROP COLUMN number_of_orders", "needs_approval"),
        ("dbt-expert", "ALTER TABLE customers ALTER number_of_orders TYPE BIGINT USING -1", "needs_approval"),
        ("snowflake-expert", "ALTER TABLE customers ALTER number_of_orders TYPE BIGINT USING -1", "refused"),
        ("snowflake-expert", "ALTER TABLE customers RENAME COLUMN number_of_orders TO n", "refused"),
        ("dbt-expert", "ALTER TABLE customers RENAME TO customers_old", "needs_approval"),
    ],
)
def test_writes_to_existing_relations_stop_with_the_warehouse_unchanged(
    project: Path, agent: str, sql: str, status: str
) -> None:
    before = _snapshot(project)
    code, body = _call(project, "warehouse_execute", {"sql": sql}, "--agent", agent)
    assert (code, body["status"]) == (3, status), body
    assert _snapshot(project) == before


def test_a_trailing_comment_after_the_last_semicolon_is_nothing(project: Path) -> None:
    code, body = _call(project, "warehouse_query", {"sql": "select count(*) from customers; -- 4 expected"})
    assert (code, body["rows"]) == (0, [[4]])
    code, body = _call(project, "warehouse_query", {"sql": "select count(*) from customers; ;  /* done */"})
    assert (code, body["rows"]) == (0, [[4]])
    code, body = _call(project, "warehouse_query", {"sql": "select 1; -- x\n select 2"})
    assert (code, body["status"]) == (3, "refused")


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER SHARE sales_share ADD ACCOUNTS = xy12345",
        "ALTER MASKING POLICY email_mask SET BODY -> 'visible'",
        "ALTER ROW ACCESS POLICY region_rap SET BODY -> TRUE",
        "ALTER WAREHOUSE transforming SET WAREHOUSE_SIZE = 'X6LARGE'",
        "ALTER RESOURCE MONITOR monthly SET CREDIT_QUOTA = 1000000",
        "ALTER NETWORK POLICY corp SET ALLOWED_IP_LIST = ('0.0.0.0/0')",
        "CREATE STORAGE INTEGRATION s3_all TYPE = EXTERNAL_STAGE STORAGE_PROVIDER = 'S3' ENABLED = TRUE",
        "CREATE ROLE superuser",
        "GRANT ROLE ACCOUNTADMIN TO USER model",
        "CREATE WAREHOUSE huge WAREHOUSE_SIZE = 'X6LARGE'",
        "CREATE SHARE leak",
    ],
)
def test_snowflake_account_and_governance_objects_need_approval(tmp_path: Path, sql: str) -> None:
    ctx = ToolContext(project_dir=tmp_path, agent="snowflake-expert", permissions=frozenset({"read", "ddl", "write"}))
    with pytest.raises(ApprovalRequired) as held:
        enforce(ctx, sql, "snowflake", tool="warehouse_execute", exists=lambda k, n: False, created=lambda n: True)
    assert held.value.detail["sql"] == sql

"""The SQL guard against an adversarial corpus, and its permission and approval rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dacrew.errors import ApprovalRequired, GuardRefused
from dacrew.tools.base import ToolContext, request_digest
from dacrew.tools.sql.guard import Dialect, classify, enforce

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "snowflake-sql"

READS = [
    "SELECT 1",
    "select * from orders where status = 'completed' order by 1 limit 5",
    "WITH a AS (SELECT 1 AS x) SELECT x FROM a UNION ALL SELECT 2",
    "SELECT 'DROP TABLE t; DELETE FROM t' AS harmless_text",
    "SELECT 1 -- DROP TABLE t",
    "SELECT /* ; DROP TABLE t; */ 1",
    "SHOW TABLES",
    "DESCRIBE TABLE orders",
    "EXPLAIN SELECT * FROM orders",
    "SELECT 1;",
    "select count(*) from t qualify row_number() over (partition by a order by b) = 1",
]

# (sql, what the guard must never call it: a read)
NOT_READS = [
    "SELECT 1; DROP TABLE orders",
    "SELECT 1 -- comment\n; DROP TABLE orders",
    "SELECT 1 /* hide */; DELETE FROM orders",
    "drop table orders",
    "DrOp   TaBlE\n\torders",
    "TRUNCATE TABLE orders",
    "DELETE FROM orders",
    "UPDATE orders SET amount = 0",
    "INSERT INTO orders SELECT * FROM orders",
    "INSERT OVERWRITE INTO orders SELECT 1",
    "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE",
    "CREATE TABLE t2 AS SELECT * FROM orders",
    "CREATE OR REPLACE TABLE orders AS SELECT 1 AS x",
    "SELECT * INTO t2 FROM orders",
    "COPY INTO orders FROM @my_stage",
    "COPY INTO @my_stage FROM orders",
    "WITH d AS (DELETE FROM orders RETURNING *) SELECT * FROM d",
    "GRANT SELECT ON TABLE orders TO ROLE analyst",
    "REVOKE SELECT ON TABLE orders FROM ROLE analyst",
    "EXECUTE IMMEDIATE 'DROP TABLE orders'",
    "CALL cleanup()",
    "PUT file:///tmp/x.csv @my_stage",
    "GET @my_stage file:///tmp/",
    "REMOVE @my_stage",
    "USE ROLE ACCOUNTADMIN",
    "SET x = 1",
    "ALTER SESSION SET QUERY_TAG = 'x'",
    "BEGIN",
    "COMMIT",
    "ALTER TABLE orders RENAME TO o2",
    "ALTER TABLE orders ADD COLUMN c INT",
    "UNDROP TABLE orders",
    "\uff24\uff32\uff2f\uff30 TABLE orders",  # full-width letters
    "DR\u041eP TABLE orders",  # a Cyrillic O
    "SELECT 1\u200b; DROP TABLE orders",  # a zero-width space
    "SELECT SYSTEM$CANCEL_ALL_QUERIES(1)",
    "SELECT 1 FROM",
    "",
]

DUCKDB_NOT_READS = [
    "SELECT * FROM read_csv('/etc/passwd')",
    "SELECT * FROM '/etc/passwd'",
    'SELECT * FROM "data.csv"',
    "SELECT * FROM query('DROP TABLE orders')",
    "COPY orders TO 'out.csv'",
    "COPY orders FROM 'in.csv'",
    "ATTACH 'other.db'",
    "INSTALL httpfs",
    "PRAGMA enable_profiling",
    "SELECT getenv('HOME')",
    # Found by review: other file and database readers, SQL run from a string, files named by a string.
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT content FROM read_text(''.env'')'))",
    "SELECT content FROM read_text('.env')",
    "SELECT * FROM read_blob('rsa_key.p8')",
    "SELECT * FROM read_duckdb('prod.duckdb', table_name := 'orders')",
    "SELECT * FROM glob('*')",
    "SELECT * FROM sniff_csv('.env')",
    "SELECT * FROM parquet_metadata('x.parquet')",
    "SELECT * FROM read_json_objects('x.json')",
    "SELECT * FROM query_table('orders')",
    "SUMMARIZE '.env.csv'",
    "SUMMARIZE SELECT * FROM read_csv('.env')",
    "SHOW SELECT * FROM read_csv('.env', header = false)",
    "DESCRIBE SELECT * FROM read_text('.env')",
    "EXPLAIN SELECT * FROM read_text('.env')",
    "EXPLAIN ANALYZE SELECT * FROM read_text('.env')",
]

# An EXPLAIN that executes its statement is judged as that statement, however ANALYZE is written.
EXPLAIN_ANALYZE = [
    "EXPLAIN ANALYZE DELETE FROM orders",
    "EXPLAIN ANALYSE DELETE FROM orders",
    "explain analyse drop table orders",
    "EXPLAIN /* x */ ANALYZE DELETE FROM orders",
    "EXPLAIN -- x\n ANALYZE CREATE TABLE t2 AS SELECT * FROM orders",
    "EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/x.csv'",
    "EXPLAIN ANALYZE VERBOSE DELETE FROM orders",
]


@pytest.mark.parametrize("sql", READS)
def test_reads_are_reads(sql: str) -> None:
    for dialect in ("snowflake", "duckdb"):
        verdict = classify(sql, dialect)
        assert verdict.is_read, (dialect, verdict)


@pytest.mark.parametrize("sql", NOT_READS)
def test_nothing_destructive_or_smuggled_passes_as_read(sql: str) -> None:
    for dialect in ("snowflake", "duckdb"):
        verdict = classify(sql, dialect)
        assert not verdict.is_read, (dialect, sql, verdict)


@pytest.mark.parametrize("sql", DUCKDB_NOT_READS)
def test_duckdb_file_access_is_refused(sql: str) -> None:
    verdict = classify(sql, "duckdb")
    assert verdict.refused, verdict


@pytest.mark.parametrize("sql", EXPLAIN_ANALYZE)
def test_explain_analyze_is_judged_as_the_statement_it_runs(sql: str) -> None:
    for dialect in ("duckdb", "snowflake"):
        verdict = classify(sql, dialect)
        assert not verdict.is_read, (dialect, verdict)
    assert classify("EXPLAIN ANALYZE DELETE FROM orders", "duckdb").approval == "existing_object"
    assert classify("EXPLAIN ANALYZE SELECT 1", "duckdb").is_read


def test_show_and_describe_of_names_stay_reads() -> None:
    for sql in ("SHOW TABLES", "SHOW ALL TABLES", "DESCRIBE orders", "SUMMARIZE orders", "EXPLAIN SELECT 1"):
        assert classify(sql, "duckdb").is_read, sql
    assert classify("SHOW TABLES LIKE '%ord%'", "snowflake").is_read
    assert classify("EXPLAIN USING TEXT SELECT 1", "snowflake").is_read


@pytest.mark.parametrize(
    ("sql", "rule"),
    [
        ("SELECT 1; SELECT 2", "multi_statement"),
        ("SELECT $1 FROM @my_stage/file.csv", "file_io"),
        ("SELECT * FROM @my_stage (FILE_FORMAT => 'csv')", "file_io"),
        ("SELECT 1 FROM", "unparseable"),
        ("USE WAREHOUSE big", "session"),
        ("PUT file:///x @s", "file_io"),
        ("COPY INTO orders FROM 's3://bucket/x'", "file_io"),
        ("LIST @my_stage", "unrecognised"),
        ("SELECT 1\u202e", "invisible_characters"),
    ],
)
def test_refusal_rules(sql: str, rule: str) -> None:
    assert classify(sql, "snowflake").refused == rule


# (sql, needs, approval) with every relation existing before the run (no ``exists`` callback).
@pytest.mark.parametrize(
    ("sql", "needs", "approval"),
    [
        ("INSERT INTO t VALUES (1)", "write", "existing_object"),
        ("COPY INTO t FROM @my_stage", "write", "existing_object"),
        ("DELETE FROM t WHERE id = 1", "write", "existing_object"),
        ("DELETE FROM t", "write", "existing_object"),
        ("UPDATE t SET a = 1 WHERE 1 = 1", "write", "existing_object"),
        ("CREATE TABLE t (a INT)", "ddl", ""),
        ("CREATE TABLE t2 AS SELECT * FROM orders", "ddl", ""),
        ("DROP TABLE t", "ddl", "destructive"),
        ("TRUNCATE TABLE t", "ddl", "destructive"),
        ("GRANT SELECT ON TABLE t TO ROLE r", "ddl", "privilege"),
        ("CALL p()", "write", "procedure"),
        ("ALTER TABLE t DROP COLUMN a", "ddl", "existing_object"),
        ("ALTER TABLE t ADD COLUMN c INT", "ddl", "existing_object"),
        ("COMMENT ON TABLE t IS 'x'", "ddl", "existing_object"),
        ("CREATE OR REPLACE VIEW v AS SELECT 1", "ddl", "replace_existing"),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "write", "destructive"),
        ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.a = s.a", "write", "existing_object"),
        ("CREATE TASK t WAREHOUSE = w SCHEDULE = '1 minute' AS DELETE FROM orders", "write", "procedure"),
        ("CREATE OR REPLACE PROCEDURE p() RETURNS INT LANGUAGE SQL AS 'begin delete from t; end'", "ddl", "procedure"),
        ("CREATE ROLE r", "ddl", "privilege"),
        ("CREATE USER u PASSWORD = 'x'", "ddl", "privilege"),
        ("ALTER USER u SET DEFAULT_ROLE = ACCOUNTADMIN", "ddl", "privilege"),
        ("ALTER ROLE r SET COMMENT = 'x'", "ddl", "privilege"),
        ("ALTER ACCOUNT SET MIN_DATA_RETENTION_TIME_IN_DAYS = 0", "ddl", "privilege"),
        ("ALTER TABLE t SET DATA_RETENTION_TIME_IN_DAYS = 0", "ddl", "destructive"),
        ("CREATE OR REPLACE SCHEMA s2", "ddl", "replace_existing"),
        ("CREATE OR REPLACE DATABASE d", "ddl", "replace_existing"),
    ],
)
def test_permission_and_approval_rules(sql: str, needs: str, approval: str) -> None:
    verdict = classify(sql, "snowflake")
    assert (verdict.needs, verdict.approval, verdict.refused) == (needs, approval, "")


# The 'every row' analysis is a line of the approval message, never the rule: a predicate true for
# every row and a real one are both held on an existing relation, and both free on the run's own.
@pytest.mark.parametrize(
    ("sql", "every_row"),
    [
        ("DELETE FROM t", True),
        ("UPDATE t SET a = 1", True),
        ("UPDATE t SET a = 1 WHERE 1 = 1", True),
        ("DELETE FROM t WHERE TRUE", True),
        ("DELETE FROM t WHERE id = id", True),
        ("UPDATE t SET a = 1 WHERE a IS NULL OR a IS NOT NULL", True),
        ("UPDATE t SET a = 1 WHERE (a IS NULL) OR NOT (a IS NULL)", True),
        ("DELETE FROM t WHERE 'x' = 'x'", True),
        ("DELETE FROM t WHERE id = id + 0", True),
        ("DELETE FROM t WHERE (1 = 1) AND (id = id)", True),
        ("DELETE FROM t WHERE id = 1 OR TRUE", True),
        ("MERGE INTO t USING (SELECT 1 AS x) s ON TRUE WHEN MATCHED THEN UPDATE SET a = 0", True),
        ("DELETE FROM t WHERE id = 1 AND TRUE", False),
        ("DELETE FROM t WHERE id IN (1, 2)", False),
        ("UPDATE t SET a = 1 WHERE a IS NULL", False),
        ("DELETE FROM t WHERE created_at < current_date - 30", False),
        ("DELETE FROM t USING s WHERE t.id = s.id", False),
        ("DELETE FROM t WHERE id IS NOT NULL", False),
    ],
)
def test_every_row_is_a_note_not_a_rule(sql: str, every_row: bool) -> None:
    held = classify(sql, "snowflake", exists=lambda k, n: True)
    assert held.approval == "existing_object"
    assert any("every row" in note for note in held.notes) == every_row, held.notes
    own = classify(sql, "snowflake", exists=lambda k, n: True, created=lambda n: n == "t")
    assert (own.needs, own.approval, own.refused) == ("write", "", "")


def test_create_or_replace_of_a_new_object_needs_no_approval() -> None:
    assert classify("CREATE OR REPLACE VIEW v AS SELECT 1", "duckdb", exists=lambda k, n: False).approval == ""
    assert classify("CREATE OR REPLACE VIEW v AS SELECT 1", "duckdb", exists=lambda k, n: n == "v").approval


def test_create_or_replace_asks_about_the_right_kind_of_object() -> None:
    asked: list[tuple[str, str]] = []

    def exists(kind: str, name: str) -> bool:
        asked.append((kind, name))
        return kind == "SCHEMA" and name == "s2"

    assert classify("CREATE OR REPLACE SCHEMA s2", "duckdb", exists=exists).approval == "replace_existing"
    assert classify("CREATE OR REPLACE SCHEMA s3", "duckdb", exists=exists).approval == ""
    assert asked == [("SCHEMA", "s2"), ("SCHEMA", "s3")]
    # Kinds it cannot look up are held whatever exists says.
    assert classify("CREATE OR REPLACE STAGE st", "snowflake", exists=lambda k, n: False).approval
    assert classify("CREATE OR REPLACE WAREHOUSE w", "snowflake", exists=lambda k, n: False).approval


def test_read_only_tool_points_at_warehouse_execute(tmp_path: Path) -> None:
    ctx = ToolContext(project_dir=tmp_path, agent="dbt-expert", permissions=frozenset({"read", "write", "ddl"}))
    with pytest.raises(GuardRefused, match="warehouse_execute") as info:
        enforce(ctx, "INSERT INTO t VALUES (1)", "duckdb", tool="warehouse_query", read_only=True)
    assert info.value.rule == "read_only"


def test_permissions_refuse_then_approval_covers_only_its_request(tmp_path: Path) -> None:
    reader = ToolContext(project_dir=tmp_path)
    with pytest.raises(GuardRefused, match="needs the ddl permission"):
        enforce(reader, "DROP TABLE t", "duckdb", tool="warehouse_execute")
    ddl = ToolContext(project_dir=tmp_path, agent="snowflake-expert", permissions=frozenset({"read", "ddl"}))
    with pytest.raises(GuardRefused, match="write permission"):
        enforce(ddl, "INSERT INTO t VALUES (1)", "duckdb", tool="warehouse_execute")
    with pytest.raises(ApprovalRequired) as info:
        enforce(ddl, "DROP TABLE t", "duckdb", tool="warehouse_execute")
    assert info.value.digest == request_digest(info.value.action, info.value.detail)
    ddl.approved.add(info.value.digest)
    assert enforce(ddl, "DROP TABLE t", "duckdb", tool="warehouse_execute").statement == "DROP"
    with pytest.raises(ApprovalRequired):
        enforce(ddl, "DROP TABLE other", "duckdb", tool="warehouse_execute")


def _jsonl(name: str) -> list[dict[str, str]]:
    path = FIXTURES / name
    if not path.is_file():
        pytest.skip("the shared SQL fixtures are not beside the project")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_every_analytics_query_is_allowed_as_read() -> None:
    refused = [
        q["id"] for q in _jsonl("read_only_analytics_queries.jsonl") if not classify(q["sql"], "snowflake").is_read
    ]
    assert refused == []


def test_nothing_but_reads_in_the_corpus_passes_as_read() -> None:
    leaks = [
        q["sql"]
        for q in _jsonl("snowflake_sql_corpus.jsonl")
        if q["coarse_class"] not in {"read", "expression"} and classify(q["sql"], "snowflake").is_read
    ]
    assert leaks == []


_DESTRUCTIVE = [
    "DROP TABLE orders",
    "DELETE FROM orders",
    "TRUNCATE TABLE orders",
    "UPDATE orders SET amount = 0",
    "INSERT INTO orders SELECT * FROM orders",
    "GRANT SELECT ON TABLE orders TO ROLE r",
    "CREATE TABLE x AS SELECT 1",
]


@given(
    base=st.sampled_from(_DESTRUCTIVE),
    flips=st.lists(st.booleans(), min_size=64, max_size=64),
    gap=st.sampled_from([" ", "\t", "\n", "  \r\n ", " /* SELECT */ ", " -- x\n"]),
    prefix=st.sampled_from(["", "SELECT 1; ", "/* read */ ", "-- SELECT 1\n"]),
    dialect=st.sampled_from(["snowflake", "duckdb"]),
)
@settings(max_examples=150, deadline=None)
def test_case_whitespace_and_comment_tricks_never_read(
    base: str, flips: list[bool], gap: str, prefix: str, dialect: Dialect
) -> None:
    cased = "".join(c.swapcase() if flip else c for c, flip in zip(base, flips * 2, strict=False))
    sql = prefix + gap.join(cased.split(" "))
    assert not classify(sql, dialect).is_read, sql

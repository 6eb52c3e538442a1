"""The SQL guard's tables: which functions, commands and object kinds mean file access, system reads, session changes, code or access control."""

from __future__ import annotations

import re

# Zero-width and bidirectional controls let a string read differently to a person than to a parser.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\x00]")


# DuckDB table functions and scalars that touch files, other databases or run SQL given as a string.
FILE_FUNCTIONS = frozenset(
    {
        "read_csv",
        "read_csv_auto",
        "csv_scan",
        "sniff_csv",
        "read_parquet",
        "parquet_scan",
        "parquet_metadata",
        "parquet_schema",
        "parquet_file_metadata",
        "parquet_kv_metadata",
        "read_json",
        "read_json_auto",
        "read_json_objects",
        "read_json_objects_auto",
        "read_ndjson",
        "read_ndjson_auto",
        "read_ndjson_objects",
        "read_text",
        "read_blob",
        "read_xlsx",
        "glob",
        "delta_scan",
        "iceberg_scan",
        "iceberg_metadata",
        "iceberg_snapshots",
        "st_read",
        "sqlite_scan",
        "sqlite_attach",
        "postgres_scan",
        "postgres_attach",
        "postgres_query",
        "mysql_query",
        "query",
        "query_table",
        "getenv",
        "load_aws_credentials",
        "read_duckdb",
        "json_execute_serialized_sql",
        "json_serialize_sql",
        "json_deserialize_sql",
        "json_serialize_plan",
        "duckdb_secrets",
        "which_secret",
        "current_setting",
    }
)


# Whole families of DuckDB functions that open files or other databases (``read_*``, ``parquet_*``…).
FILE_PREFIXES = (
    "read_",
    "parquet_",
    "iceberg_",
    "delta_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "st_read",
    "json_execute",
)


# sqlglot names some of them as typed expressions rather than Anonymous functions.
FILE_EXPRESSIONS = frozenset({"ReadCSV", "ReadParquet"})


# Snowflake SYSTEM$ functions that only report; every other SYSTEM$ function may change state.
SYSTEM_READERS = frozenset(
    {
        "system$clustering_information",
        "system$clustering_depth",
        "system$clustering_ratio",
        "system$typeof",
        "system$explain_plan_json",
        "system$explain_json_to_text",
        "system$get_tag",
        "system$get_tag_allowed_values",
        "system$pipe_status",
        "system$whitelist",
        "system$allowlist",
        "system$estimate_search_optimization_costs",
        "system$get_predecessor_return_value",
        "system$current_user_task_name",
        "system$stream_has_data",
        "system$get_ai_observability_events",
    }
)


READ_COMMANDS = frozenset({"SHOW", "DESCRIBE", "DESC", "EXPLAIN"})


SESSION_COMMANDS = frozenset({"USE", "SET", "UNSET", "BEGIN", "START", "COMMIT", "ROLLBACK", "RESET"})


FILE_COMMANDS = frozenset(
    {"PUT", "GET", "REMOVE", "RM", "LIST", "LS", "ATTACH", "DETACH", "INSTALL", "LOAD", "EXPORT", "IMPORT"}
)


DESTRUCTIVE_WORDS = re.compile(r"\b(DROP|RENAME|SWAP|UNSET|TRUNCATE|DELETE)\b", re.IGNORECASE)


# Shortening time travel makes dropped or changed data unrecoverable.
RETENTION_WORDS = re.compile(r"\b(DATA_RETENTION_TIME_IN_DAYS|MAX_DATA_EXTENSION_TIME_IN_DAYS)\b", re.IGNORECASE)


# Object kinds whose existence ``exists`` can check; replacing any other kind is always held.
CHECKABLE_KINDS = frozenset({"TABLE", "VIEW", "SCHEMA"})


# Objects that hold code the guard cannot inspect, and objects that decide who may do what.
CODE_KINDS = frozenset({"PROCEDURE", "TASK", "ALERT", "PIPE", "EXTERNAL FUNCTION"})


ACCESS_KINDS = frozenset({"ROLE", "USER", "DATABASE ROLE", "ACCOUNT", "INTEGRATION", "NETWORK POLICY"})


# The object kind after CREATE / ALTER / COMMENT ON in a statement sqlglot did not model. Two-word kinds
# whose first word is itself a kind (DATABASE ROLE, MATERIALIZED VIEW…) are matched whole.
COMMAND_KIND = re.compile(
    r"\s*(?:ON\s+)?(?:OR\s+REPLACE\s+)?(?:SECURE\s+|TEMPORARY\s+|TEMP\s+|TRANSIENT\s+|RECURSIVE\s+)*"
    r"(?P<kind>DATABASE\s+ROLE|NETWORK\s+(?:POLICY|RULE)|ROW\s+ACCESS\s+POLICY|RESOURCE\s+MONITOR|\w+\s+POLICY|"
    r"FILE\s+FORMAT|EXTERNAL\s+(?:FUNCTION|TABLE|VOLUME)|"
    r"MATERIALIZED\s+VIEW|DYNAMIC\s+TABLE|HYBRID\s+TABLE|ICEBERG\s+TABLE|EVENT\s+TABLE|"
    r"(?:\w+\s+)?INTEGRATION|\w+)\b",
    re.IGNORECASE,
)


# The name that follows the kind.
COMMAND_NAME = re.compile(r"\s*(?:IF\s+(?:NOT\s+)?EXISTS\s+)?(?P<name>[\w$.\"]+)", re.IGNORECASE)


# In an ALTER sqlglot did not model, words that may rewrite or rename data: judged as a write (erring
# towards asking; the statement is held for approval on an existing relation anyway).
DATA_REWRITE_WORDS = re.compile(r"\b(?:RENAME|DROP|TYPE|USING)\b", re.IGNORECASE)

"""The SQL guard, shared by the warehouse and dbt toolsets: every statement parsed with sqlglot and judged by
its structure (read, write, DDL, privileged), never by its spelling."""

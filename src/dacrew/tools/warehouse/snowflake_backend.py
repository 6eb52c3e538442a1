"""The Snowflake backend: snowflake-connector-python with the dbt target's settings as written,
including ``host``, ``port`` and ``protocol`` (private links, proxies, local fakes)."""

from __future__ import annotations

from typing import Any

from dacrew.errors import ToolError
from dacrew.tools.sql.guard import Dialect
from dacrew.tools.warehouse.backend import Rows, db_error, fetch

# dbt-snowflake setting name → connector keyword; only these reach the connector.
_CONNECT_KEYS = {
    "account": "account",
    "user": "user",
    "password": "password",
    "database": "database",
    "schema": "schema",
    "warehouse": "warehouse",
    "role": "role",
    "host": "host",
    "port": "port",
    "protocol": "protocol",
    "authenticator": "authenticator",
    "private_key_path": "private_key_file",
    "private_key_passphrase": "private_key_file_pwd",
    "token": "token",
    "login_timeout": "login_timeout",
    "network_timeout": "network_timeout",
    "session_parameters": "session_parameters",
}


def connect_kwargs(settings: dict[str, Any]) -> dict[str, Any]:
    """The connector's keyword arguments from a dbt-snowflake target."""
    kwargs = {_CONNECT_KEYS[k]: v for k, v in settings.items() if k in _CONNECT_KEYS and v not in (None, "")}
    kwargs.setdefault("application", "dacrew")
    if "port" in kwargs:
        kwargs["port"] = int(kwargs["port"])
    return kwargs


def _type_name(column: Any, names: dict[int, str]) -> str:
    """A result column's type as Snowflake writes it, with what tells values apart: ``NUMBER(38,10)``
    (the connector calls it ``FIXED``), ``TIMESTAMP_TZ(9)``."""
    name = names.get(column[1], str(column[1])) or str(column[1])
    precision, scale = column[4], column[5]
    if name == "FIXED":
        return f"NUMBER({precision},{scale})" if precision is not None else "NUMBER"
    if name.startswith(("TIMESTAMP", "TIME")) and scale is not None:
        return f"{name}({scale})"
    return name


class SnowflakeBackend:
    name = "snowflake"
    dialect: Dialect = "snowflake"

    def __init__(self, settings: dict[str, Any]) -> None:
        self.kwargs = connect_kwargs(settings)
        self.default_database: str | None = str(settings.get("database") or "") or None
        self.default_schema = str(settings.get("schema") or "PUBLIC")
        self._conn: Any = None

    def _connection(self) -> Any:
        if self._conn is None:
            import snowflake.connector

            try:
                self._conn = getattr(snowflake.connector, "connect")(**self.kwargs)  # noqa: B009  (untyped kwargs)
            except snowflake.connector.Error as exc:
                account = self.kwargs.get("account", "?")
                raise ToolError(f"cannot connect to Snowflake account {account}: {str(exc).splitlines()[0]}") from None
        return self._conn

    def run(
        self,
        sql: str,
        limit: int | None = None,
        params: list[Any] | None = None,
        *,
        drain: bool = False,
        read_only: bool = False,
    ) -> Rows:
        del read_only  # a Snowflake session has no read-only mode; the SQL guard and the role decide
        import snowflake.connector
        from snowflake.connector.constants import FIELD_ID_TO_NAME

        cursor = self._connection().cursor()
        try:
            cursor.execute(sql, params or None)
            query_id = getattr(cursor, "sfqid", None)
            if not cursor.description:
                return Rows(rowcount=cursor.rowcount, query_id=query_id)
            columns = [(str(d[0]), _type_name(d, FIELD_ID_TO_NAME)) for d in cursor.description]
            rows, truncated, seen = fetch(cursor, limit, drain=drain)
            return Rows(columns=columns, rows=rows, truncated=truncated, rowcount=seen, query_id=query_id)
        except snowflake.connector.Error as exc:
            raise db_error(exc) from None
        finally:
            cursor.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

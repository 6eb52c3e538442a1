"""A dbt-duckdb plugin that takes file access away from the SQL dbt runs on the embedded warehouse.

The dbt tools run DuckDB targets with a generated copy of the profile that loads this plugin
(``dbt_profiles.sandboxed_profiles_dir``). When dbt-duckdb opens the database, the plugin allows only
the folders dbt itself reads (the project's seed folders, for ``COPY … FROM`` of seeds) and the
databases the profile attaches, then turns external access off. DuckDB refuses to turn it back on
while the database is open, so a model, hook or macro cannot read ``.env``, attach another database,
write a file or install an extension, whatever the SQL guard missed. With ``read_only`` the database
itself is opened read-only (DuckDB's ``access_mode``): a command that should only read cannot write.

Imported only by dbt-duckdb (the module name is the plugin's name); dacrew never imports it itself.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin  # pyright: ignore[reportMissingTypeStubs]


def _list(values: list[str]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"[{quoted}]"


class Plugin(BasePlugin):  # pyright: ignore[reportUntypedBaseClass]
    """``config``: ``allowed_directories`` and ``allowed_paths`` (absolute), kept readable; ``read_only``."""

    def initialize(self, plugin_config: dict[str, Any]) -> None:
        dirs: list[Any] = plugin_config.get("allowed_directories") or []
        paths: list[Any] = plugin_config.get("allowed_paths") or []
        self.allowed_directories = [str(d) for d in dirs]
        self.allowed_paths = [str(p) for p in paths]
        self.read_only = bool(plugin_config.get("read_only"))

    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        if self.read_only:
            config["access_mode"] = "READ_ONLY"

    def configure_connection(self, conn: Any) -> None:
        if self.allowed_directories:
            conn.execute(f"SET allowed_directories = {_list(self.allowed_directories)}")
        if self.allowed_paths:
            conn.execute(f"SET allowed_paths = {_list(self.allowed_paths)}")
        conn.execute("SET enable_external_access = false")

"""The catalogue of every toolset. Toolset modules import their client libraries inside the tools,
so loading the catalogue stays cheap."""

from __future__ import annotations

import importlib

from dacrew.errors import UserError
from dacrew.tools.base import Tool, registered

TOOLSET_MODULES: dict[str, str] = {
    "findings": "dacrew.tools.findings",
    "files": "dacrew.tools.files",
    "dbt": "dacrew.tools.dbt",
    "warehouse": "dacrew.tools.warehouse",
    "tableau": "dacrew.tools.tableau",
    "orchestra": "dacrew.tools.orchestra",
    "docs": "dacrew.tools.docs",
}


def load_all() -> dict[str, Tool]:
    """Every registered tool, by name (imports each toolset module that exists)."""
    for module in TOOLSET_MODULES.values():
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    return registered()


def get(name: str) -> Tool:
    tools = load_all()
    if name not in tools:
        import difflib

        close = difflib.get_close_matches(name, list(tools), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UserError(f"unknown tool {name!r}{hint}; `dacrew tools list` shows them all")
    return tools[name]

"""``dacrew plan validate|show``: compile a task plan and preview its schedule."""

from __future__ import annotations

import typer

app = typer.Typer(help="Validate a task plan (tasks.md) and preview its schedule.", no_args_is_help=True)

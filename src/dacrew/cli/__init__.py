"""The ``dacrew`` command line: a Typer app that wires the parts together, importing lazily so that
``dacrew --help`` stays fast. Each command group lives in its own module of this package."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from dacrew import __version__
from dacrew.errors import DacrewError, UserError

OPTIONAL_VALUE = ("--approve", "--deny")


def _optional_values(args: list[str]) -> list[str]:
    """``--approve`` / ``--deny`` take an optional TASK: given alone, they mean "the one pending"."""
    out: list[str] = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg in OPTIONAL_VALUE and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out.append("")
    return out


class _Root(TyperGroup):
    """Turns dacrew's own errors into one line on stderr and their exit code, in every command —
    the console script and in-process test runners alike."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _optional_values(args))

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except DacrewError as exc:
            typer.echo(str(exc) if isinstance(exc, UserError) else f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)


app = typer.Typer(
    rich_markup_mode=None,
    cls=_Root,
    name="dacrew",
    help="A crew of AI specialists that delivers an analytics feature from a task plan (tasks.md).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dacrew {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version."),
) -> None:
    """dacrew: plan, run, resume and evaluate analytics features delivered by a crew of specialists."""


def _register() -> None:
    from dacrew.cli import plan, tools

    app.add_typer(plan.app, name="plan")
    app.add_typer(tools.app, name="tools")
    for optional in ("run", "evals", "chat"):
        try:
            module = __import__(f"dacrew.cli.{optional}", fromlist=["register"])
        except ModuleNotFoundError:
            continue
        module.register(app)


_register()


def main() -> None:
    """Console entry point."""
    app()

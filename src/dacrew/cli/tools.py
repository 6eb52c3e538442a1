"""``dacrew tools list|call``: check connections and tools without a model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(
    rich_markup_mode=None,
    help="List the specialists' tools, or call one directly (no model involved).",
    no_args_is_help=True,
)


@app.command("list")
def list_tools(
    agent: str | None = typer.Option(None, "--agent", help="Only the tools this agent holds."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON with each tool's argument schema."),
) -> None:
    """List the tools, by toolset."""
    from dacrew.agents.registry import load_agent
    from dacrew.tools.registry import load_all

    tools = load_all()
    names = sorted(tools)
    if agent is not None:
        held = set(load_agent(agent).tools)
        names = [n for n in names if n in held]
    if as_json:
        out = [
            {"name": n, "toolset": tools[n].toolset, "description": tools[n].description, "args": tools[n].schema()}
            for n in names
        ]
        typer.echo(json.dumps(out, indent=2))
        return
    width = max((len(n) for n in names), default=0)
    for n in sorted(names, key=lambda n: (tools[n].toolset, n)):
        first = tools[n].description.splitlines()[0]
        typer.echo(f"{tools[n].toolset:<10} {n:<{width}}  {first}")


@app.command("call")
def call_tool(
    name: str = typer.Argument(..., help="The tool's name, e.g. warehouse_query."),
    args: str = typer.Option("{}", "--args", help="The tool's arguments as a JSON object."),
    agent: str | None = typer.Option(None, "--agent", help="Call with this agent's permissions (default: read-only)."),
    task: str | None = typer.Option(None, "--task", help="Call as this task of the project's tasks.md (its Files)."),
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="The project folder."),
) -> None:
    """Call one tool and print its typed result as JSON (secrets masked).

    Without --agent the call is read-only: a tool that changes anything is refused (exit 3). Exit 1 on
    a tool error (or when a job or run the tool waited for ended failed), 3 when a guard refuses or the
    request needs approval: `tools call` never prompts.
    """
    from dacrew.errors import ApprovalRequired, GuardRefused, ToolError, UserError
    from dacrew.tools.base import ToolContext
    from dacrew.tools.registry import get

    try:
        parsed: Any = json.loads(args)
    except json.JSONDecodeError as exc:
        raise UserError(f"--args is not valid JSON: {exc.msg} (column {exc.colno})") from None
    if not isinstance(parsed, dict):
        raise UserError("--args must be a JSON object of argument names to values")
    tool = get(name)
    if agent is None and not tool.read_only:
        # Without an agent a call is read-only (DESIGN): a tool that changes anything needs one.
        message = (
            f"{name} changes the project or the warehouse; pass --agent to call it with that agent's "
            "permissions (e.g. --agent dbt-expert)"
        )
        typer.echo(json.dumps({"status": "refused", "message": message, "rule": "read_only"}, indent=2))
        typer.echo(f"refused: {message}", err=True)
        raise typer.Exit(3)
    ctx = ToolContext(project_dir=project_dir.resolve(), task_id=task)
    if agent is not None:
        from dacrew.agents.registry import load_agent

        spec = load_agent(agent, project_dir)
        if name not in spec.tools:
            raise UserError(f"agent {agent} does not hold the tool {name} (its tools: {', '.join(spec.tools)})")
        ctx.agent = spec.name
        ctx.permissions = spec.permission_set
    if task is not None:
        ctx.files = tuple(_task_files(project_dir, task))
    from pydantic import ValidationError

    try:
        result = tool.call(ctx, parsed)  # pyright: ignore[reportUnknownArgumentType]
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "arguments"
        raise UserError(f"{name}: {where}: {err['msg']}") from None
    except ApprovalRequired as exc:
        typer.echo(
            json.dumps(
                {"status": "needs_approval", "message": exc.message, "digest": exc.digest, "action": exc.action},
                indent=2,
            )
        )
        typer.echo(f"needs approval: {exc.message}", err=True)
        raise typer.Exit(3) from None
    except GuardRefused as exc:
        typer.echo(json.dumps({"status": "refused", "message": exc.message, "rule": exc.rule}, indent=2))
        typer.echo(f"refused: {exc.message}", err=True)
        raise typer.Exit(3) from None
    except ToolError as exc:
        typer.echo(json.dumps({"status": "error", "message": str(exc)}, indent=2))
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    finally:
        ctx.close()
    typer.echo(result.model_dump_json(indent=2))
    if getattr(result, "ok", True) is False:
        raise typer.Exit(1)


def _task_files(project_dir: Path, task_id: str) -> list[str]:
    from dacrew.errors import UserError
    from dacrew.plan.parse import parse_plan_file

    plan_path = project_dir / "tasks.md"
    if not plan_path.is_file():
        raise UserError("--task needs the project's tasks.md", path=str(plan_path))
    plan = parse_plan_file(plan_path)
    if task_id not in plan.by_id:
        raise UserError(f"no task {task_id} in the plan", path=str(plan_path))
    return plan.by_id[task_id].files

"""``dacrew plan validate|show``: compile a task plan and preview its schedule."""

from __future__ import annotations

from pathlib import Path

import typer

from dacrew.errors import UserError

app = typer.Typer(
    rich_markup_mode=None, help="Validate a task plan (tasks.md) and preview its schedule.", no_args_is_help=True
)


def _compile(plan: Path, strict: bool):
    from dacrew.plan.validate import compile_plan

    compiled, warnings = compile_plan(plan, strict=strict, known_owners=_project_agents(plan))
    for warning in warnings:
        typer.echo(str(warning), err=True)
    return compiled


def _project_agents(plan: Path) -> list[str]:
    """Agents the project defines in ``prompts/<agent>.md`` beside the plan are owners too."""
    folder = plan.parent / "prompts"
    try:
        return [p.stem for p in folder.glob("*.md") if p.name != "tasks-template.md"] if folder.is_dir() else []
    except OSError:
        return []


@app.command("validate")
def validate(
    plan: Path = typer.Argument(..., help="The plan file (tasks.md).", show_default=False),
    as_json: bool = typer.Option(
        False, "--json", help="Print the compiled plan as JSON, with its diagnostics (even when it fails)."
    ),
    strict: bool = typer.Option(False, "--strict", help="Treat warnings as errors."),
) -> None:
    """Check a plan: exit 0 when it is sound (warnings on stderr), 2 otherwise, with every problem on
    stderr (``path:line: message`` for errors, ``path:line: warning: message`` for warnings)."""
    from dacrew.plan.validate import diagnose_plan

    compiled, diagnostics = diagnose_plan(plan, known_owners=_project_agents(plan))
    failing = [d for d in diagnostics if d.severity == "error" or strict]
    if as_json:
        compiled.diagnostics = [d.record() for d in diagnostics]
        typer.echo(compiled.model_dump_json(indent=2))
        if failing:
            # The JSON holds every problem; stderr gets the one sentence a failing command ends with.
            raise failing[0].to_error()
        for warning in diagnostics:
            typer.echo(str(warning), err=True)
        return
    for problem in diagnostics:
        typer.echo(str(problem), err=True)
    if failing:
        raise typer.Exit(2)
    parallel = sum(1 for t in compiled.tasks if t.parallel)
    done = sum(1 for t in compiled.tasks if t.done)
    typer.echo(
        f"{compiled.path}: {len(compiled.tasks)} tasks in {len(compiled.phases)} phases "
        f"({parallel} [P]{f', {done} done' if done else ''}), {compiled.format} format: ok"
    )
    for note in compiled.notes:
        typer.echo(f"{compiled.path}:{note.line}: note: {note.message}")


@app.command("show")
def show(
    plan: Path = typer.Argument(..., help="The plan file (tasks.md).", show_default=False),
    fmt: str = typer.Option("text", "--format", "-f", help="text, mermaid or json."),
    max_parallel: int = typer.Option(4, "--max-parallel", help="Tasks that may run at once."),
) -> None:
    """Show the plan's DAG, the waves the scheduler will run and the critical path."""
    from dacrew.plan.render import FORMATS, render

    if fmt not in FORMATS:
        raise UserError(f"unknown --format {fmt!r} (choose one of: {', '.join(FORMATS)})")
    if max_parallel < 1:
        raise UserError(f"--max-parallel must be at least 1, not {max_parallel}")
    typer.echo(render(_compile(plan, False), fmt, max_parallel))

"""``dacrew run``, ``dacrew resume`` and ``dacrew status``."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path
from typing import Any

import typer

IGNORED_ON_COPY = (".dacrew", "findings", "target", "logs", "dbt_packages", ".venv", "__pycache__", ".git")


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("resume")(resume)
    app.command("status")(status)


def _resolve_target(target: Path, project_dir: Path | None) -> tuple[Path, Path]:
    """(project folder, plan file) from ``TARGET`` and ``--project-dir``."""
    from dacrew.errors import UserError

    if not target.exists():
        raise UserError("no such plan file or project folder", path=str(target))
    if target.is_dir():
        plan = target / "tasks.md"
        if not plan.is_file():
            raise UserError("the folder holds no tasks.md", path=str(target))
        project = project_dir or target
        return project.resolve(), plan.resolve()
    project = project_dir or Path.cwd()
    return project.resolve(), target.resolve()


def _copy_to_workdir(project: Path, plan: Path, workdir: Path) -> tuple[Path, Path]:
    from dacrew.errors import UserError

    workdir = workdir.resolve()
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / ".dacrew").is_dir():
            raise UserError("--workdir must be empty or a previous dacrew working copy", path=str(workdir))
        if workdir == project or project.is_relative_to(workdir):
            raise UserError("--workdir must not hold the project itself", path=str(workdir))
        # A fresh copy every time: leftovers of an earlier run must not make this one pass.
        shutil.rmtree(workdir)
    shutil.copytree(project, workdir, ignore=shutil.ignore_patterns(*IGNORED_ON_COPY), dirs_exist_ok=True)
    rel = plan.relative_to(project) if plan.is_relative_to(project) else None
    new_plan = workdir / rel if rel else plan
    return workdir, new_plan


def _asker(board: Any) -> Any:
    def ask(pending: list[dict[str, Any]]) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        with board.suspended():
            for p in pending:
                who = p.get("task") or p.get("phase") or ""
                if p.get("kind") == "question":
                    typer.echo(f"\n{who} ({p.get('agent', '')}) asks: {p.get('question')}", err=True)
                    answers[p["id"]] = typer.prompt("answer", err=True)
                else:
                    text = p.get("message") or p.get("text") or "approve?"
                    approved = typer.confirm(f"\n{who}: {text} Approve?", default=False, err=True)
                    answers[p["id"]] = {"approved": approved}
        return answers

    return ask


def _finish(result: Any, settings: Any) -> None:
    """After the board's summary: what to do next (a paused run), and where the report is."""
    if result.status == "paused":
        for p in result.pending:
            who = p.get("task") or p.get("phase")
            text = p.get("question") or p.get("message") or p.get("text")
            typer.echo(f"  waiting: {who} [{p.get('kind')}]: {text}", err=True)
        typer.echo(
            f"answer with: dacrew resume {result.run_id} --answer [TASK=]TEXT | --approve [TASK] | --deny [TASK]",
            err=True,
        )
    report = settings.run_dir / "report.html"
    if report.is_file():
        typer.echo(f"report: {report}", err=True)
    raise typer.Exit(result.exit_code)


def run(
    target: Path = typer.Argument(
        ..., metavar="TARGET", help="A plan file (tasks.md), or a folder holding dacrew.yml and tasks.md."
    ),
    project_dir: Path | None = typer.Option(
        None, "--project-dir", help="The project folder (default: TARGET if a folder, else the current folder)."
    ),
    workdir: Path | None = typer.Option(None, "--workdir", help="Copy the project here first and run on the copy."),
    model: str | None = typer.Option(
        None, "--model", help="Model for every agent: an init_chat_model string, or replay:<cassette>."
    ),
    dry_run: bool = typer.Option(
        False,
        "--dry-run",
        help="Run the whole graph with a built-in model that completes each task at once (no tools, no checks).",
    ),
    headless: bool = typer.Option(
        False, "--headless", help="Never prompt: stop with exit 3 when input or approval is needed."
    ),
    max_parallel: int | None = typer.Option(
        None, "--max-parallel", min=1, max=64, help="Most [P] tasks at once (default: run.max_parallel, 4)."
    ),
    gate: str | None = typer.Option(
        None, "--gate", help="'phases': stop for approval after each phase; 'none': no gates (overrides dacrew.yml)."
    ),
    run_id: str | None = typer.Option(None, "--run-id", help="Name the run (default: a new time-based id)."),
    report_json: Path | None = typer.Option(None, "--report-json", help="Also write the JSON report here."),
    junit: Path | None = typer.Option(None, "--junit", help="Also write a JUnit XML report here."),
    budget_usd: float | None = typer.Option(
        None, "--budget-usd", min=0, help="Stop dispatching new work once the run has cost this much."
    ),
    strict_checks: bool = typer.Option(
        False, "--strict-checks", help="An unverified check fails its task (default: checks in dacrew.yml)."
    ),
) -> None:
    """Run a task plan to the end: each task to its specialist, verified, findings handed on."""
    from dacrew.config import load_config
    from dacrew.errors import UserError
    from dacrew.findings.format import now_iso
    from dacrew.graph.state import RunSettings, list_runs, new_run_id
    from dacrew.plan.validate import compile_plan

    if gate not in (None, "phases", "none"):
        raise UserError(f"--gate takes 'phases' or 'none', not {gate!r}")
    project, plan = _resolve_target(target, project_dir)
    if workdir is not None:
        project, plan = _copy_to_workdir(project, plan, workdir)
    _plan, warnings = compile_plan(plan)
    for w in warnings:
        typer.echo(str(w), err=True)
    config = load_config(project)
    _warn_about_paused_runs(project)
    if dry_run and workdir is None:
        _refuse_dry_run_over_real_findings(project)
    rid = run_id or new_run_id()
    if run_id is not None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", run_id) or ".." in run_id:
            raise UserError(f"invalid run id {run_id!r}: letters, digits, '_', '-' and '.' only")
        if rid in list_runs(project):
            raise UserError(f"run {rid} exists already: `dacrew resume {rid}` goes on with it")
    if model and model.startswith("replay:"):
        raw = Path(model.removeprefix("replay:"))
        model = "replay:" + str(raw if raw.is_absolute() else (Path.cwd() / raw).resolve())
    settings = RunSettings(
        run_id=rid,
        plan=str(plan.relative_to(project)) if plan.is_relative_to(project) else str(plan),
        project_dir=str(project),
        model=model,
        dry_run=dry_run,
        headless=headless,
        max_parallel=max_parallel or config.run.max_parallel,
        gates=(gate or config.gates) == "phases",
        budget_usd=budget_usd if budget_usd is not None else config.run.budget_usd,
        strict_checks=strict_checks or config.checks == "strict",
        step_limit=config.run.step_limit,
        report_json=str(report_json.resolve()) if report_json else None,
        junit=str(junit.resolve()) if junit else None,
        created=now_iso(),
    )
    _execute(settings, is_resume=False)


def _refuse_dry_run_over_real_findings(project: Path) -> None:
    """A dry run writes findings too; it must not replace the findings a real run left."""
    from dacrew.errors import UserError
    from dacrew.findings.store import FindingsStore
    from dacrew.graph.state import list_runs, load_settings

    runs = set(list_runs(project))
    for finding in FindingsStore(project).all().values():
        if finding.run_id in runs and not load_settings(project, finding.run_id).dry_run:
            raise UserError(
                f"findings/ holds the findings of run {finding.run_id}; a dry run would replace them: "
                "add --workdir DIR to dry-run on a copy",
                path=str(project),
            )


def _warn_about_paused_runs(project: Path) -> None:
    """Findings are per project: a new run rewrites the findings a paused run will resume from."""
    from dacrew.graph.runner import last_pending
    from dacrew.graph.state import list_runs, load_settings

    for rid in list_runs(project):
        if last_pending(load_settings(project, rid)):
            typer.echo(
                f"warning: run {rid} is paused in this project; this run rewrites the findings it shares "
                f"(finish it first with `dacrew resume {rid}`)",
                err=True,
            )


def _execute(settings: Any, *, is_resume: bool, resume_values: dict[str, Any] | None = None) -> None:
    from dacrew.graph.runner import execute_run

    interactive = not settings.headless and sys.stdin.isatty()
    observers, board = _board(settings, replay=is_resume)
    try:
        with board:
            result = execute_run(
                settings,
                resume=resume_values,
                is_resume=is_resume,
                ask=_asker(board) if interactive else None,
                observers=observers,
            )
    except KeyboardInterrupt:
        typer.echo(f"\nstopped: `dacrew resume {settings.run_id}` goes on where it left off", err=True)
        raise typer.Exit(130) from None
    typer.echo(board.summary(), err=True)
    _finish(result, settings)


def _board(settings: Any, *, replay: bool) -> tuple[list[Any], Any]:
    """The live task board (plain log lines when stderr is not a terminal)."""
    from rich.console import Console

    from dacrew.plan.validate import compile_plan
    from dacrew.report.board import Board

    plan, _ = compile_plan(settings.plan_path)
    board = Board(plan, console=Console(stderr=True))
    if replay:
        from dacrew.findings.events import read_events

        board.replay(read_events(settings.run_dir))
    return [board.handle], board


def resume(
    run_id: str = typer.Argument(..., metavar="RUN_ID", help="The run to go on with (see `dacrew status`)."),
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="The project folder."),
    headless: bool | None = typer.Option(
        None, "--headless/--interactive", help="Never prompt (default: as the run was started)."
    ),
    answer: list[str] = typer.Option([], "--answer", help="[TASK=]TEXT: answer a pending question."),
    approve: list[str] = typer.Option(
        [], "--approve", help="[TASK]: approve a pending request (or a phase gate, by phase)."
    ),
    deny: list[str] = typer.Option([], "--deny", help="[TASK]: deny a pending request (or a phase gate, by phase)."),
    budget_usd: float | None = typer.Option(None, "--budget-usd", min=0, help="Raise the run's budget."),
    strict_checks: bool = typer.Option(
        False, "--strict-checks", help="From now on an unverified check fails its task."
    ),
) -> None:
    """Go on with a stopped, crashed or waiting run: finished tasks are not run again."""
    from dacrew.cli.answers import resolve_answers
    from dacrew.graph.runner import last_pending
    from dacrew.graph.state import load_settings

    settings = load_settings(project_dir.resolve(), run_id)
    if headless is not None:
        settings.headless = headless
    if budget_usd is not None:
        settings.budget_usd = budget_usd
    if strict_checks:
        settings.strict_checks = True
    values: dict[str, Any] | None = None
    if answer or approve or deny:
        values = resolve_answers(last_pending(settings), answer, list(approve), list(deny))
    _execute(settings, is_resume=True, resume_values=values)


def status(
    run_id: str | None = typer.Argument(None, metavar="[RUN_ID]", help="The run (default: the latest)."),
    project_dir: Path = typer.Option(Path("."), "--project-dir", help="The project folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a run's tasks, their status, and what it waits for."""
    from dacrew.cli.status_view import dump, status_of
    from dacrew.errors import UserError
    from dacrew.graph.state import list_runs, load_settings

    project = project_dir.resolve()
    if run_id is None:
        runs = list_runs(project)
        if not runs:
            raise UserError(f"no runs in {project} yet: start one with `dacrew run tasks.md`")
        run_id = runs[-1]
    info = status_of(load_settings(project, run_id))
    if as_json:
        typer.echo(dump(info))
        return
    typer.echo(f"run {info['run_id']}: {info['status']} · plan {info['plan']}")
    widths = [max((len(str(t[k])) for t in info["tasks"]), default=0) for k in ("task", "status", "owner")]
    for t in info["tasks"]:
        cells = [str(t[k]).ljust(w) for k, w in zip(("task", "status", "owner"), widths, strict=True)]
        typer.echo(f"  {'  '.join(cells)}  attempt {t['attempt']}")
    for p in info["pending"]:
        typer.echo(f"  waiting: {p.get('task')} [{p.get('kind')}] {p.get('text')}")

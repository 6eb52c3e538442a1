"""``dacrew status`` (one run's tasks and what it waits for) and ``dacrew runs`` (a project's runs).

Without ``--project-dir`` both look in the current folder and in the last ``--workdir`` used from it
(:mod:`dacrew.cli.where`). With ``--json`` they always answer in JSON, errors included
(``{"error": "…"}``, exit 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

PROJECT_DIR_HELP = "The project folder (default: here, or the last --workdir used from here)."


def register(app: typer.Typer) -> None:
    app.command("status")(status)
    app.command("runs")(runs)


def _answer(as_json: bool, body: Callable[[], Any]) -> None:
    """Run ``body``; with ``--json``, a dacrew error is JSON on stdout too (exit 2)."""
    from dacrew.errors import UserError

    if not as_json:
        body()
        return
    try:
        body()
    except UserError as exc:
        typer.echo(json.dumps({"error": str(exc)}))
        raise typer.Exit(exc.exit_code) from None


def status(
    run_id: str | None = typer.Argument(None, metavar="[RUN_ID]", help="The run (default: the latest)."),
    project_dir: Path | None = typer.Option(None, "--project-dir", help=PROJECT_DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (errors too)."),
) -> None:
    """Show a run's tasks, their status, and what it waits for."""
    _answer(as_json, lambda: _status(run_id, project_dir, as_json))


def _status(run_id: str | None, project_dir: Path | None, as_json: bool) -> None:
    from dacrew.cli.status_view import dump, status_of
    from dacrew.cli.where import candidate_projects, latest_run, no_runs_message, project_of_run
    from dacrew.errors import UserError
    from dacrew.graph.shared import load_run, open_shared
    from dacrew.report.requests import describe_request

    projects = candidate_projects(project_dir)
    if run_id is None:
        latest = latest_run(projects)
        if latest is not None:
            project, run_id = latest
        else:
            project = projects[0]
            with open_shared(project) as shared:  # runs of this project kept in a shared database
                if shared is None or not shared.run_ids():
                    raise UserError(no_runs_message(projects))
    else:
        project = project_of_run(run_id, projects)
    settings, shared_events, shared_findings = load_run(project, run_id)
    info = status_of(settings, events=shared_events, findings=shared_findings)
    info["project_dir"] = str(project)
    if as_json:
        typer.echo(dump(info))
        return
    typer.echo(f"run {info['run_id']}: {info['status']} · plan {info['plan']} · in {project}")
    widths = [max((len(str(t[k])) for t in info["tasks"]), default=0) for k in ("task", "status", "owner")]
    for t in info["tasks"]:
        cells = [str(t[k]).ljust(w) for k, w in zip(("task", "status", "owner"), widths, strict=True)]
        typer.echo(f"  {'  '.join(cells)}  attempt {t['attempt']}")
    for p in info["pending"]:
        typer.echo(f"  waiting: {p.get('task')} [{p.get('kind')}] {p.get('text')}")
        request = describe_request(p.get("request"), str(p.get("digest") or ""))
        if request:
            typer.echo(f"    request: {request}")


def runs(
    project_dir: Path | None = typer.Option(None, "--project-dir", help=PROJECT_DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (errors too)."),
) -> None:
    """List a project's runs, oldest first: id, started, status, tasks completed, cost (USD)."""
    _answer(as_json, lambda: _runs(project_dir, as_json))


def _runs(project_dir: Path | None, as_json: bool) -> None:
    from dacrew.cli.status_view import dump, run_summaries
    from dacrew.cli.where import candidate_projects, latest_run, no_runs_message

    projects = candidate_projects(project_dir)
    latest = latest_run(projects)
    if latest is None:
        if as_json:
            typer.echo(dump({"project_dir": str(projects[0]), "runs": []}))
            return
        typer.echo(no_runs_message(projects))
        return
    project = latest[0]
    rows = run_summaries(project)
    if as_json:
        typer.echo(dump({"project_dir": str(project), "runs": rows}))
        return
    typer.echo(f"runs in {project}:")
    header = ("run", "started", "status", "tasks", "cost")
    table = [header] + [
        (r["run_id"], r["started"] or "", r["status"], f"{r['completed']}/{r['tasks']}", f"${r['usd']:.4f}")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        typer.echo("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())

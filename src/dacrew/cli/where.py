"""Where a run lives, and the command that reaches it from the current folder.

A ``--workdir`` run lives in its work folder, not where it was started: ``run`` records that folder in
``.dacrew/last-workdir`` of the current folder, so ``status``, ``runs`` and ``resume`` find it again
without ``--project-dir``; and the commands dacrew prints name the folder whenever it is not the current
one, in the form that works in the user's shell (``uv run dacrew …`` when ``dacrew`` is not on its PATH).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

LAST_WORKDIR = "last-workdir"


def remember_workdir(workdir: Path, here: Path | None = None) -> None:
    """Record ``workdir`` (absolute) in ``<here>/.dacrew/last-workdir`` (``here``: the current folder)."""
    from dacrew.graph.state import STATE_DIR

    record = (here or Path.cwd()) / STATE_DIR / LAST_WORKDIR
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(f"{workdir.resolve()}\n", encoding="utf-8")


def last_workdir(here: Path | None = None) -> Path | None:
    """The work folder the last ``--workdir`` run started from ``here`` used, if it still exists."""
    from dacrew.graph.state import STATE_DIR

    record = (here or Path.cwd()) / STATE_DIR / LAST_WORKDIR
    if not record.is_file():
        return None
    folder = Path(record.read_text(encoding="utf-8").strip())
    return folder if folder.is_absolute() and folder.is_dir() else None


def candidate_projects(project_dir: Path | None) -> list[Path]:
    """The folders a command looks in: ``--project-dir`` when given, else the current folder and the
    last work folder used from it."""
    if project_dir is not None:
        return [project_dir.resolve()]
    here = Path.cwd().resolve()
    work = last_workdir(here)
    return [here] if work is None or work == here else [here, work]


def latest_run(projects: list[Path]) -> tuple[Path, str] | None:
    """(project, run id) of the most recently started run among ``projects`` (by ``run.json``'s
    ``created``), or None when none holds a run."""
    from dacrew.graph.state import list_runs, load_settings

    best: tuple[str, Path, str] | None = None
    for project in projects:
        for run_id in list_runs(project):
            created = load_settings(project, run_id).created or ""
            if best is None or created >= best[0]:
                best = (created, project, run_id)
    return None if best is None else (best[1], best[2])


def project_of_run(run_id: str, projects: list[Path]) -> Path:
    """The first of ``projects`` that holds run ``run_id`` (else the first: its error names the runs)."""
    from dacrew.graph.state import list_runs

    return next((p for p in projects if run_id in list_runs(p)), projects[0])


def no_runs_message(projects: list[Path]) -> str:
    """Where to look when no run is found."""
    where = " or ".join(str(p) for p in projects)
    return (
        f"no runs in {where} yet: start one with `{dacrew_command()} run tasks.md`; a run started with "
        f"--workdir DIR lives in DIR (`{dacrew_command()} status --project-dir DIR`)"
    )


def dacrew_command() -> str:
    """How the user's shell starts dacrew: ``dacrew`` when it is on their PATH, ``uv run dacrew`` when
    only ``uv run`` put it there, else this interpreter with ``-m dacrew``."""
    path = os.environ.get("PATH", "").split(os.pathsep)
    if os.environ.get("UV"):
        # `uv run` puts the environment's scripts folder first: the user's own PATH is the rest.
        scripts = str(Path(sys.executable).parent)
        if path and path[0] == scripts:
            path = path[1:]
        if shutil.which("dacrew", path=os.pathsep.join(path)) is None:
            return "uv run dacrew"
    if shutil.which("dacrew", path=os.pathsep.join(path)) is not None:
        return "dacrew"
    return f"{shlex.quote(sys.executable)} -m dacrew"


def resume_command(run_id: str, project: Path) -> str:
    """The exact command that resumes ``run_id`` from the current folder."""
    command = f"{dacrew_command()} resume {shlex.quote(run_id)}"
    here = Path.cwd().resolve()
    project = project.resolve()
    if project == here:
        return command
    shown = project.relative_to(here) if project.is_relative_to(here) else project
    return f"{command} --project-dir {shlex.quote(str(shown))}"

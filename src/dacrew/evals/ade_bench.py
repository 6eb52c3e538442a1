"""ADE-bench tasks as dacrew cases (``dacrew eval import ade-bench TASK_DIR``).

An ADE-bench task folder holds ``task.yaml`` (prompts, ``test_setup``, ``solution_seeds``, variants by
database and project), ``setup.sh`` (how the project is prepared before the agent starts),
``seeds/solution__<table>.csv`` (the expected tables), ``tests/AUTO_<table>_{equality,existence}.sql``
and ``macros/`` (the scoring), beside ``../../shared/projects/<project_type>/<project_name>/`` (the dbt
project) and ``../../shared/databases/duckdb/<db_name>.duckdb`` (a release download).

The case it becomes (in the suite folder ``OUT``):

* ``projects/<task_id>/`` — the dbt project as the agent finds it: ``setup.sh``'s ``rm -r`` and
  ``patch -p1`` steps applied, the DuckDB file copied in, ``packages.yml`` left out (``dbt deps`` needs
  the network), ``dacrew.yml`` and a one-task plan (``tasks.md``) for the right specialist, the prompt as
  its description and ``test_setup``'s selection as its ``dbt: build`` check;
* ``scoring/<task_id>/`` — the solution seeds, the AUTO tests and their macros, copied into the project
  only after the run (the agent never sees the answer);
* ``scoring_build`` — the solution seeds, built into the case's copy after the run (as ADE-bench loads
  them before its tests);
* scorers — one ``table: <table> matches seeds/solution__<table>.csv`` per solution seed, and the task's
  dbt tests as one ``dbt: test --select AUTO_…`` scorer.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

from dacrew.errors import UserError
from dacrew.evals.suite import SUITE_FILE, Case, Scorer

SPECIALIST = "dbt-expert"
"""ADE-bench's projects are dbt projects (``project_type: dbt`` or ``dbt-fusion``): the dbt specialist."""
_SELECT = re.compile(r"(?:--select|-s)\s+(.+)$")


def _read_task(task_dir: Path) -> dict[str, Any]:
    import yaml

    path = task_dir / "task.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError("not an ADE-bench task folder: no task.yaml", path=str(task_dir)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise UserError(f"not valid YAML: {exc}", path=str(path), line=mark.line + 1 if mark else None) from None
    if not isinstance(data, dict) or not data.get("task_id"):
        raise UserError("task.yaml names no task_id", path=str(path))
    return data  # pyright: ignore[reportUnknownVariableType]


def _variant(task: dict[str, Any], path: Path) -> dict[str, Any]:
    for variant in task.get("variants") or []:
        if variant.get("db_type") == "duckdb" and variant.get("project_type") == "dbt":
            return variant
    raise UserError("task.yaml has no variant with db_type: duckdb and project_type: dbt", path=str(path))


def _prompt(task: dict[str, Any], key: str, path: Path) -> str:
    prompts = {str(p.get("key")): str(p.get("prompt", "")) for p in task.get("prompts") or []}
    if key not in prompts:
        raise UserError(f"task.yaml has no prompt {key!r} (prompts: {', '.join(prompts) or 'none'})", path=str(path))
    return prompts[key].strip()


def _inside(root: Path, relative: str) -> Path:
    target = (root / relative).resolve()
    if not target.is_relative_to(root.resolve()) or target == root.resolve():
        raise UserError(f"setup.sh names a path outside the project: {relative}")
    return target


def _task_file(task_dir: Path, written: str) -> Path | None:
    """A file setup.sh names by its path in ADE-bench's container (``/app/setup/changes.patch``): the
    same file in the task folder, found by the longest tail of its path that exists there."""
    parts = Path(written).parts
    for start in range(len(parts)):
        candidate = task_dir.joinpath(*parts[start:])
        if parts[start:] and candidate.is_file():
            return candidate
    return None


def apply_setup(task_dir: Path, project: Path) -> list[str]:
    """Apply setup.sh's ``rm -r`` and ``patch -p1 <`` steps to ``project``; returns the steps left out."""
    script = task_dir / "setup.sh"
    if not script.is_file():
        return []
    left: list[str] = []
    for raw in script.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        if words[0] == "rm" and any(w.startswith("-") and "r" in w for w in words[1:]):
            for name in (w for w in words[1:] if not w.startswith("-")):
                shutil.rmtree(_inside(project, name), ignore_errors=True)
        elif words[:2] == ["patch", "-p1"] and "<" in words:
            patch = _task_file(task_dir, words[words.index("<") + 1])
            if patch is None:
                raise UserError(f"setup.sh applies {words[-1]}, which the task folder does not hold", path=str(script))
            done = subprocess.run(
                ["git", "apply", "-p1", str(patch)], cwd=project, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise UserError(f"setup.sh's patch does not apply: {done.stderr.strip()}", path=str(patch))
        else:
            left.append(line)
    return left


def _plan(task_id: str, title: str, prompt: str, selection: str | None) -> str:
    lines = [
        f"# Data Analytics Tasks: ADE-bench {task_id}",
        "",
        "## Eval Tasks",
        "",
        f"### T001: {title}",
        f"**Owner**: {SPECIALIST}",
        "**Dependencies**: None",
        "**Files**: `models/**`",
        "**Description**:",
        *(f"- {line.strip()}" for line in prompt.splitlines() if line.strip()),
        f"**Acceptance**: {prompt.splitlines()[0].strip()}",
    ]
    if selection:
        lines += ["**Checks**:", f"- dbt: build --select {selection}"]
    return "\n".join(lines) + "\n"


def import_task(
    task_dir: Path,
    output: Path,
    *,
    project: Path | None = None,
    database: Path | None = None,
    prompt_key: str = "base",
) -> Case:
    """Write the task's project, scoring files and case into the suite folder ``output``; returns the case."""
    task_dir = task_dir.resolve()
    task = _read_task(task_dir)
    task_yaml = task_dir / "task.yaml"
    task_id = str(task["task_id"])
    variant = _variant(task, task_yaml)
    shared = task_dir.parent.parent / "shared"
    project = project or shared / "projects" / "dbt" / str(variant.get("project_name"))
    if not (project / "dbt_project.yml").is_file():
        raise UserError("no dbt project here (pass --project)", path=str(project))
    database = database or shared / "databases" / "duckdb" / f"{variant.get('db_name')}.duckdb"
    if not database.is_file():
        raise UserError(
            "the task's DuckDB database is not here (ADE-bench publishes it as a release download): pass --database",
            path=str(database),
        )
    prompt = _prompt(task, prompt_key, task_yaml)
    seeds = [str(s["table_name"]) for s in task.get("solution_seeds") or [] if s.get("table_name")]
    if not seeds:
        raise UserError("task.yaml lists no solution_seeds to score on", path=str(task_yaml))

    target = output / "projects" / task_id
    scoring = output / "scoring" / task_id
    for folder in (target, scoring):
        if folder.exists():
            shutil.rmtree(folder)
    shutil.copytree(project, target, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages", "*.duckdb"))
    for name in ("packages.yml", "package-lock.yml"):
        (target / name).unlink(missing_ok=True)
    left = apply_setup(task_dir, target)
    shutil.copyfile(database, target / database.name)
    (target / "dacrew.yml").write_text("dbt:\n  project_dir: .\n", encoding="utf-8")
    selection = _SELECT.search(str(task.get("test_setup") or "").strip())
    (target / "tasks.md").write_text(
        _plan(
            task_id, str(task.get("description") or task_id), prompt, selection.group(1).strip() if selection else None
        ),
        encoding="utf-8",
    )
    tests = sorted(p.name for p in (task_dir / "tests").glob("AUTO_*.sql"))
    for sub in ("seeds", "tests", "macros"):
        source = task_dir / sub
        if source.is_dir():
            shutil.copytree(
                source, scoring / sub, ignore=shutil.ignore_patterns("_no-op.txt", "*.patch"), dirs_exist_ok=True
            )
    scorers = [Scorer(table=f"{table} matches seeds/solution__{table}.csv") for table in seeds]
    scorers.append(Scorer(check=f"dbt: test --select {' '.join(Path(t).stem for t in tests)}"))
    note = f" Not applied from setup.sh: {'; '.join(left)}." if left else ""
    case = Case(
        name=task_id,
        description=f"ADE-bench {task_id} ({prompt_key} prompt): {task.get('description', '')}{note}".strip(),
        project=f"projects/{task_id}",
        cassette=f"cassettes/{task_id}.jsonl",
        scoring_files=f"scoring/{task_id}",
        scoring_build=" ".join(f"solution__{t}" for t in seeds),
        scorers=scorers,
    )
    _add_case(output, case)
    return case


def _add_case(output: Path, case: Case) -> None:
    """Add (or replace) the case in ``output/suite.yml``, creating the suite if needed."""
    import yaml

    path = output / SUITE_FILE
    data: dict[str, Any] = {"name": "ade-bench", "source": "recorded", "cases": []}
    if path.is_file():
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            data = loaded  # pyright: ignore[reportUnknownVariableType]
    cases = [c for c in data.get("cases") or [] if c.get("name") != case.name]
    cases.append(case.model_dump(exclude_defaults=True))
    data["cases"] = cases
    output.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")

"""A pipeline in Orchestra's own YAML, read: its problems by orchestra-lang's validator (with YAML positions), its steps, and the dbt commands its dbt steps run."""

from __future__ import annotations

import importlib
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, Field

DBT_INTEGRATION = "DBT_CORE"


KEY_LINE_RE = re.compile(r'^(?P<indent> *)"(?P<key>(?:[^"\\]|\\.)*)":')


SPLIT_COMMANDS_RE = re.compile(r"\s*(?:;|&&|\|\||\n)\s*")


DBT_TOOLS = {
    "build": "dbt_build",
    "run": "dbt_run",
    "test": "dbt_test",
    "seed": "dbt_build",  # restricted to seeds: see dbt_tool_args
    "snapshot": "dbt_snapshot",
    "compile": "dbt_compile",
    "ls": "dbt_ls",
    "list": "dbt_ls",
}


SELECT_FLAGS = {"--select", "-s", "--models", "-m"}
EXCLUDE_FLAGS = {"--exclude"}
SELECTOR_FLAGS = {"--selector"}


class Problem(BaseModel):
    """One thing wrong with a pipeline file, located by task and YAML line."""

    severity: Literal["error", "warning"]
    message: str
    task: str | None = None
    path: str = Field(default="", description="Where in the document, e.g. pipeline.publish.tasks.refresh")
    line: int | None = Field(default=None, description="1-based line in the YAML file")
    column: int | None = Field(default=None, description="1-based column of the key at fault")
    source: Literal["yaml", "orchestra-lang", "dbt-manifest"]

    def render(self, file: str) -> str:
        where = f"{file}:{self.line}" if self.line else file
        where += f":{self.column}" if self.line and self.column else ""
        task = f" [task {self.task}]" if self.task else ""
        return f"{where}:{task} {self.message}"


@dataclass
class Step:
    """A task of the pipeline, flattened out of its group."""

    id: str
    group: str | None
    integration: str
    job: str
    parameters: dict[str, Any]
    depends_on: set[str] = field(default_factory=set[str])


# -- reading ---------------------------------------------------------------------------------------
def load(text: str) -> tuple[dict[str, Any], yaml.Node | None, list[Problem]]:
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return (
            {},
            None,
            [
                Problem(
                    severity="error",
                    message=f"invalid YAML: {exc.problem}",
                    line=mark.line + 1 if mark else None,
                    source="yaml",
                )
            ],
        )
    if not isinstance(data, dict):
        return (
            {},
            None,
            [
                Problem(
                    severity="error",
                    message="a pipeline file is a mapping (version, name, pipeline)",
                    line=1,
                    source="yaml",
                )
            ],
        )
    return cast(dict[str, Any], data), node, []


def yaml_pos(node: yaml.Node | None, path: list[str]) -> tuple[int | None, int | None]:
    """1-based line and column of the deepest key of ``path`` found in the YAML."""
    pos: tuple[int | None, int | None] = (None, None)
    for key in path:
        if not isinstance(node, yaml.MappingNode):
            break
        match = next(((k, v) for k, v in node.value if str(k.value) == key), None)
        if match is None:
            break
        pos, node = (match[0].start_mark.line + 1, match[0].start_mark.column + 1), match[1]
    return pos


def json_paths(dumped: str) -> list[list[str]]:
    """For each line of ``json.dumps(..., indent=2)``, the key path it belongs to."""
    stack: list[str] = []
    paths: list[list[str]] = []
    for raw in dumped.splitlines():
        depth = (len(raw) - len(raw.lstrip(" "))) // 2
        m = KEY_LINE_RE.match(raw)
        if m:
            stack = [*stack[: depth - 1], json.loads(f'"{m["key"]}"')]
            paths.append(list(stack))
        else:
            paths.append(stack[: max(depth - 1, 0)])
    return paths


def task_of(path: list[str]) -> str | None:
    if len(path) >= 4 and path[0] == "pipeline" and path[2] == "tasks":
        return path[3]
    if len(path) >= 2 and path[0] == "pipeline":
        return path[1]
    return None


def orchestra_problems(data: dict[str, Any], node: yaml.Node | None) -> list[Problem]:
    """Orchestra's own validator (schema, integration parameters, dependencies, cycles, cron)."""
    oml: Any = importlib.import_module("oml_lang")
    dumped = json.dumps(data, indent=2, default=str)
    paths = json_paths(dumped)
    problems: list[Problem] = []
    for msg in oml.analyze(dumped).errors():
        line = int(msg.start().line())
        path = paths[line] if 0 <= line < len(paths) else []
        text = str(msg.message())
        # "must conform to" lines only repeat the specific message that follows them
        if "must conform to" in text:
            continue
        problems.append(
            Problem(
                # Schema violations come as warnings, yet Orchestra does not import such a file.
                severity="error",
                message=text,
                task=task_of(path),
                path=".".join(path),
                line=yaml_pos(node, path)[0],
                column=yaml_pos(node, path)[1],
                source="orchestra-lang",
            )
        )
    return problems


def steps_of(data: dict[str, Any]) -> list[Step]:
    """Every task, groups flattened: a task depends on its own depends_on and on its group's (a
    dependency on a group means on every task of that group)."""
    pipeline = data.get("pipeline")
    if not isinstance(pipeline, dict):
        return []
    entries = cast(dict[str, Any], pipeline)
    members: dict[str, list[str]] = {}
    raw_steps: list[tuple[Step, list[str]]] = []
    for entry_id, entry in entries.items():
        if not isinstance(entry, dict):
            continue
        spec = cast(dict[str, Any], entry)
        group_deps = [str(d) for d in cast(list[Any], spec.get("depends_on") or [])]
        tasks = spec.get("tasks")
        if isinstance(tasks, dict):
            for task_id, task in cast(dict[str, Any], tasks).items():
                t = cast(dict[str, Any], task) if isinstance(task, dict) else {}
                deps = group_deps + [str(d) for d in cast(list[Any], t.get("depends_on") or [])]
                raw_steps.append((pipeline_step(task_id, entry_id, t), deps))
                members.setdefault(entry_id, []).append(task_id)
        else:
            raw_steps.append((pipeline_step(entry_id, None, spec), group_deps))
            members[entry_id] = [entry_id]
    for step, deps in raw_steps:
        for dep in deps:
            step.depends_on.update(members.get(dep, [dep]))
    return [s for s, _ in raw_steps]


def pipeline_step(task_id: str, group: str | None, spec: dict[str, Any]) -> Step:
    params = spec.get("parameters")
    return Step(
        id=str(task_id),
        group=group,
        integration=str(spec.get("integration", "")),
        job=str(spec.get("integration_job", "")),
        parameters=cast(dict[str, Any], params) if isinstance(params, dict) else {},
    )


def dbt_commands(step: Step) -> list[list[str]]:
    """The dbt commands of a DBT_CORE step, each split into arguments (``dbt`` dropped)."""
    if step.integration != DBT_INTEGRATION:
        return []
    commands: list[list[str]] = []
    for part in SPLIT_COMMANDS_RE.split(str(step.parameters.get("commands", ""))):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        if words and words[0] == "dbt":
            commands.append(_subcommand_first(words[1:]))
    return commands


# dbt's flags that may come before the subcommand and take a value (``dbt --log-format json build``).
_GLOBAL_VALUE_FLAGS = {
    "--log-format",
    "--log-level",
    "--log-path",
    "--printer-width",
    "--profiles-dir",
    "--project-dir",
}


def _subcommand_first(words: list[str]) -> list[str]:
    """``--no-use-colors build -s a`` → ``build --no-use-colors -s a``: the subcommand leads."""
    skip = False
    for index, word in enumerate(words):
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _GLOBAL_VALUE_FLAGS
        else:
            return [word, *words[:index], *words[index + 1 :]]
    return words


def flag_values(command: list[str], flags: set[str]) -> list[str]:
    """The values given to any of ``flags``: ``--select a b``, ``-s a``, ``--select=a``, repeated flags."""
    out: list[str] = []
    taking = False
    for word in command[1:]:
        if word.startswith("-"):
            name, equals, value = word.partition("=")
            taking = name in flags and not equals
            if name in flags and equals and value:
                out.append(value)
            continue
        if taking:
            out.append(word)
    return out


def selectors_of(command: list[str]) -> list[str]:
    """What a command selects, as dbt selection syntax: its ``--select`` values and, for each
    ``--selector NAME``, ``selector:NAME`` (dbt's method for a selectors.yml definition)."""
    return [*flag_values(command, SELECT_FLAGS), *(f"selector:{n}" for n in flag_values(command, SELECTOR_FLAGS))]


def dbt_tool_args(command: list[str]) -> dict[str, Any]:
    """The dbt toolset's arguments for one dbt command: select (``--select``/``-s``/``--models``/``-m``),
    exclude, selector (``--selector``, a selectors.yml name), target, full_refresh; ``dbt seed`` selects
    only seeds.

    Values that are Orchestra expressions (``${{ … }}``) exist only on Orchestra and are left out.
    """
    args: dict[str, Any] = {}
    values = {
        "select": [v for v in flag_values(command, SELECT_FLAGS) if "${{" not in v],
        "selector": [v for v in flag_values(command, SELECTOR_FLAGS) if "${{" not in v][-1:],
        "exclude": [v for v in flag_values(command, EXCLUDE_FLAGS) if "${{" not in v],
        "target": [v for v in flag_values(command, {"--target", "-t"}) if "${{" not in v],
    }
    if command and command[0] == "seed" and not values["selector"]:
        # `dbt seed` is `dbt build` of the seeds alone (without their tests).
        values["select"] = [f"{v},resource_type:seed" for v in values["select"]] or ["resource_type:seed"]
        values["exclude"].append("resource_type:test")
    for key, given in values.items():
        if given:
            args[key] = " ".join(given)
    if "--full-refresh" in command:
        args["full_refresh"] = True  # the dbt toolset asks a person to approve it
    return args

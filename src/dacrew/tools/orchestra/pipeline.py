"""Pipelines as code in Orchestra's own format (``orchestration/pipelines/<name>.yml``): write, validate
offline with Orchestra's validator (``orchestra-lang``) plus a check of every dbt selector against the
project's manifest, and a local dry run of the dbt steps in dependency order through the dbt toolset.

orchestra-lang reads KSON, which reads JSON exactly but YAML indentation its own way, so it is given
the YAML parsed and dumped as JSON; its positions are mapped back to the task and to the YAML line.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, Field

from dacrew.errors import ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.docs import readable_file, writable_file, write_atomic

PIPELINE_DIR = "orchestration/pipelines"
DBT_INTEGRATION = "DBT_CORE"
_NAME_RE = re.compile(r"^[A-Za-z0-9][\w\-]*$")
_KEY_LINE_RE = re.compile(r'^(?P<indent> *)"(?P<key>(?:[^"\\]|\\.)*)":')
_SPLIT_COMMANDS_RE = re.compile(r"\s*(?:;|&&|\|\|)\s*")
_DBT_TOOLS = {
    "build": "dbt_build",
    "run": "dbt_run",
    "test": "dbt_test",
    "seed": "dbt_seed",
    "snapshot": "dbt_snapshot",
    "compile": "dbt_compile",
    "ls": "dbt_ls",
    "list": "dbt_ls",
}
_SELECT_FLAGS = {"--select", "-s", "--models", "-m"}


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
def _load(text: str) -> tuple[dict[str, Any], yaml.Node | None, list[Problem]]:
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


def _yaml_pos(node: yaml.Node | None, path: list[str]) -> tuple[int | None, int | None]:
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


def _json_paths(dumped: str) -> list[list[str]]:
    """For each line of ``json.dumps(..., indent=2)``, the key path it belongs to."""
    stack: list[str] = []
    paths: list[list[str]] = []
    for raw in dumped.splitlines():
        depth = (len(raw) - len(raw.lstrip(" "))) // 2
        m = _KEY_LINE_RE.match(raw)
        if m:
            stack = [*stack[: depth - 1], json.loads(f'"{m["key"]}"')]
            paths.append(list(stack))
        else:
            paths.append(stack[: max(depth - 1, 0)])
    return paths


def _task_of(path: list[str]) -> str | None:
    if len(path) >= 4 and path[0] == "pipeline" and path[2] == "tasks":
        return path[3]
    if len(path) >= 2 and path[0] == "pipeline":
        return path[1]
    return None


def orchestra_problems(data: dict[str, Any], node: yaml.Node | None) -> list[Problem]:
    """Orchestra's own validator (schema, integration parameters, dependencies, cycles, cron)."""
    oml: Any = importlib.import_module("oml_lang")
    dumped = json.dumps(data, indent=2, default=str)
    paths = _json_paths(dumped)
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
                task=_task_of(path),
                path=".".join(path),
                line=_yaml_pos(node, path)[0],
                column=_yaml_pos(node, path)[1],
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
                raw_steps.append((_step(task_id, entry_id, t), deps))
                members.setdefault(entry_id, []).append(task_id)
        else:
            raw_steps.append((_step(entry_id, None, spec), group_deps))
            members[entry_id] = [entry_id]
    for step, deps in raw_steps:
        for dep in deps:
            step.depends_on.update(members.get(dep, [dep]))
    return [s for s, _ in raw_steps]


def _step(task_id: str, group: str | None, spec: dict[str, Any]) -> Step:
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
    for part in _SPLIT_COMMANDS_RE.split(str(step.parameters.get("commands", ""))):
        try:
            words = shlex.split(part)
        except ValueError:
            words = part.split()
        if words and words[0] == "dbt":
            commands.append(words[1:])
    return commands


def _flag_values(command: list[str], flags: set[str]) -> list[str]:
    out: list[str] = []
    taking = False
    for word in command[1:]:
        if word.startswith("-"):
            taking = word in flags
            continue
        if taking:
            out.append(word)
    return out


def selectors_of(command: list[str]) -> list[str]:
    return _flag_values(command, _SELECT_FLAGS)


def dbt_tool_args(command: list[str]) -> dict[str, Any]:
    """The dbt toolset's arguments for one dbt command: select, exclude, target, full_refresh.

    Values that are Orchestra expressions (``${{ … }}``) exist only on Orchestra and are left out.
    """
    args: dict[str, Any] = {}
    for key, flags in (("select", _SELECT_FLAGS), ("exclude", {"--exclude"}), ("target", {"--target", "-t"})):
        values = [v for v in _flag_values(command, flags) if "${{" not in v]
        if values:
            args[key] = " ".join(values)
    if "--full-refresh" in command:
        args["full_refresh"] = True  # the dbt toolset asks a person to approve it
    return args


# -- dbt selectors against the manifest -------------------------------------------------------------
def _matches(node: dict[str, Any], method: str, value: str) -> bool:
    fqn = [str(p) for p in cast(list[Any], node.get("fqn") or [])]
    if method == "tag":
        return any(fnmatch(str(t), value) for t in cast(list[Any], node.get("tags") or []))
    if method == "path":
        path = str(node.get("original_file_path", ""))
        return path == value or path.startswith(value.rstrip("/") + "/") or fnmatch(path, value)
    if method == "resource_type":
        return node.get("resource_type") == value
    if method == "package":
        return node.get("package_name") == value
    if method == "source":
        if node.get("resource_type") != "source":
            return False
        parts = value.split(".")
        ok = fnmatch(str(node.get("source_name", "")), parts[0])
        return ok and (len(parts) == 1 or fnmatch(str(node.get("name", "")), parts[1]))
    if method.startswith("config."):
        config = cast(dict[str, Any], node.get("config") or {})
        return str(config.get(method.split(".", 1)[1])) == value
    # fqn (the default): the node's name, or a dotted prefix of its fqn with or without the project
    parts = value.split(".")
    if len(parts) == 1 and fnmatch(str(node.get("name", "")), value):
        return True
    for candidate in (fqn, fqn[1:]):
        if len(candidate) >= len(parts) and all(fnmatch(c, p) for c, p in zip(candidate, parts, strict=False)):
            return True
    return False


_CHECKABLE = {"tag", "path", "resource_type", "package", "source", "fqn"}


def selector_matches(manifest: dict[str, Any], selector: str) -> bool | None:
    """True if the selector selects at least one node; None if it cannot be checked offline."""
    nodes = [cast(dict[str, Any], n) for n in cast(dict[str, Any], manifest.get("nodes") or {}).values()]
    nodes += [cast(dict[str, Any], n) for n in cast(dict[str, Any], manifest.get("sources") or {}).values()]
    for union_part in selector.split():
        selected: set[int] | None = None
        for atom in union_part.split(","):
            atom = re.sub(r"^(@|\d*\+)", "", re.sub(r"\+\d*$", "", atom))
            if ":" in atom:
                method, value = atom.split(":", 1)
            elif "/" in atom or atom.endswith((".sql", ".py", ".csv")):
                method, value = "path", atom
            else:
                method, value = "fqn", atom
            if method not in _CHECKABLE and not method.startswith("config."):
                return None  # state:, result:, selector: … need dbt itself
            hits = {i for i, n in enumerate(nodes) if _matches(n, method, value)}
            selected = hits if selected is None else selected & hits
        if selected:
            return True
    return False


def manifest_problems(ctx: ToolContext, steps: list[Step], node: yaml.Node | None) -> tuple[list[Problem], bool]:
    """Every dbt selector of the pipeline checked against target/manifest.json; True if it was read."""
    dbt_steps = [(s, c) for s in steps for c in dbt_commands(s)]
    if not dbt_steps:
        return [], True
    dbt_dir = ctx.project_dir / (ctx.config.dbt.project_dir or ".")
    manifest_path = dbt_dir / "target" / "manifest.json"
    if not manifest_path.is_file():
        return [
            Problem(
                severity="warning",
                message="no target/manifest.json, so dbt selectors were not checked: parse the project first (dbt_ls)",
                source="dbt-manifest",
            )
        ], False
    from dacrew.tools.base import WAREHOUSE_FILE_LOCK

    try:
        with WAREHOUSE_FILE_LOCK:  # dbt, in another task of this process, may be writing it
            manifest = cast(dict[str, Any], json.loads(manifest_path.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        return [
            Problem(
                severity="warning",
                message=f"target/manifest.json could not be read ({type(exc).__name__}), so dbt selectors were "
                "not checked: run dbt_ls and validate again",
                source="dbt-manifest",
            )
        ], False
    problems: list[Problem] = []
    for step, command in dbt_steps:
        for selector in selectors_of(command):
            if "${{" in selector:
                continue
            found = selector_matches(manifest, selector)
            if found is False:
                path = ["pipeline", step.group, "tasks", step.id] if step.group else ["pipeline", step.id]
                problems.append(
                    Problem(
                        severity="error",
                        message=f"dbt selector {selector!r} (in `dbt {' '.join(command)}`) matches no node of the project",
                        task=step.id,
                        path=".".join(path),
                        line=_yaml_pos(node, path)[0],
                        column=_yaml_pos(node, path)[1],
                        source="dbt-manifest",
                    )
                )
    return problems, True


# -- tools -----------------------------------------------------------------------------------------
def _pipeline_file(ctx: ToolContext, rel: str, *, tool_name: str) -> Path:
    path, _ = readable_file(ctx, rel, tool_name=tool_name)
    if not path.is_file():
        raise ToolError(f"{rel}: no such pipeline file in the project (pipelines live in {PIPELINE_DIR}/)")
    return path


class ValidateArgs(ToolArgs):
    path: str = Field(description="The pipeline file, e.g. orchestration/pipelines/customer_ltv_daily.yml.")


class ValidationResult(ToolResult):
    path: str
    valid: bool
    pipeline: str | None = None
    tasks: list[str] = Field(default_factory=list[str])
    problems: list[Problem] = Field(default_factory=list[Problem])
    selectors_checked: bool = True
    summary: str


def validate_text(ctx: ToolContext, rel: str, text: str) -> tuple[ValidationResult, dict[str, Any], list[Step]]:
    data, node, problems = _load(text)
    steps: list[Step] = []
    checked = True
    if not problems:
        problems = orchestra_problems(data, node)
        steps = steps_of(data)
        more, checked = manifest_problems(ctx, steps, node)
        problems += more
    errors = [p for p in problems if p.severity == "error"]
    summary = (
        f"{rel} is valid ({len(steps)} tasks)"
        if not errors
        else f"{rel} has {len(errors)} error(s):\n" + "\n".join(p.render(rel) for p in errors)
    )
    result = ValidationResult(
        path=rel,
        valid=not errors,
        pipeline=str(data.get("name")) if data.get("name") is not None else None,
        tasks=[s.id for s in steps],
        problems=problems,
        selectors_checked=checked,
        summary=summary,
    )
    return result, data, steps


@tool("orchestra")
def orchestra_validate_pipeline(ctx: ToolContext, args: ValidateArgs) -> ValidationResult:
    """Validate a pipeline file offline with Orchestra's own validator and the dbt manifest.

    orchestra-lang checks the schema, integration parameters, unknown dependencies, cycles and cron;
    then every dbt selector must match nodes of the project's manifest. Problems name the task and the
    YAML line.

    This only reads: ok is true; `valid` says whether the file would be accepted.
    """
    path = _pipeline_file(ctx, args.path, tool_name="orchestra_validate_pipeline")
    return validate_text(ctx, args.path, path.read_text(encoding="utf-8"))[0]


class WritePipelineArgs(ToolArgs):
    name: str = Field(description="File name without .yml; the file is orchestration/pipelines/<name>.yml.")
    content: str = Field(description="The pipeline YAML in Orchestra's format (version: v1, name, pipeline, …).")


@tool("orchestra", read_only=False)
def orchestra_write_pipeline(ctx: ToolContext, args: WritePipelineArgs) -> ValidationResult:
    """Validate a pipeline definition and write it to orchestration/pipelines/<name>.yml if valid.

    An invalid definition is not written: the error lists each problem with its task and line so you
    can fix it and call again.
    """
    if not _NAME_RE.match(args.name):
        raise ToolError(f"{args.name!r}: a pipeline file name is letters, digits, _ and - only")
    rel = f"{PIPELINE_DIR}/{args.name}.yml"
    target = writable_file(ctx, rel, tool_name="orchestra_write_pipeline")
    result = validate_text(ctx, rel, args.content)[0]
    if not result.valid:
        raise ToolError(f"not written: {result.summary}")
    write_atomic(target, args.content if args.content.endswith("\n") else args.content + "\n")
    result.summary = f"wrote {rel}: {result.summary}"
    return result


class DryRunArgs(ToolArgs):
    path: str = Field(description="The pipeline file, e.g. orchestration/pipelines/customer_ltv_daily.yml.")


class StepReport(BaseModel):
    task: str
    group: str | None = None
    integration: str
    status: Literal["succeeded", "failed", "blocked", "not_run", "skipped"]
    commands: list[str] = Field(default_factory=list[str])
    message: str = ""


class DryRunResult(ToolResult):
    path: str
    order: list[str]
    steps: list[StepReport]
    problems: list[Problem] = Field(default_factory=list[Problem])
    summary: str


DbtRunner = Callable[[ToolContext, str, dict[str, Any]], tuple[bool, str]]


def run_with_dbt_toolset(ctx: ToolContext, tool_name: str, args: dict[str, Any]) -> tuple[bool, str]:
    """Run one dbt command through the dbt toolset's tool of that name (looked up when needed)."""
    from pydantic import ValidationError

    from dacrew.tools.registry import load_all

    found = load_all().get(tool_name)
    if found is None:
        raise LookupError(f"the dbt toolset has no {tool_name} tool here, so this step was not run")
    try:
        result = found.call(ctx, args)
    except ValidationError as exc:
        return False, f"{tool_name} rejected the arguments {args}: {exc.errors()[0]['msg']}"
    except ToolError as exc:
        return False, str(exc)
    ok = bool(getattr(result, "ok", True))
    text = result.model_dump_json()
    return ok, text if len(text) <= 1500 else text[:1500] + "…"


def topological(steps: list[Step]) -> list[Step]:
    """Steps in dependency order, file order among equals; raises ToolError on a cycle."""
    by_id = {s.id: s for s in steps}
    done: set[str] = set()
    order: list[Step] = []
    while len(order) < len(steps):
        ready = [s for s in steps if s.id not in done and all(d in done or d not in by_id for d in s.depends_on)]
        if not ready:
            stuck = sorted(s.id for s in steps if s.id not in done)
            raise ToolError(f"the pipeline's dependencies form a cycle among: {', '.join(stuck)}")
        order.append(ready[0])
        done.add(ready[0].id)
    return order


def dry_run(ctx: ToolContext, rel: str, text: str, runner: DbtRunner = run_with_dbt_toolset) -> DryRunResult:
    validation, _, steps = validate_text(ctx, rel, text)
    if not validation.valid:
        return DryRunResult(
            ok=False, path=rel, order=[], steps=[], problems=validation.problems, summary=validation.summary
        )
    order = topological(steps)
    status: dict[str, str] = {}
    reports: list[StepReport] = []
    for step in order:
        commands = dbt_commands(step)
        report = StepReport(
            task=step.id,
            group=step.group,
            integration=step.integration,
            status="succeeded",
            commands=["dbt " + " ".join(c) for c in commands],
        )
        upstream_bad = sorted(d for d in step.depends_on if status.get(d) in {"failed", "blocked", "not_run"})
        if upstream_bad:
            report.status, report.message = "blocked", f"not run: upstream {', '.join(upstream_bad)} did not succeed"
        elif not commands:
            report.status = "skipped"
            report.message = f"{step.integration}/{step.job} runs only on Orchestra; nothing to run locally"
        else:
            report.status, report.message = _run_commands(ctx, commands, runner)
        status[step.id] = report.status
        reports.append(report)
    ran = [r for r in reports if r.commands]
    bad = [r for r in ran if r.status != "succeeded"]
    summary = f"dry run of {rel}: {len(ran) - len(bad)}/{len(ran)} dbt steps succeeded" + (
        f"; not succeeded: {', '.join(f'{r.task} ({r.status})' for r in bad)}" if bad else ""
    )
    return DryRunResult(
        ok=not bad, path=rel, order=[s.id for s in order], steps=reports, problems=validation.problems, summary=summary
    )


def _run_commands(
    ctx: ToolContext, commands: list[list[str]], runner: DbtRunner
) -> tuple[Literal["succeeded", "failed", "not_run"], str]:
    messages: list[str] = []
    for command in commands:
        sub = command[0] if command else ""
        tool_name = _DBT_TOOLS.get(sub)
        if tool_name is None:
            return "not_run", f"`dbt {sub}` has no local equivalent in the dbt toolset"
        args = dbt_tool_args(command)
        try:
            ok, detail = runner(ctx, tool_name, args)
        except LookupError as exc:
            return "not_run", str(exc)
        messages.append(f"dbt {' '.join(command)}: {'ok' if ok else 'FAILED'} {detail}".strip())
        if not ok:
            return "failed", "\n".join(messages)
    return "succeeded", "\n".join(messages)


@tool("orchestra", read_only=False)
def orchestra_dry_run(ctx: ToolContext, args: DryRunArgs) -> DryRunResult:
    """Dry-run a pipeline file locally: validate it, then run its dbt steps in dependency order.

    The dbt commands (build, run, test, seed, …) run through the dbt toolset and each step is
    reported. Steps of other integrations (Tableau refresh, alerts…) run only on Orchestra and are
    reported as skipped; a step whose upstream failed is blocked. --select, --exclude, --target and
    --full-refresh are passed on; a command the dbt toolset must have approved (--full-refresh, another
    target) stops the dry run with an approval request. ok is false when a dbt step failed, was
    blocked or could not run.
    """
    path = _pipeline_file(ctx, args.path, tool_name="orchestra_dry_run")
    return dry_run(ctx, args.path, path.read_text(encoding="utf-8"))

"""Pipelines as code in Orchestra's own format (``orchestration/pipelines/<name>.yml``): write, validate
offline with Orchestra's validator (``orchestra-lang``) plus a check of every dbt selector against the
project's manifest, and a local dry run of the dbt steps in dependency order through the dbt toolset.

orchestra-lang reads KSON, which reads JSON exactly but YAML indentation its own way, so it is given
the YAML parsed and dumped as JSON; its positions are mapped back to the task and to the YAML line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import Field

from dacrew.errors import ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.docs import readable_file, writable_file, write_atomic
from dacrew.tools.orchestra.selectors import manifest_problems
from dacrew.tools.orchestra.spec import Problem, Step, load, orchestra_problems, steps_of

PIPELINE_DIR = "orchestration/pipelines"
_NAME_RE = re.compile(r"^[A-Za-z0-9][\w\-]*$")


# -- tools -----------------------------------------------------------------------------------------
def pipeline_file(ctx: ToolContext, rel: str, *, tool_name: str) -> Path:
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
    data, node, problems = load(text)
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
    path = pipeline_file(ctx, args.path, tool_name="orchestra_validate_pipeline")
    return validate_text(ctx, args.path, path.read_text(encoding="utf-8"))[0]


class WritePipelineArgs(ToolArgs):
    name: str = Field(description="File name without .yml; the file is orchestration/pipelines/<name>.yml.")
    content: str = Field(description="The pipeline YAML in Orchestra's format (version: v1, name, pipeline, …).")


@tool("orchestra", read_only=False, idempotent=True)
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


DbtRunner = Callable[[ToolContext, str, dict[str, Any]], tuple[bool, str]]

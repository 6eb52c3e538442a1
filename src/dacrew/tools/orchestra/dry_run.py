"""A local dry run of a pipeline's dbt steps, in dependency order, through the dbt toolset."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from dacrew.errors import ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.orchestra.pipeline import DbtRunner, pipeline_file, validate_text
from dacrew.tools.orchestra.spec import DBT_TOOLS, Problem, Step, dbt_commands, dbt_tool_args


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


_SELECTING = frozenset({"dbt_build", "dbt_run", "dbt_test", "dbt_snapshot", "dbt_compile", "dbt_ls"})


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
    if ok and tool_name in _SELECTING and not getattr(result, "nodes", None):
        # dbt says "No nodes selected" and exits 0; on Orchestra the step would have done nothing.
        return False, f'{tool_name} {args}: dbt selected no nodes ("No nodes selected"), so nothing ran'
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
            report.status, report.message = run_commands(ctx, commands, runner)
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


def run_commands(
    ctx: ToolContext, commands: list[list[str]], runner: DbtRunner
) -> tuple[Literal["succeeded", "failed", "not_run"], str]:
    messages: list[str] = []
    for command in commands:
        sub = command[0] if command else ""
        tool_name = DBT_TOOLS.get(sub)
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
    reported as skipped; a step whose upstream failed is blocked. A step may hold several commands
    (`dbt seed; dbt build --select tag:daily`). --select/-s/--models/-m, --selector (a selectors.yml
    definition), --exclude, --target and --full-refresh are passed on; `dbt seed` builds the seeds
    alone. A command the dbt toolset must have approved (--full-refresh, another target) stops the dry
    run with an approval request. A command that selects no nodes fails its step, as it would do nothing
    on Orchestra. ok is false when a dbt step failed, was blocked or could not run.
    """
    path = pipeline_file(ctx, args.path, tool_name="orchestra_dry_run")
    return dry_run(ctx, args.path, path.read_text(encoding="utf-8"))

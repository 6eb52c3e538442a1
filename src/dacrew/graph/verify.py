"""Verification: the parent runs a task's acceptance checks itself — a specialist's word is not enough.

Check kinds (``kind: argument`` in a plan's ``**Checks**:``, or proposed by the agent):

* ``finding: Summary, Testing Strategy`` — the named sections of the finding are not empty.
* ``file: path`` — the file exists; ``file: path contains TEXT`` — and holds TEXT.
* ``dbt: build --select staging`` (or ``test``/``run``) — every selected node passes.
* ``sql: select count(*) > 0 from analytics.fct_orders`` — the first value of the first row is true;
  ``… under 500 ms`` — and the query ran within the time.
* ``tableau: datasource NAME published`` — published (with a server) or its local ``.tds`` exists.
* ``orchestra: pipeline NAME VALID`` — the pipeline file validates with Orchestra's own validator;
  ``orchestra: run RUN_ID SUCCEEDED`` — that run's status, read from Orchestra.

Checks run through the same typed tools the agents use, read-only, so a check can never change data.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dacrew.errors import DacrewError
from dacrew.findings.format import CheckResult, Finding
from dacrew.tools.base import ToolContext

OUTPUT_CHARS = 2_000
_UNDER = re.compile(r"\s+under\s+(\d+(?:\.\d+)?)\s*ms\s*$", re.IGNORECASE)
_DBT = re.compile(r"^(build|test|run|compile)\b(?:\s+(?:--select|-s)\s+(.+))?$", re.IGNORECASE)
_TABLEAU = re.compile(r"^datasource\s+(\S+)(?:\s+published)?\s*$", re.IGNORECASE)
_ORCHESTRA = re.compile(r"^pipeline\s+(\S+)(?:\s+(SUCCEEDED|VALID))?\s*$", re.IGNORECASE)
_ORCHESTRA_RUN = re.compile(r"^run\s+(\S+)\s+(SUCCEEDED|WARNING|FAILED|CANCELLED)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CheckSpec:
    kind: str
    argument: str


def _clip(text: str) -> str:
    return text if len(text) <= OUTPUT_CHARS else text[:OUTPUT_CHARS] + "…"


def _call(ctx: ToolContext, name: str, args: dict[str, Any]) -> Any:
    from dacrew.tools.registry import get

    return get(name).call(ctx, args)


def check_finding(finding: Finding, argument: str) -> CheckResult:
    names = [n.strip() for n in argument.split(",") if n.strip()] or ["Summary"]
    missing = [n for n in names if not finding.section(n).strip()]
    passed = not missing
    output = "all sections present" if passed else f"empty or missing sections: {', '.join(missing)}"
    return CheckResult(kind="finding", argument=argument, passed=passed, output=output)


def check_file(project: Path, argument: str) -> CheckResult:
    path_text, _, needle = argument.partition(" contains ")
    rel = path_text.strip().strip("`")
    target = (project / rel).resolve()
    if not target.is_relative_to(project.resolve()):
        return CheckResult(kind="file", argument=argument, passed=False, output="path is outside the project")
    if any(ch in rel for ch in "*?["):
        matches = sorted(p for p in project.glob(rel) if p.is_file())
        ok = bool(matches)
        shown = ", ".join(str(m.relative_to(project)) for m in matches[:5])
        return CheckResult(kind="file", argument=argument, passed=ok, output=shown or f"no file matches {rel}")
    if not target.is_file():
        return CheckResult(kind="file", argument=argument, passed=False, output=f"{rel} does not exist")
    if needle:
        text = target.read_text(encoding="utf-8", errors="replace")
        ok = needle.strip() in text
        return CheckResult(
            kind="file", argument=argument, passed=ok, output="found" if ok else f"{rel} does not contain {needle!r}"
        )
    return CheckResult(kind="file", argument=argument, passed=True, output=f"{rel} exists")


def check_dbt(ctx: ToolContext, argument: str) -> CheckResult:
    m = _DBT.match(argument.strip())
    if not m:
        return CheckResult(kind="dbt", argument=argument, passed=False, output="expected e.g. 'build --select staging'")
    command, select = m.group(1).lower(), (m.group(2) or "").strip() or None
    result = _call(ctx, f"dbt_{command}", {"select": select})
    failed = [n for n in result.nodes if n.status not in ("success", "pass", "warn", "skipped")]
    passed = bool(result.success) and not failed
    if passed:
        output = f"{len(result.nodes)} nodes passed"
    else:
        lines = [f"{n.name}: {n.status} {n.message or ''}".strip() for n in failed[:10]]
        output = result.error or "\n".join(lines) or "dbt failed"
    return CheckResult(kind="dbt", argument=argument, passed=passed, output=_clip(output))


def check_sql(ctx: ToolContext, argument: str) -> CheckResult:
    sql, limit_ms = argument.strip(), None
    m = _UNDER.search(sql)
    if m:
        sql, limit_ms = sql[: m.start()].strip(), float(m.group(1))
    if limit_ms is not None:
        timed = _call(ctx, "warehouse_timed_query", {"sql": sql})
        rows, elapsed = timed.sample, float(timed.elapsed_ms)
    else:
        res = _call(ctx, "warehouse_query", {"sql": sql, "limit": 10})
        rows, elapsed = res.rows, None
    if not rows:
        return CheckResult(kind="sql", argument=argument, passed=False, output="the query returned no rows")
    first = rows[0][0] if rows[0] else None
    truthy = first not in (None, False, 0, "0", "false", "False", "")
    passed = truthy and (limit_ms is None or (elapsed is not None and elapsed <= limit_ms))
    output = f"first value: {first!r}" + (
        f"; {elapsed:.0f} ms (limit {limit_ms:.0f} ms)" if elapsed is not None else ""
    )
    return CheckResult(kind="sql", argument=argument, passed=passed, output=output)


def check_tableau(ctx: ToolContext, argument: str) -> CheckResult:
    m = _TABLEAU.match(argument.strip())
    if not m:
        return CheckResult(
            kind="tableau", argument=argument, passed=False, output="expected 'datasource NAME published'"
        )
    name = m.group(1)
    if ctx.config.tableau.server_url:
        listing = _call(ctx, "tableau_list", {"kind": "datasources"})
        names = [item.name for item in listing.items]
        ok = name in names
        return CheckResult(kind="tableau", argument=argument, passed=ok, output=f"published: {ok}")
    local = ctx.project_dir / "tableau" / "datasources" / f"{name}.tds"
    ok = local.is_file()
    return CheckResult(
        kind="tableau",
        argument=argument,
        passed=ok,
        output=f"no Tableau server configured; local datasource {'found' if ok else 'missing'}: {local.relative_to(ctx.project_dir)}",
    )


def check_orchestra(ctx: ToolContext, argument: str) -> CheckResult:
    text = argument.strip()
    run = _ORCHESTRA_RUN.match(text)
    if run:
        status = _call(ctx, "orchestra_run_status", {"run_id": run.group(1)})
        wanted = run.group(2).upper()
        ok = status.status == wanted
        return CheckResult(
            kind="orchestra", argument=argument, passed=ok, output=f"run {run.group(1)} is {status.status}"
        )
    m = _ORCHESTRA.match(text)
    if not m:
        return CheckResult(
            kind="orchestra",
            argument=argument,
            passed=False,
            output="expected 'pipeline NAME VALID' or 'run RUN_ID SUCCEEDED'",
        )
    name, wanted = m.group(1), (m.group(2) or "VALID").upper()
    path = f"orchestration/pipelines/{name}.yml"
    if not (ctx.project_dir / path).is_file():
        return CheckResult(kind="orchestra", argument=argument, passed=False, output=f"{path} does not exist")
    result = _call(ctx, "orchestra_validate_pipeline", {"path": path})
    if not result.valid:
        return CheckResult(kind="orchestra", argument=argument, passed=False, output=_clip(result.summary))
    if wanted == "VALID":
        return CheckResult(
            kind="orchestra", argument=argument, passed=True, output=f"{result.summary} (validated locally)"
        )
    # A run's success can only be read from a run: name it (`run RUN_ID SUCCEEDED`); validation is not a run.
    return CheckResult(
        kind="orchestra",
        argument=argument,
        passed=False,
        output=f"{result.summary}, but no run is named: use 'run RUN_ID SUCCEEDED' for a run, or 'pipeline {name} VALID'",
    )


def run_check(ctx: ToolContext, finding: Finding, spec: CheckSpec) -> CheckResult:
    kind = spec.kind.strip().lower()
    try:
        if kind == "finding":
            return check_finding(finding, spec.argument)
        if kind == "file":
            return check_file(ctx.project_dir, spec.argument)
        if kind == "dbt":
            return check_dbt(ctx, spec.argument)
        if kind == "sql":
            return check_sql(ctx, spec.argument)
        if kind == "tableau":
            return check_tableau(ctx, spec.argument)
        if kind == "orchestra":
            return check_orchestra(ctx, spec.argument)
    except DacrewError as exc:
        return CheckResult(
            kind=kind, argument=spec.argument, passed=False, output=_clip(f"{type(exc).__name__}: {exc}")
        )
    except Exception as exc:
        return CheckResult(
            kind=kind, argument=spec.argument, passed=False, output=_clip(f"{type(exc).__name__}: {exc}")
        )
    return CheckResult(kind=kind, argument=spec.argument, passed=False, output=f"unknown check kind {spec.kind!r}")


async def verify(ctx: ToolContext, finding: Finding, specs: list[CheckSpec]) -> list[CheckResult]:
    """Run every check (in order, off the event loop); with none, the finding must carry a summary."""
    if not specs:
        specs = [CheckSpec("finding", "Summary")]
    results: list[CheckResult] = []
    for spec in specs:
        results.append(await asyncio.to_thread(run_check, ctx, finding, spec))
    return results

"""Verification: the parent runs a task's acceptance checks itself — a specialist's word is not enough.

A check has three outcomes: ``passed``, ``failed`` and ``unverified`` (it could not reach a verdict: no
server configured, nothing to compare with; its output says why). Check kinds (``kind: argument`` in a
plan's ``**Checks**:``, or proposed by the agent):

* ``finding: Summary, Testing Strategy`` — the named sections of the finding are not empty.
* ``file: path`` — the file exists; ``file: path contains TEXT`` — and holds TEXT.
* ``dbt: build --select staging`` (or ``run``/``test``/``compile``) — see :mod:`.dbt`.
* ``sql: …`` and ``table: <relation> matches <file.csv>`` — business rules, see :mod:`.data`.
* ``tableau: …`` and ``orchestra: …`` — see :mod:`.services`.

Checks change nothing: the warehouse is read through the read-only query tool (the SQL guard allows
reads only), and dbt runs against a throwaway copy of the target with its output outside the project.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from dacrew.errors import DacrewError
from dacrew.findings.format import CheckResult, Finding
from dacrew.graph.verify.common import CheckSpec, clip, failed, unverified, verdict
from dacrew.graph.verify.data import check_sql, check_table
from dacrew.graph.verify.dbt import check_dbt
from dacrew.graph.verify.services import check_orchestra, check_tableau
from dacrew.tools.base import ToolContext

__all__ = ["NO_CHECKS", "CheckSpec", "check_file", "check_finding", "run_check", "verify"]

NO_CHECKS = "no checks: the task was verified by its summary alone"


def check_finding(finding: Finding, argument: str) -> CheckResult:
    names = [n.strip() for n in argument.split(",") if n.strip()] or ["Summary"]
    missing = [n for n in names if not finding.section(n).strip()]
    output = "all sections present" if not missing else f"empty or missing sections: {', '.join(missing)}"
    return verdict("finding", argument, not missing, output)


def check_file(project: Path, argument: str) -> CheckResult:
    path_text, _, needle = argument.partition(" contains ")
    rel = path_text.strip().strip("`")
    target = (project / rel).resolve()
    if not target.is_relative_to(project.resolve()):
        return failed("file", argument, "path is outside the project")
    if any(ch in rel for ch in "*?["):
        matches = sorted(p for p in project.glob(rel) if p.is_file())
        shown = ", ".join(str(m.relative_to(project)) for m in matches[:5])
        return verdict("file", argument, bool(matches), shown or f"no file matches {rel}")
    if not target.is_file():
        return failed("file", argument, f"{rel} does not exist")
    if needle:
        ok = needle.strip() in target.read_text(encoding="utf-8", errors="replace")
        return verdict("file", argument, ok, "found" if ok else f"{rel} does not contain {needle!r}")
    return verdict("file", argument, True, f"{rel} exists")


def run_check(ctx: ToolContext, finding: Finding, spec: CheckSpec) -> CheckResult:
    """Run one check; an error while checking (a missing table, a refused query) is a failed check."""
    kind = spec.kind.strip().lower()
    try:
        if kind == "finding":
            return check_finding(finding, spec.argument)
        if kind == "file":
            return check_file(ctx.project_dir, spec.argument)
        if kind == "dbt":
            return check_dbt(ctx, spec.argument, finding.started)
        if kind == "sql":
            return check_sql(ctx, spec.argument)
        if kind == "table":
            return check_table(ctx, spec.argument)
        if kind == "tableau":
            return check_tableau(ctx, spec.argument)
        if kind == "orchestra":
            return check_orchestra(ctx, spec.argument)
    except (DacrewError, Exception) as exc:
        return failed(kind, spec.argument, clip(f"{type(exc).__name__}: {exc}"))
    return failed(kind, spec.argument, f"unknown check kind {spec.kind!r}")


async def verify(ctx: ToolContext, finding: Finding, specs: list[CheckSpec]) -> list[CheckResult]:
    """Run every check, in order, off the event loop. With none, the finding must carry a summary, and
    even then the task is only ``unverified``: nothing executable proved its work."""
    if not specs:
        summary = check_finding(finding, "Summary")
        if not summary.passed:
            return [summary]
        return [unverified("finding", "Summary", NO_CHECKS)]
    results: list[CheckResult] = []
    for spec in specs:
        results.append(await asyncio.to_thread(run_check, ctx, finding, spec))
    return results

"""Tableau and Orchestra checks: read from the services, or ``unverified`` when none is configured.

* ``tableau: datasource NAME published`` — NAME is on the configured Tableau server. With no server
  configured the check is unverified when the local ``tableau/datasources/NAME.tds`` exists (the work is
  there, its publication unproven) and failed when it does not.
* ``tableau: job JOB_ID finished`` — that background job ended in Success.
* ``orchestra: pipeline NAME VALID`` — the pipeline file validates with Orchestra's own validator.
* ``orchestra: run RUN_ID SUCCEEDED`` (or WARNING, FAILED, CANCELLED) — that run's status, read from
  Orchestra; unverified without an API key.
"""

from __future__ import annotations

import re

from dacrew.findings.format import CheckResult
from dacrew.graph.verify.common import call_tool, failed, passed, unverified, verdict
from dacrew.tools.base import ToolContext

_TABLEAU = re.compile(r"^datasource\s+(\S+)(?:\s+published)?\s*$", re.IGNORECASE)
_TABLEAU_JOB = re.compile(r"^job\s+(\S+)\s+finished\s*$", re.IGNORECASE)
_ORCHESTRA = re.compile(r"^pipeline\s+(\S+)(?:\s+(SUCCEEDED|VALID))?\s*$", re.IGNORECASE)
_ORCHESTRA_RUN = re.compile(r"^run\s+(\S+)\s+(SUCCEEDED|WARNING|FAILED|CANCELLED)\s*$", re.IGNORECASE)


def check_tableau(ctx: ToolContext, argument: str) -> CheckResult:
    text = argument.strip()
    job = _TABLEAU_JOB.match(text)
    m = _TABLEAU.match(text)
    if not job and not m:
        return failed("tableau", argument, "expected 'datasource NAME published' or 'job JOB_ID finished'")
    if not ctx.config.tableau.server_url:
        if job:
            return unverified("tableau", argument, "no Tableau server configured (tableau.server_url)")
        assert m is not None
        local = f"tableau/datasources/{m.group(1)}.tds"
        if not (ctx.project_dir / local).is_file():
            return failed("tableau", argument, f"no Tableau server configured and {local} does not exist")
        return unverified("tableau", argument, f"no Tableau server configured; {local} exists but is not published")
    if job:
        status = call_tool(ctx, "tableau_job_status", {"job_id": job.group(1)})
        state = str(status.job.state)
        return verdict("tableau", argument, state.lower() == "success", f"job {job.group(1)} is {state}")
    assert m is not None
    listing = call_tool(ctx, "tableau_list", {"kind": "datasources"})
    names = [item.name for item in listing.items]
    ok = m.group(1) in names
    return verdict("tableau", argument, ok, f"{m.group(1)} is {'' if ok else 'not '}published on the server")


def check_orchestra(ctx: ToolContext, argument: str) -> CheckResult:
    text = argument.strip()
    run = _ORCHESTRA_RUN.match(text)
    if run:
        if ctx.config.orchestra.api_key is None:
            return unverified("orchestra", argument, "no Orchestra API key configured (DACREW_ORCHESTRA__API_KEY)")
        status = call_tool(ctx, "orchestra_run_status", {"run_id": run.group(1)})
        ok = status.status == run.group(2).upper()
        return verdict("orchestra", argument, ok, f"run {run.group(1)} is {status.status}")
    m = _ORCHESTRA.match(text)
    if not m:
        return failed("orchestra", argument, "expected 'pipeline NAME VALID' or 'run RUN_ID SUCCEEDED'")
    name, wanted = m.group(1), (m.group(2) or "VALID").upper()
    path = f"orchestration/pipelines/{name}.yml"
    if not (ctx.project_dir / path).is_file():
        return failed("orchestra", argument, f"{path} does not exist")
    result = call_tool(ctx, "orchestra_validate_pipeline", {"path": path})
    if not result.valid:
        return failed("orchestra", argument, result.summary)
    if wanted == "VALID":
        return passed("orchestra", argument, f"{result.summary} (validated locally)")
    # A run's success can only be read from a run: name it (`run RUN_ID SUCCEEDED`); validation is not a run.
    return failed(
        "orchestra",
        argument,
        f"{result.summary}, but no run is named: use 'run RUN_ID SUCCEEDED' for a run, or 'pipeline {name} VALID'",
    )

"""The files a run leaves in its folder: ``report.json``, ``junit.xml`` and ``report.html``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from dacrew.findings.events import read_events
from dacrew.findings.format import Finding
from dacrew.plan.model import TaskPlan
from dacrew.report.html import write_html
from dacrew.report.junit import write_junit
from dacrew.report.model import build_report, write_json


def write_run_reports(
    run_dir: Path,
    plan: TaskPlan,
    findings: Mapping[str, Finding],
    *,
    report_json: Path | None = None,
    junit: Path | None = None,
    project: Path | None = None,
) -> dict[str, Path]:
    """Build the report from ``run_dir``'s event log and ``findings`` and write its three forms into
    ``run_dir``; also to ``report_json`` and ``junit`` when given (``--report-json``, ``--junit``).
    ``project``: the folder the HTML page links findings and artifacts in. Returns the run folder's files by form (``json``, ``junit``, ``html``)."""
    built = build_report(plan, read_events(run_dir), findings)
    out = {"json": run_dir / "report.json", "junit": run_dir / "junit.xml", "html": run_dir / "report.html"}
    write_json(built, out["json"])
    write_junit(built, out["junit"])
    write_html(built, plan, out["html"], project)
    if report_json:
        write_json(built, report_json)
    if junit:
        write_junit(built, junit)
    return out

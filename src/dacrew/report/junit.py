"""The run report as JUnit XML (one test case per task, checks and errors as failures), for CI systems."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from dacrew.report.model import RunReport, TaskReport

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml(text: str) -> str:
    # XML 1.0 cannot hold most control characters, even escaped; tool output sometimes does.
    return _XML_ILLEGAL.sub("?", text)


def _secs(value: float | None) -> str:
    return f"{value or 0.0:.3f}"


def _failure_text(task: TaskReport) -> str:
    parts = [task.error] if task.error else []
    for check in task.checks:
        if not check.passed:
            parts.append(f"check {check.kind}: {check.argument} {check.outcome}\n{check.output}".rstrip())
    return "\n\n".join(parts)


def _system_out(task: TaskReport) -> str:
    lines = [
        f"owner: {task.owner}",
        f"attempts: {task.attempts}",
        f"tokens: {task.tokens.input} in, {task.tokens.output} out; usd: {task.usd:.4f}",
    ]
    lines += [f"check {c.kind}: {c.argument} {c.outcome}" for c in task.checks]
    return "\n".join(lines)


def _testcase(suite: ET.Element, report: RunReport, task: TaskReport) -> str:
    """Add the task's testcase; returns its outcome (passed | failure | error | skipped)."""
    case = ET.SubElement(
        suite,
        "testcase",
        name=_xml(f"{task.id}: {task.title}" if task.title else task.id),
        classname=_xml(f"dacrew.{report.feature or 'run'}.{task.phase or 'tasks'}"),
        time=_secs(task.duration_s),
    )
    outcome = "passed"
    if task.status == "failed":
        node = ET.SubElement(case, "failure", message=_xml(task.error.splitlines()[0] if task.error else "failed"))
        node.set("type", "failed")
        node.text = _xml(_failure_text(task))
        outcome = "failure"
    elif task.status == "needs_input":
        ET.SubElement(case, "skipped", message="waiting for input").text = _xml(task.question) or None
        outcome = "skipped"
    elif task.status == "skipped":
        ET.SubElement(case, "skipped", message=_xml(task.error or "a dependency did not complete"))
        outcome = "skipped"
    elif task.status == "pending":
        ET.SubElement(case, "skipped", message="not run")
        outcome = "skipped"
    elif task.status != "completed":
        ET.SubElement(case, "error", message=_xml(f"did not finish ({task.status})"), type="unfinished")
        outcome = "error"
    elif task.unverified:
        # Completed, but not every check reached a verdict: CI shows it apart from what passed.
        reasons = [f"{c.kind}: {c.argument} — {c.output}" for c in task.unverified]
        ET.SubElement(case, "skipped", message=_xml("unverified: " + reasons[0].splitlines()[0])).text = _xml(
            "\n".join(reasons)
        )
        outcome = "skipped"
    ET.SubElement(case, "system-out").text = _xml(_system_out(task))
    return outcome


def junit_xml(report: RunReport) -> str:
    """JUnit XML: one testsuite per phase, a testcase per task."""
    root = ET.Element("testsuites", name=_xml(f"dacrew {report.feature}".strip()))
    phases: dict[str, list[TaskReport]] = {}
    for task in report.tasks:
        phases.setdefault(task.phase or "Tasks", []).append(task)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for phase, tasks in phases.items():
        suite = ET.SubElement(root, "testsuite", name=_xml(phase))
        outcomes = [_testcase(suite, report, task) for task in tasks]
        counts = {
            "tests": len(outcomes),
            "failures": outcomes.count("failure"),
            "errors": outcomes.count("error"),
            "skipped": outcomes.count("skipped"),
        }
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
        suite.set("time", _secs(sum(t.duration_s or 0.0 for t in tasks)))
        first = min((t.started for t in tasks if t.started), default=None)
        if first:
            suite.set("timestamp", first)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _secs(report.makespan_s))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(report: RunReport, path: Path | str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(junit_xml(report), encoding="utf-8")
    return target

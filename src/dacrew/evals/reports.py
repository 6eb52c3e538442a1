"""An eval run's reports: JSON (everything), JUnit XML (one test case per case run) and one
self-contained HTML page (per case: scorers, the diff of a table mismatch, the drift diff, links to the
findings)."""

from __future__ import annotations

import html
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from dacrew.evals.results import CaseResult, SuiteResult

_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def write_json(result: SuiteResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _xml(text: str) -> str:
    return _XML_ILLEGAL.sub("?", text)


def failure_text(case: CaseResult) -> str:
    """Why a case run did not pass: its error, its failed scorers, its drift."""
    parts = [case.error] if case.error else []
    if case.verdict == "xpass":
        parts.append("the case is expected to drift, but its replay matched the recording")
    parts += [f"{s.scorer}: {s.outcome}\n{s.output}".rstrip() for s in case.scores if not s.passed]
    parts += [f"drift: {d.message}" for d in case.drift]
    return "\n\n".join(parts)


def write_junit(result: SuiteResult, path: Path) -> Path:
    suite = ET.Element(
        "testsuite",
        name=f"dacrew eval {result.suite}",
        tests=str(len(result.cases)),
        failures=str(sum(c.verdict in ("failed", "xpass") for c in result.cases)),
        errors=str(sum(c.verdict == "error" for c in result.cases)),
        skipped="0",
        time=f"{sum(c.seconds for c in result.cases):.3f}",
        timestamp=result.started,
    )
    for case in result.cases:
        node = ET.SubElement(
            suite,
            "testcase",
            classname=f"eval.{result.suite}",
            name=f"{case.case}[{case.repeat}]",
            time=f"{case.seconds:.3f}",
        )
        if case.verdict in ("failed", "xpass"):
            failure = ET.SubElement(node, "failure", message=f"{case.case} {case.verdict}")
            failure.text = _xml(failure_text(case))
        elif case.verdict == "error":
            error = ET.SubElement(node, "error", message=_xml(case.error.splitlines()[0] if case.error else "error"))
            error.text = _xml(case.error)
        out = ET.SubElement(node, "system-out")
        out.text = _xml(
            f"verdict: {case.verdict}; mode: {case.mode}; tokens: {case.tokens}; usd: {case.usd:.4f}\n"
            + "\n".join(f"{s.scorer}: {s.outcome} ({s.output})" for s in case.scores)
            + "".join(f"\ndrift: {d.message}" for d in case.drift)
        )
    for regression in result.regressions:
        node = ET.SubElement(suite, "testcase", classname=f"eval.{result.suite}", name="baseline")
        failure = ET.SubElement(node, "failure", message="regression against the baseline")
        failure.text = _xml(regression)
    suite.set("tests", str(len(result.cases) + len(result.regressions)))
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
    return path


_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1100px}
h1{font-size:1.4rem}table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
td,th{border-bottom:1px solid #d8dee4;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}.passed,.xfail{color:#1a7f37}.failed,.xpass,.error{color:#cf222e}
.unverified{color:#9a6700}pre{background:#f6f8fa;padding:.5rem;overflow:auto;white-space:pre-wrap}
details{margin:.6rem 0;border:1px solid #d8dee4;border-radius:6px;padding:.4rem .8rem}
summary{cursor:pointer;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
"""


def _link(target: str, base: Path) -> str:
    try:
        return os.path.relpath(target, base)
    except ValueError:
        return target


def _case_html(case: CaseResult, base: Path) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(s.scorer)}</td><td class='{s.outcome}'>{s.outcome}</td><td><pre>{e(s.output)}</pre></td></tr>"
        for s in case.scores
    )
    drift = "".join(
        f"<p>{e(d.task)} step {d.step}: {e(d.what)} — {e(d.message.splitlines()[0])}</p><pre>{e(d.diff)}</pre>"
        for d in case.drift
    )
    links = " · ".join(f"<a href='{e(_link(path, base))}'>{e(task)}</a>" for task, path in case.findings.items())
    error = f"<pre class='error'>{e(case.error)}</pre>" if case.error else ""
    return (
        f"<details{' open' if not case.ok else ''}><summary>{e(case.case)} [{case.repeat}] "
        f"<span class='{case.verdict}'>{case.verdict}</span></summary>{error}"
        f"<table><tr><th>scorer</th><th>outcome</th><th>output</th></tr>{rows}</table>"
        + (f"<h4>Drift</h4>{drift}" if drift else "")
        + (f"<p>Findings: {links}</p>" if links else "")
        + "</details>"
    )


def render_html(result: SuiteResult, base: Path) -> str:
    """The report page; links to findings are relative to ``base`` (the page's folder)."""
    e = html.escape
    totals = result.totals()
    rows = "".join(
        f"<tr><td>{e(c.case)}</td><td class='num'>{c.repeat}</td><td class='{c.verdict}'>{c.verdict}</td>"
        f"<td>{sum(s.passed for s in c.scores)}/{len(c.scores)}</td><td class='num'>{c.tokens}</td>"
        f"<td class='num'>{c.usd:.4f}</td><td class='num'>{c.seconds:.1f}</td></tr>"
        for c in result.cases
    )
    regressions = "".join(f"<li class='failed'>{e(r)}</li>" for r in result.regressions)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>dacrew eval {e(result.suite)}</title><style>{_CSS}</style></head><body>"
        f"<h1>dacrew eval: {e(result.suite)}</h1>"
        f"<p>{len(result.cases)} case runs · {result.mode} replay{' · strict' if result.strict else ''} · "
        f"pass rate {totals['pass_rate']:.0%} · {totals['tokens']:g} tokens, {totals['usd']:.4f} USD, "
        f"{totals['seconds']:.1f} s per case · started {e(result.started)}</p>"
        + (f"<h2>Regressions against the baseline</h2><ul>{regressions}</ul>" if regressions else "")
        + "<table><tr><th>case</th><th>run</th><th>verdict</th><th>scorers</th><th>tokens</th><th>USD</th>"
        f"<th>seconds</th></tr>{rows}</table>" + "".join(_case_html(c, base) for c in result.cases) + "</body></html>\n"
    )


def write_html(result: SuiteResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result, path.parent.resolve()), encoding="utf-8")
    return path

"""The HTML report in a real headless Chromium: links that lead to files, a DAG as wide as the page with
no edge through a node it does not touch and whole titles, a task table without sideways scrolling,
rows that expand, and a stop drawn as a gap. A screenshot is kept in the test's temporary folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from reportkit import EXAMPLE_PLAN, write_run

from dacrew.findings.store import FindingsStore
from dacrew.plan.parse import parse_plan_file
from dacrew.report.files import write_run_reports

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.is_file(), reason="no Chromium at /usr/bin/chromium (Debian's `chromium` package; .ci/run installs it)"
)

GEOMETRY = """() => {
  const svg = document.querySelector('svg.dag');
  const nodes = [...svg.querySelectorAll('g.node')].map(g => {
    const r = g.querySelector('rect').getBBox();
    const titles = [...g.querySelectorAll('text.ntitle')].map(t => {
      const b = t.getBBox(); return {text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height};
    });
    return {id: g.dataset.task, x: r.x, y: r.y, w: r.width, h: r.height, titles};
  });
  const edges = [...svg.querySelectorAll('path.edge')].map(p => {
    const total = p.getTotalLength(); const points = [];
    for (let i = 0; i <= 80; i++) { const q = p.getPointAtLength(total * i / 80); points.push([q.x, q.y]); }
    return {from: p.dataset.from, to: p.dataset.to, points};
  });
  const section = svg.closest('section');
  return {nodes, edges, svgWidth: svg.getBoundingClientRect().width, sectionWidth: section.clientWidth};
}"""


@pytest.fixture
def report_page(tmp_path: Path) -> tuple[Path, str, Any]:
    project = tmp_path / "project"
    plan = parse_plan_file(EXAMPLE_PLAN)
    run_dir, stopped = write_run(project, plan)
    files = write_run_reports(run_dir, plan, FindingsStore(project).all(), project=project)
    return files["html"], stopped, plan


@needs_chromium
def test_the_report_renders_in_chromium_with_links_and_no_crossing_edges(
    report_page: tuple[Path, str, Any], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    html, stopped, plan = report_page
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            page.goto(html.as_uri())
            # Every task links to its finding, and every file artifact to the file: the links lead somewhere.
            finding_links = page.eval_on_selector_all("a.finding", "els => els.map(e => e.href)")
            artifact_links = page.eval_on_selector_all("a.artifact", "els => els.map(e => e.href)")
            assert len(finding_links) == len(plan.tasks)
            assert len(artifact_links) == len(plan.tasks)  # the warehouse table is named, not linked
            for link in finding_links + artifact_links:
                assert Path(unquote(urlparse(link).path)).is_file(), link
            assert sorted(Path(unquote(urlparse(link).path)).name for link in finding_links) == sorted(
                f"{t.id}.md" for t in plan.tasks
            )
            # The DAG: as wide as its section, whole titles inside their nodes, no edge through a node.
            geometry = page.evaluate(GEOMETRY)
            assert geometry["svgWidth"] >= 0.95 * geometry["sectionWidth"] - 40
            nodes = {n["id"]: n for n in geometry["nodes"]}
            assert set(nodes) == {t.id for t in plan.tasks}
            for task in plan.tasks:
                node = nodes[task.id]
                assert " ".join(t["text"] for t in node["titles"]) == task.title
                for title in node["titles"]:
                    assert node["x"] < title["x"], task.id
                    assert title["x"] + title["w"] < node["x"] + node["w"], task.id
            assert len(geometry["edges"]) == sum(len(t.dependencies) for t in plan.tasks)
            for edge in geometry["edges"]:
                for other in nodes.values():
                    if other["id"] in (edge["from"], edge["to"]):
                        continue
                    inside = [
                        (x, y)
                        for x, y in edge["points"]
                        if other["x"] + 1 < x < other["x"] + other["w"] - 1
                        and other["y"] + 1 < y < other["y"] + other["h"] - 1
                    ]
                    assert inside == [], f"{edge['from']}→{edge['to']} crosses {other['id']}"
            # The task table fits: no sideways scrolling, on the page or in the table.
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
            assert page.evaluate(
                "(() => { const t = document.querySelector('table.tasks'); return t.scrollWidth <= t.parentElement.clientWidth; })()"
            )
            # A row expands to its tool calls, checks with output and approvals.
            first = page.locator("tr.detail-row details").first
            assert first.locator("table.calls").is_hidden()
            first.locator("summary").click()
            assert first.locator("table.calls tbody tr").count() == 2
            assert first.locator("div.check pre").first.inner_text() == "true"
            approvals = page.locator("ul.approvals li").all_text_contents()
            assert approvals == ["approved by policy: dbt_build dbt_build --full-refresh on dev"]
            # The stop is a gap on the timeline; the task in flight is drawn in two parts around it.
            gap = page.locator("rect.gap")
            assert gap.count() == 1
            assert float(gap.get_attribute("data-seconds") or 0) == pytest.approx(600, abs=1)
            box = gap.bounding_box()
            assert box is not None
            parts = [page.locator(f'rect.bar[data-task="{stopped}"]').nth(i).bounding_box() for i in range(2)]
            assert parts[0] is not None
            assert parts[1] is not None
            assert parts[0]["x"] + parts[0]["width"] <= box["x"] + 1
            assert parts[1]["x"] >= box["x"] + box["width"] - 1
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
        finally:
            browser.close()


def test_links_are_relative_so_the_project_folder_can_move(tmp_path: Path) -> None:
    project = tmp_path / "project"
    plan = parse_plan_file(EXAMPLE_PLAN)
    run_dir, _ = write_run(project, plan)
    html = write_run_reports(run_dir, plan, FindingsStore(project).all(), project=project)["html"].read_text()
    assert 'href="../../../findings/T001.md"' in html
    assert 'href="../../../models/T001/0.sql"' in html
    assert "<code>analytics.some_table</code>" in html

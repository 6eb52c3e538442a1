"""The customer_ltv example runs end to end on its shipped cassette, with real tools, and its marts hold
the numbers the seeds imply (computed here in plain Python, independently of the models)."""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import sys
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.findings.store import FindingsStore
from dacrew.plan.parse import parse_plan, parse_plan_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "customer_ltv"
CASSETTE = EXAMPLE / "cassette.jsonl"
runner = CliRunner()


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("customer_ltv_make_cassette", EXAMPLE / "make_cassette.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


def test_the_cassette_is_what_the_generator_writes() -> None:
    assert CASSETTE.read_text(encoding="utf-8") == _generator().render()


def test_the_example_holds_only_what_a_team_has_before_the_feature() -> None:
    assert not (EXAMPLE / "models").exists()
    assert not (EXAMPLE / "findings").exists()
    assert {p.name for p in (EXAMPLE / "acceptance").iterdir()} == {"customer_ltv.csv"}
    assert not list(EXAMPLE.glob("*.duckdb"))
    assert {p.name for p in (EXAMPLE / "seeds").iterdir()} == {
        "raw_customers.csv",
        "raw_orders.csv",
        "raw_payments.csv",
    }


# -- what the seeds imply ---------------------------------------------------------------------------
def _rows(name: str) -> list[dict[str, str]]:
    with (EXAMPLE / "seeds" / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def expected_ltv() -> dict[int, dict[str, Any]]:
    """customer_id → the spec's fields, from the raw CSVs."""
    paid: Counter[str] = Counter()
    for p in _rows("raw_payments"):
        if p["status"] == "success":
            paid[p["order_id"]] += int(p["amount"])
    orders: dict[str, list[dict[str, str]]] = {}
    for o in _rows("raw_orders"):
        orders.setdefault(o["user_id"], []).append(o)
    out: dict[int, dict[str, Any]] = {}
    for c in _rows("raw_customers"):
        mine = orders.get(c["id"], [])
        value = Decimal(sum(paid[o["id"]] for o in mine)) / 100
        dates = sorted(o["order_date"] for o in mine)
        tier = "high" if value >= 150 else "medium" if value >= 50 else "low" if value > 0 else "none"
        out[int(c["id"])] = {
            "lifetime_value": value,
            "number_of_orders": len(mine),
            "first_order_date": dates[0] if dates else None,
            "most_recent_order_date": dates[-1] if dates else None,
            "average_order_value": (value / len(mine)).quantize(Decimal("0.01"), ROUND_HALF_UP) if mine else None,
            "ltv_tier": tier,
        }
    return out


# -- the run ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("example") / "customer_ltv"
    here = Path.cwd()
    os.chdir(work.parent)  # a --workdir run records its folder in the current one
    try:
        result = runner.invoke(
            app, ["run", str(EXAMPLE), "--model", f"replay:{CASSETTE}", "--headless", "--workdir", str(work)]
        )
    finally:
        os.chdir(here)
    assert result.exit_code == 0, result.output
    return work


def _tool(work: Path, name: str, args: dict[str, Any]) -> dict[str, Any]:
    result = runner.invoke(app, ["tools", "call", name, "--project-dir", str(work), "--args", json.dumps(args)])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout[result.stdout.index("{") :])


@pytest.mark.slow
def test_every_task_completes_with_every_plan_check_run_and_passed(workdir: Path) -> None:
    plan = parse_plan_file(EXAMPLE / "tasks.md")
    store = FindingsStore(workdir)
    assert len(plan.tasks) == 18
    for task in plan.tasks:
        finding = store.read(task.id)
        assert finding is not None, task.id
        assert finding.status == "completed", (task.id, finding.checks)
        assert finding.attempt == 1
        assert finding.summary.strip()
        ran = [(c.kind, c.argument) for c in finding.checks]
        assert ran == [(c.kind, c.argument) for c in task.checks], task.id
        assert all(c.passed for c in finding.checks), (task.id, finding.checks)
    (run,) = list((workdir / ".dacrew" / "runs").iterdir())
    assert json.loads((run / "report.json").read_text(encoding="utf-8"))["status"] == "completed"
    assert (run / "report.html").is_file()
    assert not (EXAMPLE / "findings").exists(), "the example must run on a copy"
    # Every tool call the recorded decisions make succeeds: no summary claims work a guard refused.
    events = [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    results = [(e["task"], e["tool"], e["status"]) for e in events if e["type"] == "tool_result"]
    assert len(results) >= 80
    assert [r for r in results if r[2] != "ok"] == []
    # The production build went through the approval policy, and production holds the feature.
    approvals = [(e["task"], e["approved"], e.get("by")) for e in events if e["type"] == "approval"]
    assert approvals == [("T016", True, "policy"), ("T016", True, "policy")]
    assert (workdir / "customer_ltv_prod.duckdb").is_file()


@pytest.mark.slow
def test_the_customer_ltv_mart_holds_what_the_seeds_imply(workdir: Path) -> None:
    expected = expected_ltv()
    sql = (
        "select customer_id, lifetime_value, number_of_orders, cast(first_order_date as varchar), "
        "cast(most_recent_order_date as varchar), average_order_value, ltv_tier "
        "from analytics.customer_ltv order by customer_id"
    )
    rows = _tool(workdir, "warehouse_query", {"sql": sql, "limit": 10000})["rows"]
    assert [r[0] for r in rows] == sorted(expected)
    for cid, value, n, first, last, aov, tier in rows:
        want = expected[cid]
        assert Decimal(str(value)) == want["lifetime_value"], cid
        assert (n, first, last, tier) == (
            want["number_of_orders"],
            want["first_order_date"],
            want["most_recent_order_date"],
            want["ltv_tier"],
        ), cid
        assert (aov is None) == (want["average_order_value"] is None), cid
        if aov is not None:
            assert abs(Decimal(str(aov)) - want["average_order_value"]) <= Decimal("0.01"), cid
    total = _tool(workdir, "warehouse_query", {"sql": "select sum(amount) from analytics.fct_orders"})["rows"][0][0]
    assert Decimal(str(total)) == sum((w["lifetime_value"] for w in expected.values()), Decimal(0))


@pytest.mark.slow
def test_the_tableau_data_source_and_the_pipeline_are_real(workdir: Path) -> None:
    tds = workdir / "tableau" / "datasources" / "customer_ltv.tds"
    assert tds.is_file()
    assert (workdir / "tableau" / "datasources" / "customer_ltv.hyper").is_file()
    fields = _tool(
        workdir,
        "tableau_check_fields",
        {"tds": "tableau/datasources/customer_ltv.tds", "table": "analytics.customer_ltv"},
    )
    assert fields["matches"]
    assert fields["hyper_rows"] == len(expected_ltv())
    pipeline = _tool(workdir, "orchestra_validate_pipeline", {"path": "orchestration/pipelines/customer_ltv_daily.yml"})
    assert pipeline["valid"]
    assert pipeline["tasks"] == ["dbt_build", "refresh_extract"]
    quality = _tool(
        workdir, "orchestra_validate_pipeline", {"path": "orchestration/pipelines/customer_ltv_quality.yml"}
    )
    assert quality["valid"]
    planned = (workdir / "snowflake" / "planned_ddl.sql").read_text(encoding="utf-8")
    assert "alter table raw.raw_orders cluster by (order_date)" in planned


@pytest.mark.slow
def test_a_run_converts_back_into_the_same_model_turns(workdir: Path) -> None:
    (run,) = list((workdir / ".dacrew" / "runs").iterdir())
    recorded = [json.loads(line) for line in _generator().from_run(run).splitlines()]
    shipped = [json.loads(line) for line in CASSETTE.read_text(encoding="utf-8").splitlines()]
    assert recorded[0]["source"] == "recorded"

    def turns(records: list[dict[str, Any]]) -> list[tuple[str, int, int, Any]]:
        return sorted((r["task"], r["attempt"], r["step"], r["response"]) for r in records[1:])

    assert turns(recorded) == turns(shipped)


def test_the_acceptance_table_is_what_the_seeds_imply() -> None:
    # The plan's `table` check compares the mart with acceptance/customer_ltv.csv: it must itself agree
    # with this file's independent computation from the raw seeds.
    with (EXAMPLE / "acceptance" / "customer_ltv.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = expected_ltv()
    assert [int(r["customer_id"]) for r in rows] == sorted(expected)
    for r in rows:
        want = expected[int(r["customer_id"])]
        assert Decimal(r["lifetime_value"]) == want["lifetime_value"]
        assert (int(r["number_of_orders"]), r["ltv_tier"]) == (want["number_of_orders"], want["ltv_tier"])


def test_the_plan_is_the_templates_18_tasks() -> None:
    # Same ids, owners, dependencies, [P] markers and integration points as the shipped template.
    from importlib import resources

    template_text = resources.files("dacrew.prompts").joinpath("tasks-template.md").read_text(encoding="utf-8")
    template = parse_plan(template_text, "tasks-template.md")
    example = parse_plan_file(EXAMPLE / "tasks.md")
    shape = [(t.id, t.owners, t.dependencies, t.parallel, t.phase) for t in template.tasks]
    assert [(t.id, t.owners, t.dependencies, t.parallel, t.phase) for t in example.tasks] == shape

    def links(plan: Any) -> list[tuple[str, str]]:
        return [(i.upstream, i.downstream) for i in plan.integration_points]

    assert links(example) == links(template)
    assert all(t.checks for t in example.tasks)


@pytest.mark.slow
def test_changed_tier_thresholds_fail_the_mart_task_and_the_run(workdir: Path, tmp_path: Path) -> None:
    """The business rule is a check: the mart task again, on a copy of the finished project, with its agent
    writing tiers at 10 / 5 instead of the spec's 150 / 50 — the task fails, and so does the run."""
    import shutil

    generator = _generator()
    conversations = generator.script(generator.facts())
    writes_mart = [
        task_id
        for task_id, turns in conversations.items()
        if any(args.get("path") == "models/marts/customer_ltv.sql" for turn in turns for _, args in turn.calls)
    ]
    task_id = writes_mart[0]
    project = tmp_path / "mutated"
    shutil.copytree(workdir, project, ignore=shutil.ignore_patterns(".dacrew", "findings"))
    task = parse_plan_file(EXAMPLE / "tasks.md").by_id[task_id]
    plan = project / "mutation.md"
    plan.write_text(
        "# Data Analytics Tasks: Customer Lifetime Value\n\n## Business Logic Implementation Tasks\n\n"
        f"### {task_id}: {task.title}\n**Owner**: {' + '.join(task.owners)}  \n**Dependencies**: None  \n"
        f"**Files**: {', '.join(f'`{f}`' for f in task.files)}  \n"
        f"**Description**: {task.description[0]}\n**Acceptance**: {task.acceptance}\n**Checks**:\n"
        + "".join(f"- {c.kind}: {c.argument}\n" for c in task.checks),
        encoding="utf-8",
    )
    mutated = generator.CUSTOMER_LTV.replace(">= 150 then", ">= 10 then").replace(">= 50 then", ">= 5 then")
    assert mutated != generator.CUSTOMER_LTV
    turns = conversations[task_id]
    for turn in turns:
        turn.calls = [
            (name, {**args, "content": mutated} if args.get("path") == "models/marts/customer_ltv.sql" else args)
            for name, args in turn.calls
        ]
    cassette = tmp_path / "mutated.jsonl"
    cassette.write_text("".join(json.dumps(r) + "\n" for r in generator.records({task_id: turns})), encoding="utf-8")
    result = runner.invoke(
        app, ["run", str(plan), "--project-dir", str(project), "--model", f"replay:{cassette}", "--headless"]
    )
    assert result.exit_code == 1, result.output
    finding = FindingsStore(project).read(task_id)
    assert finding is not None
    assert finding.status == "failed"
    table = next(c for c in finding.checks if c.kind == "table")
    assert table.outcome == "failed"
    assert "only in expected" in table.output
    assert "only in actual" in table.output
    # The totals still add up: only the business rule notices.
    totals = [c for c in finding.checks if c.kind == "sql" and "sum(lifetime_value)" in c.argument]
    assert totals
    assert all(c.outcome == "passed" for c in totals)

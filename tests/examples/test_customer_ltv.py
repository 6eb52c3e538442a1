"""The customer_ltv example runs end to end on its shipped cassette, with real tools, and its marts hold
the numbers the seeds imply (computed here in plain Python, independently of the models)."""

from __future__ import annotations

import csv
import importlib.util
import json
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
from dacrew.plan.parse import parse_plan_file

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


def test_the_cassette_and_the_expected_tiers_are_what_the_generator_writes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    generator = _generator()
    assert CASSETTE.read_text(encoding="utf-8") == generator.render()
    assert generator.main(["--check"]) == 0
    assert capsys.readouterr().err == ""


def test_the_expected_tiers_are_what_the_seeds_imply() -> None:
    with (EXAMPLE / "expected" / "customer_ltv_tiers.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    expected = expected_ltv()
    assert [int(r["customer_id"]) for r in rows] == sorted(expected)
    for row in rows:
        want = expected[int(row["customer_id"])]
        assert (Decimal(row["lifetime_value"]), row["ltv_tier"]) == (want["lifetime_value"], want["ltv_tier"])
    assert Counter(r["ltv_tier"] for r in rows) == {"high": 5, "medium": 31, "low": 8, "none": 6}


def test_the_example_holds_only_what_a_team_has_before_the_feature() -> None:
    assert not (EXAMPLE / "models").exists()
    assert not (EXAMPLE / "findings").exists()
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
    result = runner.invoke(
        app, ["run", str(EXAMPLE), "--model", f"replay:{CASSETTE}", "--headless", "--workdir", str(work)]
    )
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
    assert len(plan.tasks) == 13
    for task in plan.tasks:
        finding = store.read(task.id)
        assert finding is not None, task.id
        assert finding.status == "completed", (task.id, finding.checks)
        assert finding.attempt == 1
        assert finding.summary.strip()
        ran = [(c.kind, c.argument) for c in finding.checks]
        assert ran == [(c.kind, c.argument) for c in task.checks], task.id
        outcomes = [(c.kind, c.outcome) for c in finding.checks if c.outcome != "passed"]
        # No Tableau server is configured: publication cannot be verified, and the report says so.
        assert outcomes == ([("tableau", "unverified")] if task.id == "T009" else []), (task.id, finding.checks)
    (run,) = list((workdir / ".dacrew" / "runs").iterdir())
    assert json.loads((run / "report.json").read_text(encoding="utf-8"))["status"] == "completed"
    assert (run / "report.html").is_file()
    assert not (EXAMPLE / "findings").exists(), "the example must run on a copy"
    # Every tool call the recorded decisions make succeeds: no summary claims work a guard refused.
    events = [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]
    results = [(e["task"], e["tool"], e["status"]) for e in events if e["type"] == "tool_result"]
    assert len(results) >= 60
    assert [r for r in results if r[2] != "ok"] == []


@pytest.mark.slow
def test_the_customer_ltv_mart_holds_what_the_seeds_imply(workdir: Path) -> None:
    expected = expected_ltv()
    sql = (
        "select customer_id, lifetime_value, number_of_orders, cast(first_order_date as varchar), "
        "cast(most_recent_order_date as varchar), average_order_value, ltv_tier "
        "from analytics.customer_ltv order by customer_id"
    )
    rows = _tool(workdir, "warehouse_query", {"sql": sql, "limit": 1000})["rows"]
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
    assert "cluster by (order_date)" in (workdir / "snowflake" / "planned_ddl.sql").read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_run_converts_back_into_the_same_model_turns(workdir: Path) -> None:
    (run,) = list((workdir / ".dacrew" / "runs").iterdir())
    recorded = [json.loads(line) for line in _generator().from_run(run).splitlines()]
    shipped = [json.loads(line) for line in CASSETTE.read_text(encoding="utf-8").splitlines()]
    assert recorded[0]["source"] == "recorded"

    def turns(records: list[dict[str, Any]]) -> list[tuple[str, int, int, Any]]:
        return sorted((r["task"], r["attempt"], r["step"], r["response"]) for r in records[1:])

    assert turns(recorded) == turns(shipped)


@pytest.mark.slow
def test_changed_tier_thresholds_fail_t008_and_the_run(workdir: Path, tmp_path: Path) -> None:
    """The business rule is a check: T008 again, on a copy of the finished project, with its agent writing
    tiers at 10 / 5 instead of the spec's 150 / 50 — the run fails, and says which customers moved."""
    import shutil

    project = tmp_path / "mutated"
    shutil.copytree(workdir, project, ignore=shutil.ignore_patterns(".dacrew", "findings"))
    task = parse_plan_file(EXAMPLE / "tasks.md").by_id["T008"]
    plan = project / "mutation.md"
    plan.write_text(
        "# Data Analytics Tasks: Customer Lifetime Value\n\n## Business Logic Implementation Tasks\n\n"
        f"### T008: {task.title}\n**Owner**: dbt-expert  \n**Dependencies**: None  \n"
        f"**Files**: {', '.join(f'`{f}`' for f in task.files)}  \n"
        f"**Description**: {task.description[0]}\n**Acceptance**: {task.acceptance}\n**Checks**:\n"
        + "".join(f"- {c.kind}: {c.argument}\n" for c in task.checks),
        encoding="utf-8",
    )
    generator = _generator()
    turns = generator.script(generator.facts())["T008"]
    mutated = generator.CUSTOMER_LTV.replace(">= 150 then", ">= 10 then").replace(">= 50 then", ">= 5 then")
    assert mutated != generator.CUSTOMER_LTV
    for turn in turns:
        turn.calls = [
            (name, {**args, "content": mutated} if args.get("path") == "models/marts/customer_ltv.sql" else args)
            for name, args in turn.calls
        ]
    cassette = tmp_path / "mutated.jsonl"
    cassette.write_text("".join(json.dumps(r) + "\n" for r in generator.records({"T008": turns})), encoding="utf-8")
    result = runner.invoke(
        app, ["run", str(plan), "--project-dir", str(project), "--model", f"replay:{cassette}", "--headless"]
    )
    assert result.exit_code == 1, result.output
    finding = FindingsStore(project).read("T008")
    assert finding is not None
    assert finding.status == "failed"
    outcomes = {c.kind + ": " + c.argument: c.outcome for c in finding.checks}
    assert outcomes["table: analytics.customer_ltv matches expected/customer_ltv_tiers.csv"] == "failed"
    # The totals still add up: only the business rule notices.
    assert outcomes["sql: select sum(lifetime_value) = 3964.76 from analytics.customer_ltv"] == "passed"
    table = next(c for c in finding.checks if c.kind == "table")
    assert table.output.startswith("39 of 50 expected rows not found, 39 of 50 actual rows not expected")
    assert "only in expected: (1, 33.00, low)" in table.output
    assert "only in actual: (1, 33, high)" in table.output

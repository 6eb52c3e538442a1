"""Token benchmark: what a Claude run of the template's 18-task plan sends, and how much of it the
prompt cache serves.

Every task of ``dacrew/prompts/tasks-template.md`` runs through dacrew's own specialist code
(``run_assignment``: the agent's system prompt and tools, the task prompt, the tool loop, delegation) with
the real ``ChatAnthropic`` client against ``dacrew.testing.AnthropicFake``. The fake answers each request
from a script per agent — profiles, dbt builds, queries, files, pipelines, data sources, then
``complete_task`` — and the tools return canned results shaped like the real ones (a column profile, one
dbt result per node, query rows). Tasks run one after another in dependency order; each task's
dependencies hand over as the run does it (findings in the store, read by ``FindingsStore.handoff``).

Token counts come from the fake, the same rule for every request (``dacrew.models.estimate``):
each tool definition, system block and message block counts ``ceil(characters of its JSON / 4)``;
cache reads and writes follow the request's ``cache_control`` breakpoints as Anthropic documents them
(minimum 1,024 cached tokens). "Input" below is everything the model read: uncached + cache read + cache
write.

Three variants in one run:
- ``dacrew``: as shipped (findings handoff, breakpoints on the system prompt and the newest message);
- ``naive``: the same, but instead of findings each task receives the full transcripts (task prompt,
  every model turn, every tool result) of the tasks it depends on, directly or through others, each once
  — what a task would see if the conversation so far were handed on;
- ``naive_direct``: the transcripts of its direct dependencies only (a lower bound of naive handoff:
  what the dependencies themselves were handed is dropped);
- ``no_cache``: dacrew's requests on an API that caches nothing.

Prints one JSON object: ``input_tokens_per_call_mean`` and ``input_tokens_per_call_p95`` (dacrew),
``cache_read_share`` (dacrew's cache reads ÷ its input), ``naive_input_ratio`` (naive input ÷ dacrew
input; ``naive_direct_input_ratio`` likewise), ``cache_usd_saving`` (1 - dacrew's USD ÷ no_cache's), and
per variant the calls, tokens and USD at the default model's prices.

    uv run python benchmarks/tokens.py
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import math
import os
import re
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from dacrew.agents import specialist
from dacrew.agents.journal import Journal
from dacrew.agents.specialist import Assignment, run_assignment
from dacrew.config import DEFAULT_MODEL
from dacrew.findings.format import Usage
from dacrew.findings.store import FindingsStore
from dacrew.models.resolve import ModelSource, reset_async_clients
from dacrew.models.usage import cost_usd
from dacrew.plan.model import TaskPlan
from dacrew.plan.parse import parse_plan
from dacrew.plan.schedule import topological_order
from dacrew.testing.anthropic_fake import AnthropicFake
from dacrew.tools.base import Tool, ToolResult
from dacrew.tools.dbt.toolset import DbtResult
from dacrew.tools.registry import load_all

SPEC = """\
# Customer lifetime value

Marketing needs a daily customer lifetime value (LTV) table and a Tableau data source on it.
- Sources: raw.customers (one row per customer), raw.orders (one row per order, status in placed,
  shipped, completed, returned), raw.payments (one or more per order; amount in cents).
- LTV = sum of completed payments in USD per customer, net of refunds; customers without orders have 0.
- Grain of the mart: one row per customer, refreshed daily by 06:00 UTC; history kept by snapshot.
- Segments: new (first order < 90 days), active (order in the last 180 days), lapsed (otherwise).
- The Tableau data source customer_ltv is published to the Customer Analytics project.
"""


# -- canned tool results, shaped like the real ones ---------------------------------------------------


class Canned(ToolResult):
    model_config = ConfigDict(extra="allow")


def _profile(table: str) -> dict[str, Any]:
    names = ["customer_id", "first_name", "last_name", "email", "signup_date", "country", "status", "updated_at"]
    types = ["INTEGER", "VARCHAR", "VARCHAR", "VARCHAR", "DATE", "VARCHAR", "VARCHAR", "TIMESTAMP"]
    columns = [
        {
            "name": name,
            "type": kind,
            "nulls": (i * 37) % 11,
            "distinct": 4_812 - i * 301,
            "min": "2019-01-03" if kind in ("DATE", "TIMESTAMP") else (1 if kind == "INTEGER" else "Aaron"),
            "max": "2026-11-29" if kind in ("DATE", "TIMESTAMP") else (4_812 if kind == "INTEGER" else "Zoe"),
            "top_values": [{"value": f"{name}_{k}", "count": 90 - k * 7} for k in range(5)],
        }
        for i, (name, kind) in enumerate(zip(names, types, strict=True))
    ]
    return {"table": table, "row_count": 4_812, "columns": columns, "sampled": False}


def _dbt(command: str, select: str) -> dict[str, Any]:
    models = ["stg_customers", "stg_orders", "stg_payments", "int_order_payments", "int_customer_orders"]
    models += ["customer_ltv", "customer_segments"]
    nodes: list[dict[str, Any]] = []
    for i, model in enumerate(models):
        nodes.append(
            {
                "unique_id": f"model.customer_ltv.{model}",
                "name": model,
                "resource_type": "model",
                "status": "success",
                "execution_time": round(0.12 + i * 0.07, 2),
                "message": f"OK created sql table model main.{model}",
                "failures": None,
                "rows_affected": 4_812 - i * 13,
            }
        )
        for test in ("unique", "not_null", "relationships", "accepted_values"):
            nodes.append(
                {
                    "unique_id": f"test.customer_ltv.{test}_{model}_customer_id.{i:04x}{len(test):04x}",
                    "name": f"{test}_{model}_customer_id",
                    "resource_type": "test",
                    "status": "warn" if (i, test) == (3, "accepted_values") else "pass",
                    "execution_time": 0.04,
                    "message": "Got 2 results, configured to warn if != 0"
                    if (i, test) == (3, "accepted_values")
                    else "PASS",
                    "failures": 2 if (i, test) == (3, "accepted_values") else 0,
                    "rows_affected": None,
                }
            )
    summary: dict[str, int] = {}
    for node in nodes:
        summary[node["status"]] = summary.get(node["status"], 0) + 1
    return {
        "command": f"{command} --select {select}",
        "target": "dev",
        "success": True,
        "nodes": nodes,
        "summary": summary,
        "error": None,
        "elapsed_s": 6.4,
        "manifest_reused": True,
    }


def _rows(sql: str) -> dict[str, Any]:
    columns = ["customer_id", "segment", "orders", "first_order", "last_order", "ltv_usd"]
    rows = [
        [1000 + i, ("new", "active", "lapsed")[i % 3], 1 + i % 7, "2024-03-11", "2026-10-02", round(37.5 * (i % 13), 2)]
        for i in range(40)
    ]
    return {"sql": sql, "columns": columns, "rows": rows, "row_count": 4_812, "truncated": True}


def _file(path: str) -> dict[str, Any]:
    body = "\n".join(
        [
            "with orders as (select * from {{ ref('stg_orders') }}),",
            "payments as (select * from {{ ref('stg_payments') }}),",
            "order_payments as (",
            "    select orders.order_id, orders.customer_id, orders.status,",
            "           sum(case when payments.status = 'success' then payments.amount else 0 end) / 100.0 as paid_usd",
            "    from orders left join payments using (order_id)",
            "    group by 1, 2, 3",
            ")",
            "select customer_id, count(*) as orders, sum(paid_usd) as ltv_usd",
            "from order_payments where status in ('completed', 'shipped')",
            "group by customer_id",
        ]
        * 3
    )
    return {"path": path, "content": body, "bytes": len(body)}


def _result(name: str, args: dict[str, Any]) -> dict[str, Any]:
    if name == "warehouse_profile":
        return _profile(str(args.get("table", "raw.customers")))
    if name in ("dbt_build", "dbt_run", "dbt_test"):
        return _dbt(name.removeprefix("dbt_"), str(args.get("select", "+customer_ltv")))
    if name in ("warehouse_query", "warehouse_timed_query", "dbt_show"):
        return _rows(str(args.get("sql") or args.get("select") or "select 1"))
    if name in ("files_read", "docs_read"):
        return _file(str(args.get("path", "models/marts/customer_ltv.sql")))
    if name == "dbt_ls":
        return {"nodes": [{"unique_id": f"model.customer_ltv.m{i}", "name": f"m{i}"} for i in range(24)]}
    if name in ("warehouse_describe", "warehouse_list", "warehouse_explain"):
        return {"columns": [{"name": f"col_{i}", "type": "VARCHAR", "nullable": True} for i in range(12)]}
    if name == "findings_read":
        return {"task": args.get("task"), "status": "completed", "summary": "Delivered as specified. " * 20}
    if name.startswith(("files_", "docs_")):
        return {"path": args.get("path", "."), "written": True, "entries": [f"models/m{i}.sql" for i in range(12)]}
    return {"name": name, "status": "ok", "detail": {"job": "8c1f", "state": "Success", "warnings": []}}


def canned_catalogue() -> dict[str, Tool]:
    """The real tools (names, descriptions, schemas) with canned results in place of the systems."""

    def canned(name: str) -> Any:
        def call(ctx: Any, args: Any) -> ToolResult:
            data = _result(name, args.model_dump())
            # dbt results keep their real type, so the model reads them condensed as in a real run.
            return DbtResult.model_validate(data) if "nodes" in data and "summary" in data else Canned(**data)

        return call

    return {name: dataclasses.replace(t, func=canned(name)) for name, t in load_all().items()}


# -- the scripted model -----------------------------------------------------------------------------

STEPS: dict[str, list[list[tuple[str, dict[str, Any]]]]] = {
    "parent": [
        [("files_list", {"path": "."})],
        [("files_read", {"path": "dbt_project.yml"}), ("findings_list", {})],
        [("files_write", {"path": "docs/runbook.md", "content": "# Runbook\n" + "- step\n" * 40})],
    ],
    "dbt-expert": [
        [("files_list", {"path": "models"}), ("files_read", {"path": "models/marts/customer_ltv.sql"})],
        [("warehouse_profile", {"table": "raw.orders"}), ("warehouse_profile", {"table": "raw.payments"})],
        [("files_write", {"path": "models/marts/customer_ltv.sql", "content": "select 1 as customer_id\n" * 30})],
        [("dbt_build", {"select": "+customer_ltv"})],
        [("warehouse_query", {"sql": "select * from main.customer_ltv order by ltv_usd desc limit 40"})],
    ],
    "snowflake-expert": [
        [("warehouse_list", {}), ("warehouse_describe", {"table": "raw.orders"})],
        [("warehouse_profile", {"table": "raw.customers"})],
        [("warehouse_explain", {"sql": "select customer_id, sum(amount) from raw.payments group by 1"})],
        [("warehouse_query", {"sql": "select customer_id, count(*) from raw.orders group by 1 limit 40"})],
    ],
    "tableau-expert": [
        [("dbt_ls", {"select": "customer_ltv"}), ("warehouse_describe", {"table": "main.customer_ltv"})],
        [("tableau_build_datasource", {"table": "main.customer_ltv", "name": "customer_ltv"})],
        [("tableau_check_fields", {"datasource": "customer_ltv"})],
        [("warehouse_query", {"sql": "select segment, count(*), sum(ltv_usd) from main.customer_ltv group by 1"})],
    ],
    "orchestra-expert": [
        [("dbt_ls", {"select": "tag:daily"})],
        [("files_write", {"path": "orchestration/customer_ltv.yml", "content": "pipeline:\n" + "  - task\n" * 30})],
        [("orchestra_validate_pipeline", {"path": "orchestration/customer_ltv.yml"})],
        [("orchestra_dry_run", {"path": "orchestration/customer_ltv.yml"})],
    ],
    "business-context": [
        [("docs_list", {}), ("docs_read", {"path": "docs/metrics.md"})],
        [("warehouse_profile", {"table": "main.customer_ltv"})],
        [("docs_write", {"path": "docs/customer_ltv.md", "content": "# Customer LTV\n" + "Definition.\n" * 40})],
    ],
}
DELEGATIONS = {"T014": "orchestra-expert"}


def _text(block: Any) -> str:
    return block if isinstance(block, str) else str(block.get("text", "")) if isinstance(block, dict) else ""


def responder(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The next turn of the conversation in ``body``: its agent's next scripted step, then complete_task."""
    system = "".join(_text(b) for b in body.get("system") or [])
    agent = re.search(r"You are ([\w-]+),", system)
    first = body["messages"][0]["content"]
    prompt = first if isinstance(first, str) else "".join(_text(b) for b in first)
    task = re.search(r"# Task (T\d+)", prompt)
    name = agent.group(1) if agent else "parent"
    task_id = task.group(1) if task else "T000"
    step = sum(1 for m in body["messages"] if m["role"] == "assistant")
    delegated = "## Delegated to you by" in prompt
    steps = STEPS.get(name, STEPS["parent"])
    calls: list[tuple[str, dict[str, Any]]]
    if not delegated and task_id in DELEGATIONS and step == 1:
        calls = [("delegate", {"agent": DELEGATIONS[task_id], "instructions": "Write the monitoring pipeline."})]
    elif step < len(steps):
        calls = steps[step]
    else:
        calls = [
            (
                "complete_task",
                {
                    "summary": f"{task_id} delivered by {name}: the models, checks and documents the task lists are in "
                    "place and verified with the tools; figures match the spec's definitions.",
                    "artifacts": [f"work/{task_id.lower()}/output.md", "models/marts/customer_ltv.sql"],
                    "next_steps": "Successors can build on customer_ltv (one row per customer, daily).",
                },
            )
        ]
    blocks: list[dict[str, Any]] = [{"type": "text", "text": f"Step {step + 1} of {task_id}: next, {calls[0][0]}."}]
    blocks += [
        {"type": "tool_use", "id": f"toolu_{task_id}_{name}_{step}_{i}", "name": tool, "input": args}
        for i, (tool, args) in enumerate(calls)
    ]
    return blocks


# -- one variant ------------------------------------------------------------------------------------


def transcript(fake: AnthropicFake, task_id: str) -> str:
    """A task's whole conversation as text, from the last request the fake received for it (its own
    handoff section left out: each transcript is handed on once, not nested in its successors')."""
    mine = [
        r.body
        for r in fake.requests
        if r.body.get("messages") and f"# Task {task_id}:" in json.dumps(r.body["messages"][0])
    ]
    lines: list[str] = [f"### Transcript of {task_id}"]
    for message in mine[-1]["messages"] if mine else []:
        content = message["content"]
        for block in [content] if isinstance(content, str) else content:
            if isinstance(block, str) or block.get("type") == "text":
                text = _text(block).split("## Findings of the tasks this one depends on")[0]
                lines.append(f"{message['role']}: {text}")
            elif block.get("type") == "tool_use":
                lines.append(f"call {block['name']}: {json.dumps(block['input'])}")
            elif block.get("type") == "tool_result":
                inner = block.get("content")
                lines.append("result: " + (inner if isinstance(inner, str) else "".join(_text(b) for b in inner)))
    return "\n".join(lines)


def handed(plan: TaskPlan, task_id: str, *, upstream: bool) -> list[str]:
    """Whose transcripts a naive handoff gives ``task_id``: its dependencies, or (``upstream``) every
    task it depends on directly or not, each once, in plan order."""
    tasks = {t.id: t for t in plan.tasks}
    if not upstream:
        return list(tasks[task_id].dependencies)
    seen: set[str] = set()
    todo = list(tasks[task_id].dependencies)
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo += tasks[current].dependencies
    return [t for t in topological_order(plan) if t in seen]


async def run_variant(name: str, *, naive: str = "", caching: bool = True) -> dict[str, Any]:
    plan = parse_plan((resources.files("dacrew.prompts") / "tasks-template.md").read_text(encoding="utf-8"))
    tasks = {t.id: t for t in plan.tasks}
    with (
        tempfile.TemporaryDirectory() as tmp,
        AnthropicFake(responder=responder, min_cache_tokens=1024 if caching else 10**12) as fake,
    ):
        project = Path(tmp)
        os.environ["ANTHROPIC_BASE_URL"] = fake.url
        os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-" + "benchmark-" + "0" * 12)
        source = ModelSource(DEFAULT_MODEL, None, base_dir=project)
        store = FindingsStore(project)

        for task_id in topological_order(plan):
            task = tasks[task_id]
            handoff = (
                "\n\n".join(transcript(fake, d) for d in handed(plan, task_id, upstream=naive == "upstream"))
                if naive
                else store.handoff(task.dependencies)
            )
            store.start(task_id, title=task.title, owner=" + ".join(task.owners), depends_on=task.dependencies)
            a = Assignment(task=task, attempt=1, project_dir=project, run_id=name, spec=SPEC, handoff=handoff)
            journal = Journal(project / ".journal" / f"{task_id}.jsonl")
            out = await run_assignment(a, models=source, journal=journal, emit=lambda *a, **k: None)
            if out.status != "completed" or out.result is None:
                raise SystemExit(f"{name}: {task_id} did not complete: {out.error}")
            r = out.result
            store.finish(task_id, "completed", summary=r.summary, artifacts=r.artifacts, next_steps=r.next_steps)

        served = list(fake.usage)
    inputs = [u.request.total_input for u in served]
    usage = Usage(
        input_tokens=sum(inputs),
        output_tokens=sum(u.output_tokens for u in served),
        cache_read_tokens=sum(u.request.cache_read_input_tokens for u in served),
        cache_write_tokens=sum(u.request.cache_creation_input_tokens for u in served),
    )
    ordered = sorted(inputs)
    return {
        "calls": len(served),
        "input_tokens": usage.input_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "output_tokens": usage.output_tokens,
        "input_tokens_per_call_mean": round(sum(inputs) / len(inputs)),
        "input_tokens_per_call_p95": ordered[max(math.ceil(0.95 * len(ordered)) - 1, 0)],
        "usd": cost_usd(DEFAULT_MODEL, usage),
    }


async def run_all() -> tuple[dict[str, Any], ...]:
    # One event loop for all variants: the client's shared HTTP connections stay on the loop they opened on.
    reset_async_clients()
    dacrew = await run_variant("dacrew")
    naive = await run_variant("naive", naive="upstream")
    flat = await run_variant("naive_direct", naive="direct")
    no_cache = await run_variant("no_cache", caching=False)
    return dacrew, naive, flat, no_cache


def main() -> None:
    specialist.load_all = canned_catalogue  # the systems answer with canned results
    dacrew, naive, flat, no_cache = asyncio.run(run_all())
    figures = {
        "plan": "tasks-template.md (18 tasks)",
        "model_prices": DEFAULT_MODEL,
        "token_estimate": "ceil(JSON characters / 4) per tool, system and message block; cache per cache_control",
        "input_tokens_per_call_mean": dacrew["input_tokens_per_call_mean"],
        "input_tokens_per_call_p95": dacrew["input_tokens_per_call_p95"],
        "cache_read_share": round(dacrew["cache_read_tokens"] / dacrew["input_tokens"], 3),
        "naive_input_ratio": round(naive["input_tokens"] / dacrew["input_tokens"], 2),
        "naive_direct_input_ratio": round(flat["input_tokens"] / dacrew["input_tokens"], 2),
        "cache_usd_saving": round(1 - dacrew["usd"] / no_cache["usd"], 3),
        "dacrew": dacrew,
        "naive": naive,
        "naive_direct": flat,
        "no_cache": no_cache,
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()

"""Writes chat.jsonl: a scripted `dacrew chat` conversation for the customer lifetime value feature.

The interview (business-context asks about stakeholders, the metric's definition, sources, freshness,
the dashboard and access), the spec (this folder's spec.md), a first plan with one error the parent
fixes after the plan compiler's report, the plan (this folder's tasks.md), and then the run's model
turns, taken from cassette.jsonl. The turns are scripted: whatever the person types, the crew answers
as written here (say "enough" to skip the remaining questions; `/approve` once the plan is shown).

    uv run python examples/customer_ltv/make_chat_cassette.py           # rewrite chat.jsonl
    uv run python examples/customer_ltv/make_chat_cassette.py --check   # exit 1 if it is out of date
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CHAT = HERE / "chat.jsonl"
HEADER = {
    "type": "header",
    "version": 1,
    "source": "scripted",
    "model": "scripted:customer_ltv-chat",
    "created": "2026-11-30T10:00:00+00:00",
}
DELAY_S = 0.3  # a model "writing" its reply, so the conversation reads at a human pace

QUESTIONS = [
    (
        "Happy to help. A few questions first, one at a time.",
        "stakeholders",
        "Who will use the lifetime value numbers, and who decides what counts toward them?",
    ),
    (
        "",
        "metrics",
        "How exactly should lifetime value be computed: do refunds reduce it, do failed payments count, "
        "and do returned orders count? (Counting only successful payments, refunds as negative amounts, "
        "makes returned orders net to zero.)",
    ),
    ("", "sources", "Which tables hold customers, orders and payments, and in what unit are the amounts?"),
    ("", "freshness", "How fresh must the numbers be, and how fast must the dashboard's queries answer?"),
    ("", "dashboards", "What should the Tableau data source offer: tiers, friendly names, calculated fields?"),
    ("", "access", "Who may see customer-level values, and is there anything to hide from some viewers?"),
]


def _turn(task: str, step: int, content: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "type": "model",
        "task": task,
        "attempt": 1,
        "step": step,
        "request_digest": None,
        "delay_s": DELAY_S,
        "response": {
            "content": content,
            "tool_calls": [
                {"id": f"{task.replace('/', '-')}-{step}-{index}", "name": name, "args": args}
                for index, (name, args) in enumerate(calls)
            ],
            "usage": {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "cache_write_tokens": 0},
        },
    }


def _draft_with_an_error(plan: str) -> str:
    """The first draft: the last task also depends on a task that does not exist."""
    lines = plan.splitlines()
    where = max(i for i, line in enumerate(lines) if line.startswith("**Dependencies**"))
    lines[where] = lines[where].rstrip() + ", T099"
    return "\n".join(lines) + "\n"


def chat_turns() -> list[dict[str, Any]]:
    spec = (HERE / "spec.md").read_text(encoding="utf-8")
    plan = (HERE / "tasks.md").read_text(encoding="utf-8")
    turns = [
        _turn("chat/interview", step, say, [("ask_person", {"question": question, "topic": topic})])
        for step, (say, topic, question) in enumerate(QUESTIONS)
    ]
    turns.append(
        _turn(
            "chat/interview",
            len(QUESTIONS),
            "Thank you: I have what I need for the spec.",
            [("write_spec", {"feature": "customer lifetime value", "content": spec})],
        )
    )
    turns.append(_turn("chat/plan", 0, "Here is the plan.", [("write_plan", {"content": _draft_with_an_error(plan)})]))
    turns.append(
        _turn("chat/plan", 1, "Fixed: there is no T099; the dependency is gone.", [("write_plan", {"content": plan})])
    )
    return turns


def run_turns() -> list[dict[str, Any]]:
    """The run's model turns, as the example's own cassette scripts them."""
    lines = (HERE / "cassette.jsonl").read_text(encoding="utf-8").splitlines()
    return [record for record in map(json.loads, filter(str.strip, lines)) if record.get("type") != "header"]


def render() -> str:
    return "\n".join(json.dumps(line, ensure_ascii=False) for line in [HEADER, *chat_turns(), *run_turns()]) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if not CHAT.is_file() or CHAT.read_text(encoding="utf-8") != text:
            print(f"{CHAT.name} is out of date: run examples/customer_ltv/make_chat_cassette.py", file=sys.stderr)
            return 1
        return 0
    CHAT.write_text(text, encoding="utf-8")
    print(f"wrote {CHAT.name}: {text.count(chr(10)) - 1} turns")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""A tiny churn-dashboard conversation as a scripted cassette: the interview, a plan with one error the
parent fixes, an edit, and a run whose tasks need no dbt (finding checks only; T001 asks a question)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SPEC = """# Feature: Churn dashboard

## Stakeholders
- Head of Customer Success (owner, signs off)

## Metrics
### Monthly churn rate
Customers active on the first day of the month who cancel during it, divided by those customers.

## Open questions
- Sources (skipped in the interview)
"""

TASK = """### {id}: {title}{parallel}
**Owner**: {owner}
**Dependencies**: {deps}
**Files**: `work/{lower}/`
**Description**: {title}
- Write down the result in the finding
**Acceptance**: The finding has a summary
**Checks**:
- finding: Summary
"""


def plan(tasks: list[tuple[str, str, str, str, bool]]) -> str:
    head = (
        "# Data Analytics Tasks: Churn dashboard\n\n"
        "**Branch**: `001-churn-dashboard` | **Date**: 2026-11-30 | **Spec**: spec.md | **Plan**: tasks.md\n\n"
        "## Business Logic Tasks\n\n"
    )
    body = "\n".join(
        TASK.format(
            id=task_id,
            title=title,
            owner=owner,
            deps=deps or "None",
            lower=task_id.lower(),
            parallel=" [P]" if parallel else "",
        )
        for task_id, title, owner, deps, parallel in tasks
    )
    return head + body


FIRST = [
    ("T001", "Agree the churn definition", "business-context", "", False),
    ("T002", "Churn model", "dbt-expert", "T001, T009", False),
]
FIXED = [FIRST[0], ("T002", "Churn model", "dbt-expert", "T001", False)]
EDITED = [*FIXED, ("T003", "Churn dashboard", "tableau-expert", "T002", False)]


def model_turn(task: str, step: int, content: str, calls: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    return {
        "type": "model",
        "task": task,
        "attempt": 1,
        "step": step,
        "request_digest": None,
        "delay_s": 0.0,
        "response": {
            "content": content,
            "tool_calls": [
                {"id": f"{task.replace('/', '-')}-{step}-{i}", "name": name, "args": args}
                for i, (name, args) in enumerate(calls)
            ],
            "usage": {"input_tokens": 200, "output_tokens": 40, "cache_read_tokens": 0, "cache_write_tokens": 0},
        },
    }


def turns(slow_question: float = 0.0) -> list[dict[str, Any]]:
    """The conversation's turns; ``slow_question`` delays the second question (seconds), so that a test
    can cancel the reply with Ctrl-C while the model is "writing" it."""
    interview = [
        (
            "Glad to help with churn.",
            "ask_person",
            {"question": "Who uses the churn dashboard, and who signs it off?", "topic": "stakeholders"},
        ),
        ("", "ask_person", {"question": "Which tables hold subscriptions and cancellations?", "topic": "sources"}),
        ("", "ask_person", {"question": "How fresh must the numbers be?", "topic": "freshness"}),
        ("I have what I need.", "write_spec", {"feature": "churn dashboard", "content": SPEC}),
    ]
    out = [
        model_turn("chat/interview", step, text, [(tool, args)]) for step, (text, tool, args) in enumerate(interview)
    ]
    out[1]["delay_s"] = slow_question
    out += [
        model_turn("chat/plan", 0, "Here is a first plan.", [("write_plan", {"content": plan(FIRST)})]),
        model_turn("chat/plan", 1, "Fixed: T009 does not exist.", [("write_plan", {"content": plan(FIXED)})]),
        model_turn("chat/plan", 2, "Added the dashboard after the model.", [("write_plan", {"content": plan(EDITED)})]),
        model_turn("T001", 0, "", [("request_input", {"question": "Do paused subscriptions count as churned?"})]),
        model_turn("T001", 1, "", [("complete_task", {"summary": "Churn definition agreed: paused is not churned."})]),
        model_turn("T002", 0, "", [("complete_task", {"summary": "Churn model described."})]),
        model_turn("T003", 0, "", [("complete_task", {"summary": "Churn dashboard described."})]),
    ]
    return out


def write_cassette(path: Path, slow_question: float = 0.0) -> Path:
    header = {
        "type": "header",
        "version": 1,
        "source": "scripted",
        "model": "scripted:chat",
        "created": "2026-11-30T00:00:00Z",
    }
    path.write_text("\n".join(json.dumps(line) for line in [header, *turns(slow_question)]) + "\n", encoding="utf-8")
    return path

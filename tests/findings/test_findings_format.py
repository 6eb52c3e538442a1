from __future__ import annotations

import re
from datetime import datetime

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dacrew.errors import UserError
from dacrew.findings.format import STATUSES, CheckResult, Finding, Usage, now_iso, parse, render

EXPECTED = """\
---
task: T004
title: Staging models for orders
owner: dbt-expert
status: completed
attempt: 2
started: '2026-11-28T13:04:05.123+00:00'
finished: '2026-11-28T13:09:41.007+00:00'
depends_on:
- T001
- T002
artifacts:
- models/staging/stg_orders.sql
checks:
- kind: dbt
  argument: build --select staging
  passed: true
  output: 3 of 3 OK
  outcome: passed
usage:
  input_tokens: 1200
  output_tokens: 340
  cache_read_tokens: 800
  cache_write_tokens: 0
  usd: 0.0123
run_id: r-20261128-1
---

# T004: Staging models for orders

## Summary

Built `stg_orders` from the raw orders source.

## Implementation Details

- One CTE per source column group.

## Integration Points

T008 reads `stg_orders`.

## Testing Strategy

## Risks and Dependencies

Late-arriving orders.

## Next Steps

- Add a freshness check.
"""


def _finding() -> Finding:
    return Finding(
        task="T004",
        title="Staging models for orders",
        owner="dbt-expert",
        status="completed",
        attempt=2,
        started="2026-11-28T13:04:05.123+00:00",
        finished="2026-11-28T13:09:41.007+00:00",
        depends_on=["T001", "T002"],
        artifacts=["models/staging/stg_orders.sql"],
        checks=[CheckResult(kind="dbt", argument="build --select staging", passed=True, output="3 of 3 OK")],
        usage=Usage(input_tokens=1200, output_tokens=340, cache_read_tokens=800, usd=0.0123),
        run_id="r-20261128-1",
        summary="Built `stg_orders` from the raw orders source.",
        implementation_details="- One CTE per source column group.",
        integration_points="T008 reads `stg_orders`.",
        risks_and_dependencies="Late-arriving orders.",
        next_steps="- Add a freshness check.",
    )


def test_render_is_the_template_text() -> None:
    assert render(_finding()) == EXPECTED


def test_parse_inverts_render() -> None:
    assert parse(EXPECTED, "findings/T004.md") == _finding()


def test_parse_keeps_extra_sections_and_ignores_heading_order() -> None:
    text = EXPECTED.replace("## Next Steps", "## Open Questions\n\nWho owns refunds?\n\n## Next Steps")
    finding = parse(text, "x.md")
    assert finding.extra_sections == {"Open Questions": "Who owns refunds?"}
    assert finding.next_steps == "- Add a freshness check."
    assert finding.section("Open Questions") == "Who owns refunds?"
    assert finding.section("testing strategy") == ""
    assert parse(render(finding), "x.md") == finding


def test_heading_inside_a_section_stays_in_it() -> None:
    finding = Finding(task="T1", summary="Intro\n\n## Details\n\nmore\n\n```\n## not a heading\n```")
    back = parse(render(finding), "x.md")
    assert back.summary == "Intro\n\n### Details\n\nmore\n\n```\n## not a heading\n```"
    assert back.extra_sections == {}


def test_unquoted_timestamp_in_hand_edited_file_reads_back_as_text() -> None:
    text = EXPECTED.replace("'2026-11-28T13:04:05.123+00:00'", "2026-11-28T13:04:05.123+00:00")
    assert parse(text, "x.md").started == "2026-11-28T13:04:05.123+00:00"


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("task: T1\n", "starts with YAML front matter", 1),
        ("---\ntask: T1\nstatus: done\n", "not closed", 1),
        ("---\ntask: T1\nstatus: done\n---\n", "status: Input should be", 3),
        ("---\ntask: T1\nattempt: 1\ncolour: red\n---\n", "unknown front matter key 'colour'", 4),
        ("---\ntask: [T1\n---\n", "invalid front matter", 2),
        ("---\n- a\n---\n", "must be a mapping", 2),
    ],
)
def test_broken_file_is_a_located_user_error(text: str, message: str, line: int) -> None:
    with pytest.raises(UserError) as info:
        parse(text, "findings/T1.md")
    assert message in str(info.value)
    assert info.value.path == "findings/T1.md"
    assert info.value.line == line


def test_now_iso_has_milliseconds_and_a_zone() -> None:
    stamp = now_iso()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", stamp)
    assert datetime.fromisoformat(stamp).tzinfo is not None


def test_statuses_follow_the_lifecycle() -> None:
    assert STATUSES == ("pending", "in_progress", "verifying", "completed", "failed", "needs_input", "skipped")


def test_usage_adds_up() -> None:
    total = Usage(input_tokens=1, output_tokens=2, usd=0.1) + Usage(input_tokens=10, cache_read_tokens=5, usd=0.2)
    assert total == Usage(input_tokens=11, output_tokens=2, cache_read_tokens=5, usd=0.3)


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")) | st.just("\n"), max_size=80)


@settings(max_examples=150, deadline=None)
@given(
    title=_text.filter(lambda t: "\n" not in t),
    owner=st.sampled_from(["dbt-expert", "Parent Agent", ""]),
    status=st.sampled_from(STATUSES),
    artifacts=st.lists(_text, max_size=3),
    summary=_text,
    next_steps=_text,
)
def test_any_finding_round_trips(
    title: str, owner: str, status: str, artifacts: list[str], summary: str, next_steps: str
) -> None:
    assume(
        not any(
            line.startswith("## ") or line.lstrip().startswith("```")
            for line in (summary + "\n" + next_steps).splitlines()
        )
    )
    finding = Finding(
        task="T1",
        title=title,
        owner=owner,
        status=status,  # type: ignore[arg-type]
        artifacts=artifacts,
        summary=summary,
        next_steps=next_steps,
    )
    assert parse(render(finding), "x.md") == finding


def test_a_dashes_line_inside_a_value_does_not_end_the_front_matter() -> None:
    finding = Finding(task="T1", owner="a\n---\nb", artifacts=["x\n---\ny"])
    assert parse(render(finding), "x.md") == finding


def test_a_check_has_three_outcomes_and_old_findings_still_load() -> None:
    old = parse(EXPECTED.replace("  outcome: passed\n", "").replace("passed: true", "passed: false"))
    assert [(c.passed, c.outcome) for c in old.checks] == [(False, "failed")]
    legacy = parse(EXPECTED.replace("  outcome: passed\n", ""))
    assert [(c.passed, c.outcome) for c in legacy.checks] == [(True, "passed")]
    unverified = CheckResult(
        kind="tableau", argument="datasource x published", outcome="unverified", output="no server"
    )
    assert (unverified.passed, unverified.unverified) == (False, True)
    again = parse(render(_finding().model_copy(update={"checks": [unverified]})))
    assert again.checks == [unverified]
    # ``passed`` follows the outcome, whatever it was given.
    assert CheckResult(kind="sql", passed=True, outcome="failed").passed is False

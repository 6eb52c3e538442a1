"""The shipped chat demo: its cassette is what its script writes, and it plays the example feature from
the first sentence to a completed run in a terminal."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dacrew.plan.parse import parse_plan_file

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "customer_ltv"
DACREW = Path(sys.executable).parent / "dacrew"


def test_the_demo_cassette_is_what_its_script_writes() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / "make_chat_cassette.py"), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.slow
@pytest.mark.timeout(1200)  # the whole 18-task example, dbt builds included, through a terminal
def test_the_demo_plays_the_example_feature_to_a_completed_run(tmp_path: Path) -> None:
    project = tmp_path / "customer_ltv"
    shutil.copytree(EXAMPLE, project)
    tasks = len(parse_plan_file(EXAMPLE / "tasks.md").tasks)
    child = pexpect.spawn(
        str(DACREW),
        ["chat", "--project-dir", str(project), "--model", f"replay:{EXAMPLE / 'chat.jsonl'}"],
        env={**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
        encoding="utf-8",
        timeout=300,
        dimensions=(50, 160),
    )
    child.expect("Describe the feature")
    child.sendline("we need customer lifetime value for marketing and finance")
    child.expect("who decides what counts")
    child.sendline("Dana Reyes, Head of Finance, decides")
    child.expect("refunds reduce it")
    child.sendline("enough")
    child.expect("T099")
    child.expect(re.escape("(version 2)"))
    child.sendline("/approve")
    approvals = 0
    # Deployment to the production target asks a person: each request is shown with its digest.
    while child.expect([f"{tasks} of {tasks} tasks completed", re.escape("approve exactly this request? (yes/no)")]):
        approvals += 1
        child.sendline("yes")
    assert approvals >= 1
    child.sendline("/quit")
    child.expect(pexpect.EOF)
    feature = project / "specs" / "001-customer-lifetime-value"
    assert (feature / "tasks.md").read_text() == (EXAMPLE / "tasks.md").read_text()
    assert (feature / "spec.md").read_text() == (EXAMPLE / "spec.md").read_text()
    assert sorted(p.name for p in (project / "findings").iterdir()) == [f"T{i:03d}.md" for i in range(1, tasks + 1)]

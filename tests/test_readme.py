"""The README's two commands work as written: the main job, and the test command."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The two commands", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.+?)\n```", section, flags=re.DOTALL)


def uv_argv(command: str) -> list[str]:
    """The command as argv, with ``uv`` resolved (``uv run`` names itself in $UV for its children)."""
    argv = shlex.split(command)
    if argv[0] == "uv":
        argv[0] = os.environ.get("UV") or shutil.which("uv") or "uv"
    return argv


@pytest.mark.slow
def test_the_main_command_runs_the_example_feature_to_the_end() -> None:
    main, _tests = readme_commands()
    argv = uv_argv(main)
    workdir = ROOT / argv[argv.index("--workdir") + 1]
    shutil.rmtree(workdir, ignore_errors=True)
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    findings = sorted(p.name for p in (workdir / "findings").iterdir())
    assert findings == [f"T{i:03d}.md" for i in range(1, 14)]
    (run,) = list((workdir / ".dacrew" / "runs").iterdir())
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "completed"
    checks = [(t["id"], c) for t in report["tasks"] for c in t["checks"]]
    assert len(checks) >= 13
    # Every check passes but one: with no Tableau server configured, publication is unverified.
    assert [(i, c["kind"]) for i, c in checks if c["outcome"] != "passed"] == [("T009", "tableau")]
    assert report["check_counts"]["unverified"] == 1
    assert (run / "report.html").read_text().count("<svg") >= 1
    assert not (ROOT / "examples" / "customer_ltv" / "findings").exists(), "the example must run on a copy"


@pytest.mark.skipif(shutil.which("uv") is None, reason="the README's commands use uv")
def test_the_test_command_collects_the_suite() -> None:
    _main, tests = readme_commands()
    assert tests == "uv run pytest"
    done = subprocess.run(
        [*shlex.split(tests), "--collect-only", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\d+ tests collected", done.stdout)

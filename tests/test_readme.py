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
from typer.testing import CliRunner

from dacrew.cli import app

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


def _absolute(arg: str) -> str:
    """A project-relative path in an argument (``examples/…``, ``replay:examples/…``) made absolute."""
    for prefix in ("replay:", ""):
        rest = arg.removeprefix(prefix)
        if arg.startswith(prefix) and "/" in rest and not rest.startswith("/") and (ROOT / rest).exists():
            return prefix + str(ROOT / rest)
    return arg


@pytest.mark.slow
def test_the_main_command_runs_the_example_feature_to_the_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    main, _tests = readme_commands()
    argv = uv_argv(main)
    # The README's own output folder belongs to the reader: the test runs into a temporary one.
    position = argv.index("--workdir") + 1
    assert argv[position] == "build/customer_ltv"
    workdir = tmp_path / "build" / "customer_ltv"
    argv[position] = str(workdir)
    # Run from a temporary folder too (a --workdir run records its folder in the current one), with the
    # README's project-relative paths made absolute and uv told where the project is.
    argv = [_absolute(a) for a in argv]
    env = {**os.environ, "UV_PROJECT": str(ROOT)}
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    findings = sorted(p.name for p in (workdir / "findings").iterdir())
    assert findings == [f"T{i:03d}.md" for i in range(1, 19)]
    (run,) = list((workdir / ".dacrew" / "runs").iterdir())
    report = json.loads((run / "report.json").read_text())
    assert report["status"] == "completed"
    checks = [c for t in report["tasks"] for c in t["checks"]]
    assert len(checks) >= 18
    assert all(c["outcome"] == "passed" for c in checks)
    assert (run / "report.html").read_text().count("<svg") >= 1
    assert not (ROOT / "examples" / "customer_ltv" / "findings").exists(), "the example must run on a copy"
    # `dacrew status` right after, from the same folder, finds the run in its work folder.
    monkeypatch.chdir(tmp_path)
    status = CliRunner().invoke(app, ["status", "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout)["run_id"] == run.name


@pytest.mark.skipif(shutil.which("uv") is None, reason="the README's commands use uv")
def test_the_test_command_collects_the_suite() -> None:
    _main, tests = readme_commands()
    assert tests == "uv run pytest"
    done = subprocess.run(
        [*shlex.split(tests), "--collect-only", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\d+ tests collected", done.stdout)

"""Tableau and Orchestra checks against the loopback fakes: passed, failed, and unverified without a server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from dacrew.findings.format import CheckResult, Finding
from dacrew.graph.verify import CheckSpec, run_check
from dacrew.testing import OrchestraFake, TableauFake
from dacrew.tools.base import ToolContext

SECRET = "pat-secret-value-7f3a"
KEY = "orchestra-key-31c9"


def check(project: Path, kind: str, argument: str) -> CheckResult:
    ctx = ToolContext(project_dir=project, agent="parent-checks")
    try:
        return run_check(ctx, Finding(task="T1"), CheckSpec(kind, argument))
    finally:
        ctx.close()


@pytest.fixture
def tableau(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TableauFake]:
    with TableauFake(token_name="ci-token", token_secret=SECRET, site="analytics", job_polls=0) as server:
        monkeypatch.setenv("DACREW_TABLEAU__SERVER_URL", server.url)
        monkeypatch.setenv("DACREW_TABLEAU__SITE", "analytics")
        monkeypatch.setenv("DACREW_TABLEAU__TOKEN_NAME", "ci-token")
        monkeypatch.setenv("DACREW_TABLEAU__TOKEN_SECRET", SECRET)
        yield server


def test_a_published_datasource_passes_and_a_missing_one_fails(tmp_path: Path, tableau: TableauFake) -> None:
    assert check(tmp_path, "tableau", "datasource customer_ltv published").outcome == "failed"
    tableau.add_datasource("customer_ltv")
    result = check(tmp_path, "tableau", "datasource customer_ltv published")
    assert (result.outcome, result.output) == ("passed", "customer_ltv is published on the server")
    assert SECRET not in result.output


def test_a_tableau_job_must_have_succeeded(tmp_path: Path, tableau: TableauFake) -> None:
    ds = tableau.add_datasource("customer_ltv")
    job = tableau.new_job("RefreshExtract", ds, "customer_ltv")
    tableau.finish(job)
    result = check(tmp_path, "tableau", f"job {job.id} finished")
    assert result.outcome == "passed", result.output
    assert check(tmp_path, "tableau", "job no-such-job finished").outcome == "failed"


@pytest.fixture
def orchestra(monkeypatch: pytest.MonkeyPatch) -> Iterator[OrchestraFake]:
    with OrchestraFake(api_key=KEY, running_polls=0) as server:
        monkeypatch.setenv("DACREW_ORCHESTRA__BASE_URL", server.url)
        monkeypatch.setenv("DACREW_ORCHESTRA__API_KEY", KEY)
        monkeypatch.setenv("DACREW_ORCHESTRA__BACKOFF_S", "0.01")
        yield server


def test_an_orchestra_run_is_read_from_orchestra(tmp_path: Path, orchestra: OrchestraFake) -> None:
    good = orchestra.new_run("customer_ltv_daily", {"environment": "dev"})
    bad = orchestra.new_run("customer_ltv_broken", {"environment": "dev"})
    good.polls = bad.polls = 5  # both runs have ended
    ok = check(tmp_path, "orchestra", f"run {good.id} SUCCEEDED")
    assert (ok.outcome, ok.output) == ("passed", f"run {good.id} is SUCCEEDED")
    failed = check(tmp_path, "orchestra", f"run {bad.id} SUCCEEDED")
    assert (failed.outcome, failed.output) == ("failed", f"run {bad.id} is FAILED")
    assert KEY not in failed.output

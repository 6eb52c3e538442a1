"""The Orchestra toolset's httpx client against the loopback OrchestraFake."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dacrew.cli import app
from dacrew.config import load_config
from dacrew.errors import ApprovalRequired, GuardRefused, ToolError
from dacrew.testing import OrchestraFake
from dacrew.tools.base import ToolContext
from dacrew.tools.orchestra.client import (
    RunIdArgs,
    StartArgs,
    orchestra_cancel_run,
    orchestra_run_status,
    orchestra_start_pipeline,
)

KEY = "orch-key-5b9e1d"


@pytest.fixture
def fake() -> Iterator[OrchestraFake]:
    with OrchestraFake(api_key=KEY, running_polls=2) as server:
        yield server


@pytest.fixture
def project(tmp_path: Path, fake: OrchestraFake, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DACREW_ORCHESTRA__BASE_URL", fake.url)
    monkeypatch.setenv("DACREW_ORCHESTRA__API_KEY", KEY)
    monkeypatch.setenv("DACREW_ORCHESTRA__POLL_INTERVAL_S", "0.01")
    monkeypatch.setenv("DACREW_ORCHESTRA__BACKOFF_S", "0.01")
    return tmp_path


def context(project: Path) -> ToolContext:
    ctx = ToolContext(project_dir=project)
    ctx._config = load_config(project)
    return ctx


def test_start_and_wait_until_succeeded(project: Path, fake: OrchestraFake) -> None:
    report = orchestra_start_pipeline(
        context(project),
        StartArgs(pipeline="customer_ltv_daily", environment="dev", branch="feature/ltv", run_inputs={"days": 7}),
    )
    assert report.ok
    assert report.status == "SUCCEEDED"
    assert report.failed_tasks == []
    method, path, _, body = fake.requests[0]
    assert (method, path) == ("POST", "/api/engine/public/pipelines/customer_ltv_daily/start")
    assert body == {"environment": "dev", "branch": "feature/ltv", "runInputs": {"days": 7}}
    polls = [p for m, p, _, _ in fake.requests if p.endswith("/status")]
    assert len(polls) == 4  # CREATED, RUNNING, RUNNING, SUCCEEDED
    assert fake.runs[report.run_id].polls == 4


def test_failed_run_reports_failed_tasks_and_their_logs(project: Path, fake: OrchestraFake) -> None:
    report = orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_broken", environment="dev"))
    assert not report.ok
    assert report.status == "FAILED"
    (task,) = report.failed_tasks  # the skipped downstream task is not a failure
    assert task.task == "dbt_build"
    assert task.integration == "DBT_CORE"
    assert "1 error" in task.message
    (log,) = task.logs
    assert log.filename == "dbt.log"
    assert 'Referenced column "amount_usd" not found' in log.tail
    query = next(q for m, p, q, _ in fake.requests if p.endswith("/task_runs"))
    assert query["status"] == ["FAILED"]
    assert query["pipeline_ids"] == [fake.pipeline_ids["customer_ltv_broken"]]


def test_status_only_reads_and_reports_failed_runs_with_ok(project: Path, fake: OrchestraFake) -> None:
    started = orchestra_start_pipeline(
        context(project), StartArgs(pipeline="customer_ltv_broken", environment="dev", wait=False)
    )
    assert started.status == "CREATED"
    seen = [orchestra_run_status(context(project), RunIdArgs(run_id=started.run_id)).status for _ in range(4)]
    assert seen == ["CREATED", "RUNNING", "RUNNING", "FAILED"]
    final = orchestra_run_status(context(project), RunIdArgs(run_id=started.run_id))
    assert final.ok
    assert final.failed_tasks[0].logs[0].filename == "dbt.log"


def test_429_is_retried_honouring_retry_after(project: Path, fake: OrchestraFake) -> None:
    fake.rate_limit, fake.retry_after = 2, 0.3
    began = time.monotonic()
    report = orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_daily", environment="dev"))
    assert report.ok
    assert fake.rate_limited == 2
    assert time.monotonic() - began >= 0.6  # waited the server's 0.3 s twice, not the 0.01 s backoff
    assert len(fake.runs) == 1  # a rate-limited start did not start twice


def test_retries_run_out_with_a_clear_error(
    project: Path, fake: OrchestraFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DACREW_ORCHESTRA__MAX_RETRIES", "1")
    fake.rate_limit = 5
    with pytest.raises(ToolError, match=r"429.*after 1 retries"):
        orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_daily", environment="dev"))


def test_bad_key_is_401_without_the_key(project: Path, fake: OrchestraFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DACREW_ORCHESTRA__API_KEY", "wrong-key-42")
    with pytest.raises(ToolError, match="401") as err:
        orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_daily", environment="dev"))
    assert "wrong-key-42" not in str(err.value)
    assert fake.runs == {}


def test_timeout_is_retried_then_reported(project: Path, fake: OrchestraFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DACREW_ORCHESTRA__TIMEOUT_S", "0.1")
    monkeypatch.setenv("DACREW_ORCHESTRA__MAX_RETRIES", "1")
    fake.delay_s = 0.4
    with pytest.raises(ToolError, match="did not answer"):
        orchestra_run_status(context(project), RunIdArgs(run_id="2f1c1c9e-7a4b-4e8e-9a57-1f6f0a8f3c11"))
    assert len(fake.requests) <= 2


def test_run_that_outlasts_the_wait_is_not_ok(
    project: Path, fake: OrchestraFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.running_polls = 10_000
    monkeypatch.setenv("DACREW_ORCHESTRA__RUN_TIMEOUT_S", "0.2")
    report = orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_daily", environment="dev"))
    assert not report.ok
    assert report.timed_out
    assert report.status == "RUNNING"
    cancelled = orchestra_cancel_run(context(project), RunIdArgs(run_id=report.run_id))
    assert cancelled.status == "CANCELLED"


def test_production_needs_approval_for_exactly_that_request(project: Path, fake: OrchestraFake) -> None:
    ctx = context(project)
    args = StartArgs(pipeline="customer_ltv_daily", environment="Production")
    with pytest.raises(ApprovalRequired) as asked:
        orchestra_start_pipeline(ctx, args)
    assert fake.requests == []
    ctx.approved.add(asked.value.digest)
    with pytest.raises(ApprovalRequired):  # another pipeline is another request
        orchestra_start_pipeline(ctx, StartArgs(pipeline="customer_ltv_broken", environment="Production"))
    assert orchestra_start_pipeline(ctx, args).ok


def test_bad_run_id_and_unknown_pipeline(project: Path) -> None:
    with pytest.raises(ToolError, match="not a pipeline run id"):
        orchestra_run_status(context(project), RunIdArgs(run_id="../../pipelines"))
    with pytest.raises(ToolError, match="404"):
        orchestra_start_pipeline(context(project), StartArgs(pipeline="nope", environment="dev"))


def test_cli_exit_codes(project: Path, fake: OrchestraFake) -> None:
    runner = CliRunner()

    def call(tool: str, args: dict[str, object]) -> tuple[int, str]:
        argv = ["tools", "call", tool, "--args", json.dumps(args), "--project-dir", str(project)]
        res = runner.invoke(app, [*argv, "--agent", "orchestra-expert"])
        return res.exit_code, res.stdout

    code, out = call("orchestra_start_pipeline", {"pipeline": "customer_ltv_daily", "environment": "dev"})
    assert code == 0, out
    assert json.loads(out)["status"] == "SUCCEEDED"
    code, out = call("orchestra_start_pipeline", {"pipeline": "customer_ltv_broken", "environment": "dev"})
    assert code == 1, out  # the run it waited for failed; the result is still printed
    failed = json.loads(out)
    assert failed["status"] == "FAILED"
    assert "amount_usd" in failed["failed_tasks"][0]["logs"][0]["tail"]
    code, out = call("orchestra_run_status", {"run_id": failed["run_id"]})
    assert code == 0, out  # reading a status is never a failure
    assert json.loads(out)["status"] == "FAILED"
    code, out = call("orchestra_start_pipeline", {"pipeline": "customer_ltv_daily", "environment": "prod"})
    assert code == 3, out
    assert KEY not in out


def test_5xx_is_retried_with_backoff(project: Path, fake: OrchestraFake) -> None:
    fake.server_errors = 2
    report = orchestra_run_status(
        context(project),
        RunIdArgs(
            run_id=orchestra_start_pipeline(
                context(project), StartArgs(pipeline="customer_ltv_daily", environment="dev", wait=False)
            ).run_id
        ),
    )
    assert report.status == "CREATED"
    starts = [p for m, p, _, _ in fake.requests if p.endswith("/start")]
    assert len(starts) == 3  # two 503s, then the start that counted
    assert len(fake.runs) == 1


def test_failed_tasks_are_found_across_pages(project: Path, fake: OrchestraFake) -> None:
    fake.page_size = 1
    args = StartArgs(pipeline="customer_ltv_broken", environment="dev")
    reports = [orchestra_start_pipeline(context(project), args) for _ in range(3)]
    last = reports[-1]
    (task,) = last.failed_tasks  # the third run's failed task is on the third page
    assert task.task_run_id == fake.runs[last.run_id].task_runs[0].id
    pages = [q.get("page") for m, p, q, _ in fake.requests if p.endswith("/task_runs")]
    assert ["3"] in pages


@pytest.mark.parametrize(
    "environment", ["Production ", " prod", "prod\t", "production\u200b", "pro\u00addd", "prod\n", ""]
)
def test_environment_names_that_hide_what_they_are_are_refused(
    project: Path, fake: OrchestraFake, environment: str
) -> None:
    with pytest.raises(GuardRefused) as refused:
        orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_daily", environment=environment))
    assert refused.value.rule == "environment_name"
    assert fake.requests == []


@pytest.mark.parametrize("environment", ["PROD", "Production", "\uff30\uff32\uff2f\uff24", "\u1d3e\u1d3f\u1d3c\u1d30"])
def test_production_is_recognised_whatever_its_case_or_width(
    project: Path, fake: OrchestraFake, environment: str
) -> None:
    with pytest.raises(ApprovalRequired):
        orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_daily", environment=environment))
    assert fake.requests == []


def test_configured_production_names_are_normalised_too(
    project: Path, fake: OrchestraFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DACREW_ORCHESTRA__PRODUCTION_ENVIRONMENTS", '[" Live ", "\uff30\uff32\uff24"]')
    for environment in ("live", "PRD"):
        with pytest.raises(ApprovalRequired):
            orchestra_start_pipeline(
                context(project), StartArgs(pipeline="customer_ltv_daily", environment=environment)
            )
    assert fake.requests == []
    assert orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_daily", environment="prod")).ok


@pytest.mark.parametrize(
    "pipeline", ["customer_ltv_daily/start?x=#", "../pipeline_runs", "a b", "%2e%2e", "x#", ".hidden", "a\u200bb"]
)
def test_pipeline_ids_cannot_reach_another_endpoint(project: Path, fake: OrchestraFake, pipeline: str) -> None:
    with pytest.raises(ToolError, match="not a pipeline id or alias"):
        orchestra_start_pipeline(context(project), StartArgs(pipeline=pipeline, environment="dev"))
    assert fake.requests == []


def test_path_segments_are_escaped() -> None:
    from dacrew.tools.orchestra.client import _segment

    assert _segment("a/b?c#d%e f") == "a%2Fb%3Fc%23d%25e%20f"


def test_the_api_key_is_in_no_result_or_error(
    project: Path, fake: OrchestraFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    outputs: list[str] = []
    ok = orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_daily", environment="dev"))
    failed = orchestra_start_pipeline(context(project), StartArgs(pipeline="customer_ltv_broken", environment="dev"))
    outputs += [ok.model_dump_json(), failed.model_dump_json()]
    outputs.append(orchestra_run_status(context(project), RunIdArgs(run_id=failed.run_id)).model_dump_json())
    outputs.append(orchestra_cancel_run(context(project), RunIdArgs(run_id=ok.run_id)).model_dump_json())
    for args in (
        StartArgs(pipeline="customer_ltv_daily", environment="production"),  # needs approval
        StartArgs(pipeline=KEY, environment="dev"),  # Orchestra's 404 repeats the name it was given
    ):
        with pytest.raises((ToolError, ApprovalRequired)) as err:
            orchestra_start_pipeline(context(project), args)
        outputs.append(f"{err.value} {getattr(err.value, 'detail', '')}")
    assert "***" in outputs[-1]
    fake.rate_limit = 100
    monkeypatch.setenv("DACREW_ORCHESTRA__MAX_RETRIES", "1")
    with pytest.raises(ToolError, match="429") as err:
        orchestra_run_status(context(project), RunIdArgs(run_id=ok.run_id))
    outputs.append(str(err.value))
    assert KEY not in "\n".join(outputs)

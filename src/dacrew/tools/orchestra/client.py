"""Orchestra toolset: start a pipeline and wait for its run, read a run's status, cancel it — through
Orchestra's public API with httpx — plus pipelines as code in :mod:`dacrew.tools.orchestra.pipeline`.

Requests carry ``Authorization: Bearer <DACREW_ORCHESTRA__API_KEY>``; the key never appears in a result
or an error. 429 and 5xx answers are retried with exponential backoff, honouring ``Retry-After``.
Starting a pipeline in a production environment needs a person's approval.
"""

from __future__ import annotations

import contextlib
import re
import time
import unicodedata
from typing import Any, Literal, cast
from urllib.parse import quote

from pydantic import BaseModel, Field

from dacrew.errors import GuardRefused, ToolError, UserError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool

RunStatus = Literal["CREATED", "RUNNING", "SUCCEEDED", "WARNING", "FAILED", "CANCELLING", "CANCELLED"]
DONE = {"SUCCEEDED", "WARNING", "FAILED", "CANCELLED"}
GOOD = {"SUCCEEDED", "WARNING"}
LOG_TAIL_CHARS = 4000
MAX_PAGES = 20
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z")
# A pipeline id (a UUID) or alias: one URL path segment, never a slash, '?', '#', '%' or a dot segment.
_PIPELINE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}\Z")


class OrchestraClient:
    """A small client for Orchestra's public API: retries, backoff and clear errors."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float, max_retries: int, backoff_s: float) -> None:
        import httpx

        self._api_key = api_key
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=timeout_s,
        )
        self.base_url = base_url
        self.max_retries = max_retries
        self.backoff_s = backoff_s

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, **kw: Any) -> Any:
        """The response of ``method path``, after retries; raises ToolError on a final failure (the API
        key masked should the answer ever repeat it)."""
        try:
            return self._request(method, path, **kw)
        except ToolError as exc:
            if self._api_key and self._api_key in str(exc):
                raise ToolError(str(exc).replace(self._api_key, "***")) from None
            raise

    def _request(self, method: str, path: str, **kw: Any) -> Any:
        import httpx

        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kw)
            except httpx.TimeoutException:
                if attempt >= self.max_retries:
                    raise ToolError(
                        f"Orchestra did not answer {method} {path} within {self._http.timeout.read}s "
                        f"({attempt + 1} attempts); try again later"
                    ) from None
                self._sleep(attempt, None)
                attempt += 1
                continue
            except httpx.HTTPError as exc:
                raise ToolError(f"cannot reach Orchestra at {self.base_url}: {type(exc).__name__}") from None
            retryable = response.status_code == 429 or response.status_code >= 500
            if retryable and attempt < self.max_retries:
                self._sleep(attempt, response.headers.get("Retry-After"))
                attempt += 1
                continue
            return self._check(method, path, response, attempt)

    def _sleep(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff_s * (2**attempt)
        if retry_after is not None:
            # An HTTP-date is not a number: then keep our own backoff.
            with contextlib.suppress(ValueError):
                delay = max(float(retry_after), 0.0)
        time.sleep(delay)

    def _check(self, method: str, path: str, response: Any, attempt: int) -> Any:
        status = int(response.status_code)
        if status < 400:
            return response
        detail = _error_detail(response)
        if status == 401:
            raise ToolError(
                "Orchestra refused the API key (401): it is wrong, expired or lacks access; a person must fix "
                "DACREW_ORCHESTRA__API_KEY"
            )
        if status == 404:
            raise ToolError(f"Orchestra has no such resource: {method} {path} (404){detail}")
        retries = f" after {attempt} retries" if attempt else ""
        raise ToolError(f"Orchestra answered {status} to {method} {path}{retries}{detail}")


def _error_detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        text = str(response.text or "").strip()
        return f": {text[:300]}" if text else ""
    if isinstance(body, dict):
        data = cast(dict[str, Any], body)
        for key in ("detail", "message", "error"):
            if key in data:
                return f": {data[key]}"
    return ""


def client(ctx: ToolContext) -> OrchestraClient:
    """The context's Orchestra client, made on first use."""
    cfg = ctx.config.orchestra

    def make() -> OrchestraClient:
        if cfg.api_key is None:
            raise UserError("Orchestra is not configured: set DACREW_ORCHESTRA__API_KEY in the environment")
        return OrchestraClient(
            cfg.base_url,
            cfg.api_key.get_secret_value(),
            timeout_s=cfg.timeout_s,
            max_retries=cfg.max_retries,
            backoff_s=cfg.backoff_s,
        )

    return ctx.connection("orchestra", make)


def _run_id(value: str) -> str:
    if not _UUID_RE.match(value):
        raise ToolError(f"{value!r} is not a pipeline run id (a UUID, as orchestra_start_pipeline returns)")
    return value


def _segment(value: str) -> str:
    """``value`` as one URL path segment: nothing in it can reach another endpoint."""
    return quote(value, safe="")


def _pipeline(value: str) -> str:
    if not _PIPELINE_RE.match(value):
        raise ToolError(
            f"{value!r} is not a pipeline id or alias (letters, digits, '_', '-' and '.', as Orchestra shows it)"
        )
    return value


_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp"}


def environment_key(value: str) -> str:
    """An environment name as compared with ``orchestra.production_environments``: NFKC, stripped,
    case-folded (fullwidth ``PROD`` and ``Production`` are production)."""
    return unicodedata.normalize("NFKC", value).strip().casefold()


def _check_environment(value: str) -> None:
    """Refuse an environment name that could hide what it is: empty, or with whitespace, control or
    invisible (format) characters, which a production check could not see through."""
    for text in (value, unicodedata.normalize("NFKC", value)):
        bad = next((ch for ch in text if ch.isspace() or unicodedata.category(ch) in _HIDDEN_CATEGORIES), None)
        if bad is not None:
            raise GuardRefused(
                f"orchestra_start_pipeline: the environment {value!r} contains the character U+{ord(bad):04X}; "
                "give the environment's name exactly, without spaces or invisible characters",
                rule="environment_name",
            )
    if not environment_key(value):
        raise GuardRefused("orchestra_start_pipeline: name the environment to run in", rule="environment_name")


# -- results ---------------------------------------------------------------------------------------
class TaskRunLog(BaseModel):
    filename: str
    tail: str = Field(description="The end of the log file (the whole file when short).")


class FailedTask(BaseModel):
    task_run_id: str
    task: str
    integration: str | None = None
    status: str
    message: str = ""
    platform_link: str | None = None
    logs: list[TaskRunLog] = Field(default_factory=list[TaskRunLog])


class RunReport(ToolResult):
    run_id: str
    pipeline: str | None = None
    status: RunStatus
    message: str = ""
    environment: str | None = None
    timed_out: bool = False
    failed_tasks: list[FailedTask] = Field(default_factory=list[FailedTask])


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _failed_tasks(api: OrchestraClient, run_id: str, pipeline_id: str | None) -> list[FailedTask]:
    """The failed task runs of this pipeline run, each with the tail of its logs."""
    params = {"status": "FAILED"}
    if pipeline_id:
        params["pipeline_ids"] = pipeline_id
    items: list[Any] = []
    for page in range(1, MAX_PAGES + 1):
        body: Any = api.request("GET", "/task_runs", params={**params, "page": page}).json()
        if not isinstance(body, dict):
            items += cast(list[Any], body)
            break
        data = cast(dict[str, Any], body)
        results = cast(list[Any], data.get("results") or [])
        items += results
        if not results or len(items) >= int(data.get("total") or 0):
            break
    failed: list[FailedTask] = []
    for raw in items:
        item = cast(dict[str, Any], raw)
        if item.get("pipelineRunId") not in (None, run_id):
            continue
        task_run_id = _text(item.get("id"))
        failed.append(
            FailedTask(
                task_run_id=task_run_id,
                task=_text(item.get("taskName") or item.get("taskId")),
                integration=item.get("integration"),
                status=_text(item.get("status") or item.get("taskRunStatus") or "FAILED"),
                message=_text(item.get("message") or item.get("platformMessage")),
                platform_link=item.get("platformLink"),
                logs=_logs(api, run_id, task_run_id),
            )
        )
    return failed


def _logs(api: OrchestraClient, run_id: str, task_run_id: str) -> list[TaskRunLog]:
    base = f"/pipeline_runs/{_segment(run_id)}/task_runs/{_segment(task_run_id)}/logs"
    listing = api.request("GET", base).json()
    names: list[str] = []
    entries: list[Any] = []
    if isinstance(listing, dict):
        data = cast(dict[str, Any], listing)
        entries = cast(list[Any], data.get("filenames") or data.get("logs") or data.get("results") or [])
    elif isinstance(listing, list):
        entries = cast(list[Any], listing)
    for entry in entries:
        if isinstance(entry, dict):
            names.append(_text(cast(dict[str, Any], entry).get("filename") or cast(dict[str, Any], entry).get("name")))
        else:
            names.append(_text(entry))
    logs: list[TaskRunLog] = []
    for name in [n for n in names if n][:5]:
        text = api.request("GET", f"{base}/download", params={"filename": name}).text
        logs.append(TaskRunLog(filename=name, tail=text[-LOG_TAIL_CHARS:]))
    return logs


def _report(api: OrchestraClient, run_id: str, *, timed_out: bool = False) -> RunReport:
    body = cast(dict[str, Any], api.request("GET", f"/pipeline_runs/{_segment(run_id)}/status").json())
    status = _text(body.get("runStatus")).upper()
    if status not in {"CREATED", "RUNNING", "SUCCEEDED", "WARNING", "FAILED", "CANCELLING", "CANCELLED"}:
        raise ToolError(f"Orchestra reported an unknown run status {status!r} for run {run_id}")
    failed = _failed_tasks(api, run_id, body.get("pipelineId")) if status == "FAILED" else []
    return RunReport(
        run_id=run_id,
        pipeline=body.get("pipelineName") or body.get("pipelineId"),
        status=cast(RunStatus, status),
        message=_text(body.get("message")),
        environment=body.get("envName"),
        timed_out=timed_out,
        failed_tasks=failed,
    )


# -- tools -----------------------------------------------------------------------------------------
class StartArgs(ToolArgs):
    pipeline: str = Field(description="The pipeline's id or alias in Orchestra.")
    environment: str = Field(description="Orchestra environment to run in, e.g. dev, staging, production.")
    branch: str | None = Field(default=None, description="Git branch of the pipeline definition and code.")
    commit: str | None = Field(default=None, description="Git commit to run.")
    run_inputs: dict[str, Any] | None = Field(default=None, description="Values for the pipeline's declared inputs.")
    wait: bool = Field(default=True, description="Wait for the run to finish (SUCCEEDED, WARNING, FAILED, CANCELLED).")


@tool("orchestra", read_only=False)
def orchestra_start_pipeline(ctx: ToolContext, args: StartArgs) -> RunReport:
    """Start an Orchestra pipeline run and (by default) wait until it finishes.

    Runs in a production environment need a person's approval. ok is false when the run ended FAILED or
    CANCELLED, or did not finish in time; the failed task runs and the end of their logs are in
    failed_tasks. With wait=false it returns at once with the run id; follow it with orchestra_run_status.
    """
    cfg = ctx.config.orchestra
    pipeline = _pipeline(args.pipeline)
    _check_environment(args.environment)
    if environment_key(args.environment) in {environment_key(e) for e in cfg.production_environments}:
        ctx.require_approval(
            "orchestra_production_run",
            f"Start Orchestra pipeline {args.pipeline!r} in the production environment {args.environment!r}",
            {"base_url": cfg.base_url, **args.model_dump()},
        )
    api = client(ctx)
    payload = {
        "environment": args.environment,
        "branch": args.branch,
        "commit": args.commit,
        "runInputs": args.run_inputs,
    }
    body = api.request(
        "POST", f"/pipelines/{_segment(pipeline)}/start", json={k: v for k, v in payload.items() if v is not None}
    ).json()
    run_id = _text(cast(dict[str, Any], body).get("pipelineRunId"))
    if not _UUID_RE.match(run_id):
        raise ToolError(f"Orchestra accepted the start of {pipeline!r} but returned no pipelineRunId (a UUID)")
    if not args.wait:
        return RunReport(run_id=run_id, pipeline=args.pipeline, status="CREATED", environment=args.environment)
    deadline = time.monotonic() + cfg.run_timeout_s
    while True:
        report = _report(api, run_id)
        if report.status in DONE:
            report.ok = report.status in GOOD
            return report
        if time.monotonic() >= deadline:
            report.timed_out = True
            report.ok = False
            report.message = f"still {report.status} after {cfg.run_timeout_s:g}s; follow it with orchestra_run_status"
            return report
        time.sleep(cfg.poll_interval_s)


class RunIdArgs(ToolArgs):
    run_id: str = Field(description="The pipeline run id (a UUID).")


@tool("orchestra")
def orchestra_run_status(ctx: ToolContext, args: RunIdArgs) -> RunReport:
    """Read a pipeline run's status without waiting, with failed tasks and their logs if it failed.

    Statuses: CREATED, RUNNING, SUCCEEDED, WARNING, FAILED, CANCELLING, CANCELLED. For a FAILED run the
    result lists its failed task runs and the end of their logs. This only reads: ok is true whatever
    the run's status.
    """
    return _report(client(ctx), _run_id(args.run_id))


@tool("orchestra", read_only=False)
def orchestra_cancel_run(ctx: ToolContext, args: RunIdArgs) -> RunReport:
    """Ask Orchestra to cancel a pipeline run, and report its status after the request.

    The status is usually CANCELLING, then CANCELLED.
    """
    api = client(ctx)
    run_id = _run_id(args.run_id)
    api.request("POST", f"/pipeline_runs/{_segment(run_id)}/cancel")
    return _report(api, run_id)

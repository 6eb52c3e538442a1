"""A loopback Orchestra public API for tests: pipeline start, run status moving CREATED → RUNNING →
SUCCEEDED or FAILED (per pipeline), task runs, task-run logs and their download, cancel, 401 on a bad
key and 429 with ``Retry-After`` a chosen number of times.

    with OrchestraFake(api_key="k", pipelines={"daily": "SUCCEEDED", "broken": "FAILED"}) as orch:
        ...  # point orchestra.base_url at orch.url
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from dacrew.testing.loopback import LoopbackServer

FAILED_LOG = (
    "12:00:01  Running with dbt=1.11.0\n"
    "12:00:04  1 of 3 START sql table model analytics.customer_ltv ......... [RUN]\n"
    "12:00:05  1 of 3 ERROR creating sql table model analytics.customer_ltv  [ERROR in 0.41s]\n"
    "12:00:05  Database Error in model customer_ltv (models/marts/customer_ltv.sql)\n"
    '12:00:05    Binder Error: Referenced column "amount_usd" not found in FROM clause!\n'
    "12:00:05  Done. PASS=0 WARN=0 ERROR=1 SKIP=2 TOTAL=3\n"
)


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class FakeTaskRun:
    id: str
    task: str
    integration: str
    status: str
    message: str
    logs: dict[str, str] = field(default_factory=dict[str, str])


@dataclass
class FakeRun:
    id: str
    pipeline_id: str
    pipeline: str
    environment: str
    branch: str | None
    commit: str | None
    run_inputs: dict[str, Any] | None
    final: str
    polls: int = 0
    cancelled: bool = False
    created_at: str = field(default_factory=_now)
    task_runs: list[FakeTaskRun] = field(default_factory=list[FakeTaskRun])


class OrchestraFake(LoopbackServer):
    """Orchestra's public API on 127.0.0.1: ``with OrchestraFake() as o: o.url``.

    ``pipelines`` maps an alias to its final status (SUCCEEDED, WARNING or FAILED). A run answers
    CREATED on its first status poll, RUNNING for ``running_polls`` polls, then its final status.
    ``rate_limit`` makes the next N requests answer 429 with ``Retry-After: retry_after``, and
    ``server_errors`` the next N answer 503 (no Retry-After);
    ``delay_s`` makes every answer that slow (to test client timeouts). ``requests`` records
    ``(method, path, query, json body)``; ``runs`` holds the runs by id.
    """

    name = "OrchestraFake"

    def __init__(
        self,
        *,
        api_key: str = "fake-orchestra-key",
        pipelines: dict[str, str] | None = None,
        running_polls: int = 1,
        rate_limit: int = 0,
        retry_after: float = 0,
        server_errors: int = 0,
        delay_s: float = 0.0,
    ) -> None:
        self.api_key = api_key
        self.pipelines = dict(pipelines or {"customer_ltv_daily": "SUCCEEDED", "customer_ltv_broken": "FAILED"})
        self.pipeline_ids = {alias: str(uuid.uuid4()) for alias in self.pipelines}
        self.running_polls = running_polls
        self.rate_limit = rate_limit
        self.retry_after = retry_after
        self.server_errors = server_errors
        self.page_size = 50
        self.delay_s = delay_s
        self.runs: dict[str, FakeRun] = {}
        self.requests: list[tuple[str, str, dict[str, list[str]], Any]] = []
        self.rate_limited = 0
        self._lock = threading.Lock()

    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Handler):
            owner = fake

        return Handler

    @property
    def url(self) -> str:
        """The base URL, like ``https://app.getorchestra.io/api/engine/public``."""
        return f"{self.origin}/api/engine/public"

    def status_of(self, run: FakeRun) -> str:
        if run.cancelled:
            return "CANCELLED"
        if run.polls <= 1:
            return "CREATED"
        if run.polls <= 1 + self.running_polls:
            return "RUNNING"
        return run.final

    def new_run(self, alias: str, body: dict[str, Any]) -> FakeRun:
        final = self.pipelines[alias]
        run = FakeRun(
            id=str(uuid.uuid4()),
            pipeline_id=self.pipeline_ids[alias],
            pipeline=alias,
            environment=str(body.get("environment", "")),
            branch=body.get("branch"),
            commit=body.get("commit"),
            run_inputs=body.get("runInputs"),
            final=final,
        )
        build_failed = final == "FAILED"
        run.task_runs = [
            FakeTaskRun(
                str(uuid.uuid4()),
                "dbt_build",
                "DBT_CORE",
                "FAILED" if build_failed else "SUCCEEDED",
                "dbt build failed: 1 error, 2 skipped" if build_failed else "dbt build succeeded",
                {"dbt.log": FAILED_LOG if build_failed else "Done. PASS=3 WARN=0 ERROR=0 SKIP=0 TOTAL=3\n"},
            ),
            FakeTaskRun(
                str(uuid.uuid4()),
                "refresh_extract",
                "TABLEAU_CLOUD",
                "SKIPPED" if build_failed else "SUCCEEDED",
                "Upstream task failed" if build_failed else "Extract refreshed",
            ),
        ]
        self.runs[run.id] = run
        return run


class _Handler(BaseHTTPRequestHandler):
    owner: OrchestraFake
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read fake.requests
        return

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self._raw(status, data, "application/json", headers)

    def _raw(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        fake = self.owner
        parsed = urlparse(self.path)
        query = parse_qs(parsed.query)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body: Any = json.loads(raw) if raw else None
        if fake.delay_s:
            time.sleep(fake.delay_s)
        with fake._lock:
            fake.requests.append((method, parsed.path, query, body))
            if self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                self._json(401, {"detail": "Invalid API key"})
                return
            if fake.server_errors > 0:
                fake.server_errors -= 1
                self._json(503, {"detail": "Service temporarily unavailable"})
                return
            if fake.rate_limit > 0:
                fake.rate_limit -= 1
                fake.rate_limited += 1
                self._json(429, {"detail": "Too many requests"}, {"Retry-After": f"{fake.retry_after:g}"})
                return
            path = parsed.path.removeprefix("/api/engine/public")
            self._route(method, path, query, body if isinstance(body, dict) else {})

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: dict[str, Any]) -> None:
        fake = self.owner
        if method == "POST" and (m := re.fullmatch(r"/pipelines/([^/]+)/start", path)):
            if m[1] not in fake.pipelines:
                self._json(404, {"detail": f"Pipeline {m[1]} not found"})
                return
            if not body.get("environment"):
                self._json(422, {"detail": "environment is required"})
                return
            run = fake.new_run(m[1], body)
            self._json(201, {"pipelineRunId": run.id})
            return
        run_match = re.fullmatch(r"/pipeline_runs/([^/]+)(/.*)", path)
        run = fake.runs.get(run_match[1]) if run_match else None
        if run_match and run is None:
            self._json(404, {"detail": "Pipeline run not found"})
            return
        if method == "GET" and run is not None and run_match and run_match[2] == "/status":
            run.polls += 1
            status = fake.status_of(run)
            done = status in {"SUCCEEDED", "WARNING", "FAILED", "CANCELLED"}
            message = {
                "SUCCEEDED": "All tasks have succeeded.",
                "FAILED": "Pipeline failed - a task is in failed state",
            }
            self._json(
                200,
                {
                    "id": run.id,
                    "pipelineId": run.pipeline_id,
                    "pipelineName": run.pipeline,
                    "envName": run.environment,
                    "runStatus": status,
                    "message": message.get(status, ""),
                    "createdAt": run.created_at,
                    "completedAt": _now() if done else None,
                    "branch": run.branch,
                    "commit": run.commit,
                },
            )
            return
        if method == "POST" and run is not None and run_match and run_match[2] == "/cancel":
            run.cancelled = True
            self._json(200, {"pipelineRunId": run.id, "runStatus": "CANCELLING"})
            return
        if method == "GET" and run is not None and run_match:
            logs = re.fullmatch(r"/task_runs/([^/]+)/logs(/download)?", run_match[2])
            task_run = next((t for t in run.task_runs if logs and t.id == logs[1]), None)
            if logs is None or task_run is None:
                self._json(404, {"detail": "Task run not found"})
                return
            if logs[2] is None:
                self._json(200, {"filenames": sorted(task_run.logs)})
                return
            name = (query.get("filename") or [""])[0]
            if name not in task_run.logs:
                self._json(404, {"detail": f"Log file {name} not found"})
                return
            self._raw(200, task_run.logs[name].encode(), "text/plain; charset=utf-8")
            return
        if method == "GET" and path == "/task_runs":
            self._json(200, self._task_runs(query))
            return
        self._json(404, {"detail": f"No route {method} {path}"})

    def _task_runs(self, query: dict[str, list[str]]) -> dict[str, Any]:
        fake = self.owner
        statuses = set((query.get("status") or [""])[0].split(",")) - {""}
        pipeline_ids = set((query.get("pipeline_ids") or [""])[0].split(",")) - {""}
        results: list[dict[str, Any]] = []
        for run in fake.runs.values():
            if fake.status_of(run) not in {"SUCCEEDED", "WARNING", "FAILED", "CANCELLED"}:
                continue
            if pipeline_ids and run.pipeline_id not in pipeline_ids:
                continue
            for t in run.task_runs:
                if statuses and t.status not in statuses:
                    continue
                results.append(
                    {
                        "id": t.id,
                        "pipelineRunId": run.id,
                        "pipelineId": run.pipeline_id,
                        "taskName": t.task,
                        "integration": t.integration,
                        "status": t.status,
                        "message": t.message,
                        "platformLink": None,
                        "createdAt": run.created_at,
                    }
                )
        page = int((query.get("page") or ["1"])[0])
        size = fake.page_size
        return {
            "page": page,
            "pageSize": size,
            "total": len(results),
            "results": results[(page - 1) * size : page * size],
        }

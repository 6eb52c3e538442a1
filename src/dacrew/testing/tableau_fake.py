"""A loopback Tableau Server that speaks the REST API's XML wire format to the real tableauserverclient.

It covers what dacrew's Tableau toolset does: server info (version negotiation), personal-access-token
sign-in and sign-out, projects, data sources (list, get, publish in one request or through chunked
``fileUploads``, synchronously or ``asJob=true``), jobs that stay in progress for a few polls and then
complete or fail, and extract refreshes. A bad token gets 401, as from Tableau.

    with TableauFake(token_name="ci", token_secret="s3cret") as tableau:
        ...  # point tableau.server_url at tableau.url
"""

from __future__ import annotations

import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from typing import Any

from dacrew.testing.loopback import LoopbackServer
from dacrew.testing.tableau_handler import TableauHandler
from dacrew.testing.tableau_items import HEAD, TAIL, FakeDatasource, FakeJob, attrs, now


class TableauFake(LoopbackServer):
    """A Tableau Server on 127.0.0.1 for tests: ``with TableauFake() as t: t.url``.

    ``projects`` names the site's projects; ``"Sales/Finance"`` is a project Finance inside Sales (names
    may repeat under different parents). ``fail_jobs`` makes every job finish with finishCode 1, and
    ``success_code`` is the finishCode of a job that succeeds (0 Success, or 3 Completed as some servers
    answer); ``job_polls`` is how many status polls a job
    answers "in progress" before it completes; ``delay_s`` slows every answer (client timeouts). ``requests`` records ``(method, path, query)`` of every
    call; ``datasources`` and ``jobs`` hold the server's state.
    """

    name = "TableauFake"

    def __init__(
        self,
        *,
        token_name: str = "dacrew-ci",
        token_secret: str = "fake-secret",
        site: str = "",
        rest_version: str = "3.24",
        projects: tuple[str, ...] = ("default", "Analytics"),
        fail_jobs: bool = False,
        success_code: int = 0,
        job_polls: int = 1,
        delay_s: float = 0.0,
    ) -> None:
        self.token_name = token_name
        self.token_secret = token_secret
        self.site = site
        self.site_id = str(uuid.uuid4())
        self.user_id = str(uuid.uuid4())
        self.rest_version = rest_version
        self.projects: dict[str, str] = {}
        self.parents: dict[str, str] = {}
        """Project id → its parent project's id (top-level projects have none)."""
        for path in projects:
            self._add_project_path(path)
        self.fail_jobs = fail_jobs
        self.success_code = success_code
        self.job_polls = job_polls
        self.delay_s = delay_s
        self.datasources: dict[str, FakeDatasource] = {}
        self.jobs: dict[str, FakeJob] = {}
        self.uploads: dict[str, bytearray] = {}
        self.tokens: set[str] = set()
        self.signed_out = 0
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------
    def handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(TableauHandler):
            owner = fake

        return Handler

    @property
    def url(self) -> str:
        return self.origin

    # -- helpers for tests -----------------------------------------------------------------------
    def _add_project_path(self, path: str) -> str:
        parent: str | None = None
        for name in path.split("/"):
            found = next((p for p, n in self.projects.items() if n == name and self.parents.get(p) == parent), None)
            if found is None:
                found = str(uuid.uuid4())
                self.projects[found] = name
                if parent is not None:
                    self.parents[found] = parent
            parent = found
        assert parent is not None
        return parent

    def project_id(self, name: str) -> str:
        """The id of the project at ``name``: a top-level name, or a path such as ``Sales/Finance``."""
        parent: str | None = None
        for part in name.split("/"):
            parent = next(p for p, n in self.projects.items() if n == part and self.parents.get(p) == parent)
        assert parent is not None
        return parent

    def add_datasource(self, name: str, project: str = "default", content: bytes = b"<datasource/>") -> str:
        pid = self.project_id(project)
        ds = FakeDatasource(str(uuid.uuid4()), name, pid, project, f"{name}.tds", content)
        self.datasources[ds.id] = ds
        return ds.id

    def paths(self, method: str | None = None) -> list[str]:
        return [p for m, p, _ in self.requests if method is None or m == method]

    # -- bodies ----------------------------------------------------------------------------------
    def wrap(self, inner: str) -> bytes:
        return (HEAD.replace("{version}", self.rest_version) + inner + TAIL).encode()

    def error(self, code: str, summary: str, detail: str) -> bytes:
        return self.wrap(f'<error code="{code}"><summary>{summary}</summary><detail>{detail}</detail></error>')

    def datasource_xml(self, ds: FakeDatasource) -> str:
        return (
            f"<datasource{attrs(id=ds.id, name=ds.name, contentUrl=re.sub(r'[^A-Za-z0-9]', '', ds.name))}"
            f"{attrs(type='hyper', createdAt=ds.created_at, updatedAt=ds.updated_at)}"
            f' encryptExtracts="false" hasExtracts="true" useRemoteQueryAgent="false">'
            f"<project{attrs(id=ds.project_id, name=ds.project_name)} />"
            f"<owner{attrs(id=self.user_id)} /><tags /></datasource>"
        )

    def job_xml(self, job: FakeJob) -> str:
        done = job.completed_at is not None
        progress = 100 if done else 50
        code = job.finish_code if job.finish_code is not None else 1
        ds = f"<datasource{attrs(id=job.datasource_id, name=job.datasource_name)} />"
        kind = "extractRefreshJob" if job.type == "RefreshExtract" else "publishDatasourceJob"
        notes = f"<notes>{job.notes}</notes>" if job.notes else ""
        return (
            f"<job{attrs(id=job.id, mode='Asynchronous', type=job.type, progress=progress)}"
            f"{attrs(createdAt=job.created_at, startedAt=job.created_at, completedAt=job.completed_at)}"
            f"{attrs(finishCode=code)}><{kind}>{ds}{notes}</{kind}></job>"
        )

    def new_job(self, type_: str, ds_id: str | None, ds_name: str, on_success: Any = None) -> FakeJob:
        job = FakeJob(str(uuid.uuid4()), type_, ds_id, ds_name, self.fail_jobs, self.job_polls, on_success)
        self.jobs[job.id] = job
        if job.polls_left <= 0:
            self.finish(job)
        return job

    def finish(self, job: FakeJob) -> None:
        job.completed_at = now()
        if job.fails:
            job.finish_code = 1
            job.notes = f"Job {job.type} failed: the extract could not be written (simulated failure)"
            return
        job.finish_code = self.success_code
        if job.on_success is not None:
            job.on_success()

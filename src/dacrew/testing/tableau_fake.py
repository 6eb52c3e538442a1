"""A loopback Tableau Server that speaks the REST API's XML wire format to the real tableauserverclient.

It covers what dacrew's Tableau toolset does: server info (version negotiation), personal-access-token
sign-in and sign-out, projects, data sources (list, get, publish in one request or through chunked
``fileUploads``, synchronously or ``asJob=true``), jobs that stay in progress for a few polls and then
complete or fail, and extract refreshes. A bad token gets 401, as from Tableau.

    with TableauFake(token_name="ci", token_secret="s3cret") as tableau:
        ...  # point tableau.server_url at tableau.url
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse
from xml.sax.saxutils import quoteattr

from dacrew.testing.loopback import LoopbackServer

NS = "http://tableau.com/api"
_HEAD = (
    "<?xml version='1.0' encoding='UTF-8'?>"
    f'<tsResponse xmlns="{NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://tableau.com/api http://tableau.com/api/ts-api-{version}.xsd">'
)
_TAIL = "</tsResponse>"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _attrs(**values: Any) -> str:
    return "".join(f" {k}={quoteattr(str(v))}" for k, v in values.items() if v is not None)


@dataclass
class FakeDatasource:
    id: str
    name: str
    project_id: str
    project_name: str
    file_name: str
    content: bytes
    created_at: str = field(default_factory=_now)
    updated_at: str = field(default_factory=_now)
    refreshes: int = 0


@dataclass
class FakeJob:
    id: str
    type: str
    datasource_id: str | None
    datasource_name: str
    fails: bool
    polls_left: int
    on_success: Any = None
    created_at: str = field(default_factory=_now)
    completed_at: str | None = None
    finish_code: int | None = None
    notes: str = ""


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

        class Handler(_Handler):
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
        return (_HEAD.replace("{version}", self.rest_version) + inner + _TAIL).encode()

    def error(self, code: str, summary: str, detail: str) -> bytes:
        return self.wrap(f'<error code="{code}"><summary>{summary}</summary><detail>{detail}</detail></error>')

    def datasource_xml(self, ds: FakeDatasource) -> str:
        return (
            f"<datasource{_attrs(id=ds.id, name=ds.name, contentUrl=re.sub(r'[^A-Za-z0-9]', '', ds.name))}"
            f"{_attrs(type='hyper', createdAt=ds.created_at, updatedAt=ds.updated_at)}"
            f' encryptExtracts="false" hasExtracts="true" useRemoteQueryAgent="false">'
            f"<project{_attrs(id=ds.project_id, name=ds.project_name)} />"
            f"<owner{_attrs(id=self.user_id)} /><tags /></datasource>"
        )

    def job_xml(self, job: FakeJob) -> str:
        done = job.completed_at is not None
        progress = 100 if done else 50
        code = job.finish_code if job.finish_code is not None else 1
        ds = f"<datasource{_attrs(id=job.datasource_id, name=job.datasource_name)} />"
        kind = "extractRefreshJob" if job.type == "RefreshExtract" else "publishDatasourceJob"
        notes = f"<notes>{job.notes}</notes>" if job.notes else ""
        return (
            f"<job{_attrs(id=job.id, mode='Asynchronous', type=job.type, progress=progress)}"
            f"{_attrs(createdAt=job.created_at, startedAt=job.created_at, completedAt=job.completed_at)}"
            f"{_attrs(finishCode=code)}><{kind}>{ds}{notes}</{kind}></job>"
        )

    def new_job(self, type_: str, ds_id: str | None, ds_name: str, on_success: Any = None) -> FakeJob:
        job = FakeJob(str(uuid.uuid4()), type_, ds_id, ds_name, self.fail_jobs, self.job_polls, on_success)
        self.jobs[job.id] = job
        if job.polls_left <= 0:
            self.finish(job)
        return job

    def finish(self, job: FakeJob) -> None:
        job.completed_at = _now()
        if job.fails:
            job.finish_code = 1
            job.notes = f"Job {job.type} failed: the extract could not be written (simulated failure)"
            return
        job.finish_code = self.success_code
        if job.on_success is not None:
            job.on_success()


class _Handler(BaseHTTPRequestHandler):
    owner: TableauFake
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read fake.requests instead
        return

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/xml;charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def _dispatch(self, method: str) -> None:
        fake = self.owner
        parsed = urlparse(self.path)
        query = parse_qs(parsed.query)
        body = self._body()
        if fake.delay_s:
            time.sleep(fake.delay_s)
        with fake._lock:
            fake.requests.append((method, parsed.path, query))
            m = re.fullmatch(r"/api/(?P<v>[\d.]+)/(?P<rest>.*)", parsed.path)
            if m is None:
                self._send(404, fake.error("404000", "Resource Not Found", f"no route {parsed.path}"))
                return
            rest = m["rest"]
            if method == "GET" and rest == "serverInfo":
                self._send(200, fake.wrap(_server_info(fake.rest_version)))
                return
            if method == "POST" and rest == "auth/signin":
                self._signin(body)
                return
            if self.headers.get("X-Tableau-Auth") not in fake.tokens:
                self._send(401, fake.error("401002", "Unauthorized Access", "Invalid authentication credentials"))
                return
            if method == "POST" and rest == "auth/signout":
                fake.tokens.discard(self.headers.get("X-Tableau-Auth", ""))
                fake.signed_out += 1
                self._send(204)
                return
            sm = re.fullmatch(r"sites/(?P<site>[^/]+)/(?P<res>.*)", rest)
            if sm is None or sm["site"] != fake.site_id:
                self._send(404, fake.error("404000", "Resource Not Found", "unknown site"))
                return
            self._site(method, sm["res"], query, body)

    def _signin(self, body: bytes) -> None:
        fake = self.owner
        creds = ET.fromstring(body).find("credentials")
        ok = (
            creds is not None
            and creds.get("personalAccessTokenName") == fake.token_name
            and creds.get("personalAccessTokenSecret") == fake.token_secret
        )
        site = creds.find("site") if creds is not None else None
        if not ok or site is None or (site.get("contentUrl") or "") != fake.site:
            self._send(401, fake.error("401001", "Signin Error", "Error signing in to Tableau Server"))
            return
        token = uuid.uuid4().hex
        fake.tokens.add(token)
        self._send(
            200,
            fake.wrap(
                f"<credentials{_attrs(token=token)}><site{_attrs(id=fake.site_id, contentUrl=fake.site)} />"
                f"<user{_attrs(id=fake.user_id)} /></credentials>"
            ),
        )

    def _site(self, method: str, res: str, query: dict[str, list[str]], body: bytes) -> None:
        fake = self.owner
        name_filter = _name_filter(query)
        if method == "GET" and res == "projects":
            items = [(pid, n) for pid, n in fake.projects.items() if name_filter in (None, n)]
            inner = "".join(
                f"<project{_attrs(id=pid, name=n, description='', contentPermissions='ManagedByOwner')}"
                + (f"{_attrs(parentProjectId=fake.parents[pid])}" if pid in fake.parents else "")
                + f"><owner{_attrs(id=fake.user_id)} /></project>"
                for pid, n in items
            )
            self._send(200, fake.wrap(_pagination(len(items)) + f"<projects>{inner}</projects>"))
            return
        if method == "GET" and res == "datasources":
            # Like Tableau, data source names compare case-insensitively.
            items = [
                d
                for d in fake.datasources.values()
                if name_filter is None or d.name.casefold() == name_filter.casefold()
            ]
            inner = "".join(fake.datasource_xml(d) for d in items)
            self._send(200, fake.wrap(_pagination(len(items)) + f"<datasources>{inner}</datasources>"))
            return
        if method == "GET" and (dm := re.fullmatch(r"datasources/([^/]+)", res)):
            ds = fake.datasources.get(dm[1])
            if ds is None:
                self._send(404, fake.error("404011", "Resource Not Found", "Datasource not found"))
                return
            self._send(200, fake.wrap(fake.datasource_xml(ds)))
            return
        if method == "POST" and res == "datasources":
            self._publish(query, body)
            return
        if method == "POST" and (dm := re.fullmatch(r"datasources/([^/]+)/refresh", res)):
            ds = fake.datasources.get(dm[1])
            if ds is None:
                self._send(404, fake.error("404011", "Resource Not Found", "Datasource not found"))
                return

            def refreshed(ds: FakeDatasource = ds) -> None:
                ds.refreshes += 1
                ds.updated_at = _now()

            job = fake.new_job("RefreshExtract", ds.id, ds.name, refreshed)
            self._send(202, fake.wrap(fake.job_xml(job)))
            return
        if method == "GET" and (jm := re.fullmatch(r"jobs/([^/]+)", res)):
            job = fake.jobs.get(jm[1])
            if job is None:
                self._send(404, fake.error("404012", "Resource Not Found", "Job not found"))
                return
            if job.completed_at is None:
                job.polls_left -= 1
                if job.polls_left <= 0:
                    fake.finish(job)
            self._send(200, fake.wrap(fake.job_xml(job)))
            return
        if method == "POST" and res == "fileUploads":
            upload_id = f"{uuid.uuid4().int % 10000}:{uuid.uuid4().hex}-1:0"
            fake.uploads[upload_id] = bytearray()
            self._send(201, fake.wrap(f"<fileUpload{_attrs(uploadSessionId=upload_id, fileSize=0)} />"))
            return
        if method == "PUT" and (um := re.fullmatch(r"fileUploads/(.+)", res)):
            upload = fake.uploads.get(um[1])
            if upload is None:
                self._send(404, fake.error("404003", "Resource Not Found", "Upload session not found"))
                return
            parts = _multipart(self.headers.get("Content-Type", ""), body)
            upload.extend(parts.get("tableau_file", b""))
            size_mb = len(upload) // (1024 * 1024)
            self._send(200, fake.wrap(f"<fileUpload{_attrs(uploadSessionId=um[1], fileSize=size_mb)} />"))
            return
        self._send(404, fake.error("404000", "Resource Not Found", f"no route {method} {res}"))

    def _publish(self, query: dict[str, list[str]], body: bytes) -> None:
        fake = self.owner
        parts = _multipart(self.headers.get("Content-Type", ""), body)
        payload = ET.fromstring(parts["request_payload"])
        ds_el = payload.find("datasource")
        project_el = ds_el.find("project") if ds_el is not None else None
        if ds_el is None or project_el is None or project_el.get("id") not in fake.projects:
            self._send(400, fake.error("400000", "Bad Request", "datasource name and a known project id are required"))
            return
        name = ds_el.get("name", "")
        pid = project_el.get("id", "")
        session = (query.get("uploadSessionId") or [None])[0]
        if session is not None:
            if session not in fake.uploads:
                self._send(404, fake.error("404003", "Resource Not Found", "Upload session not found"))
                return
            content = bytes(fake.uploads.pop(session))
        else:
            content = parts.get("tableau_datasource", b"")
        overwrite = (query.get("overwrite") or ["false"])[0] == "true"
        # A project holds one data source per name, whatever its case: publishing "customers" meets "Customers".
        existing = next(
            (d for d in fake.datasources.values() if d.name.casefold() == name.casefold() and d.project_id == pid), None
        )
        if existing is not None and not overwrite:
            self._send(409, fake.error("409004", "Conflict", f"A data source named '{name}' already exists"))
            return
        ds_type = (query.get("datasourceType") or ["tds"])[0]
        ds = existing or FakeDatasource(str(uuid.uuid4()), name, pid, fake.projects[pid], "", b"")

        def store(ds: FakeDatasource = ds) -> None:
            ds.content, ds.file_name, ds.updated_at = content, f"{name}.{ds_type}", _now()
            fake.datasources[ds.id] = ds

        if (query.get("asJob") or ["false"])[0] == "true":
            job = fake.new_job("PublishDatasource", ds.id, name, store)
            self._send(202, fake.wrap(fake.job_xml(job)))
            return
        store()
        self._send(201, fake.wrap(fake.datasource_xml(ds)))


def _server_info(version: str) -> str:
    return (
        '<serverInfo><productVersion build="20242.24.0711.1636">2024.2.0</productVersion>'
        f"<restApiVersion>{version}</restApiVersion></serverInfo>"
    )


def _pagination(total: int) -> str:
    return f'<pagination pageNumber="1" pageSize="100" totalAvailable="{total}" />'


def _name_filter(query: dict[str, list[str]]) -> str | None:
    for expr in (query.get("filter") or [""])[0].split(","):
        if expr.startswith("name:eq:"):
            return expr[len("name:eq:") :]
    return None


def _multipart(content_type: str, body: bytes) -> dict[str, bytes]:
    """The parts of a ``multipart/mixed`` body, by their form-data name."""
    message = email.message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body, policy=email.policy.HTTP
    )
    parts: dict[str, bytes] = {}
    for part in message.iter_parts():  # pyright: ignore[reportAttributeAccessIssue]
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload
    return parts

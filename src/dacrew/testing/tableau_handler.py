"""The REST handler of :class:`~dacrew.testing.tableau_fake.TableauFake`: sign-in, sites, projects, datasources, publishing (single and chunked), jobs and extract refreshes, answered with the XML bodies Tableau Server sends."""

from __future__ import annotations

import email
import email.policy
import re
import time
import uuid
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from dacrew.testing.tableau_items import FakeDatasource, attrs, now


class TableauHandler(BaseHTTPRequestHandler):
    owner: Any
    """The :class:`~dacrew.testing.tableau_fake.TableauFake` this handler answers for (set per server by
    ``TableauFake.handler_class``; typed loosely so that the fake's module can import this one)."""
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
                f"<credentials{attrs(token=token)}><site{attrs(id=fake.site_id, contentUrl=fake.site)} />"
                f"<user{attrs(id=fake.user_id)} /></credentials>"
            ),
        )

    def _site(self, method: str, res: str, query: dict[str, list[str]], body: bytes) -> None:
        fake = self.owner
        name_filter = _name_filter(query)
        if method == "GET" and res == "projects":
            items = [(pid, n) for pid, n in fake.projects.items() if name_filter in (None, n)]
            inner = "".join(
                f"<project{attrs(id=pid, name=n, description='', contentPermissions='ManagedByOwner')}"
                + (f"{attrs(parentProjectId=fake.parents[pid])}" if pid in fake.parents else "")
                + f"><owner{attrs(id=fake.user_id)} /></project>"
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
                ds.updated_at = now()

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
            self._send(201, fake.wrap(f"<fileUpload{attrs(uploadSessionId=upload_id, fileSize=0)} />"))
            return
        if method == "PUT" and (um := re.fullmatch(r"fileUploads/(.+)", res)):
            upload = fake.uploads.get(um[1])
            if upload is None:
                self._send(404, fake.error("404003", "Resource Not Found", "Upload session not found"))
                return
            parts = _multipart(self.headers.get("Content-Type", ""), body)
            upload.extend(parts.get("tableau_file", b""))
            size_mb = len(upload) // (1024 * 1024)
            self._send(200, fake.wrap(f"<fileUpload{attrs(uploadSessionId=um[1], fileSize=size_mb)} />"))
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
            ds.content, ds.file_name, ds.updated_at = content, f"{name}.{ds_type}", now()
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

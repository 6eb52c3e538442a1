"""Tableau toolset: publish data sources, follow jobs, refresh extracts, list content — through
tableauserverclient with a personal access token — plus the local ``.tds``/``.hyper`` tools of
:mod:`dacrew.tools.tableau.local`.

The token secret comes only from ``DACREW_TABLEAU__TOKEN_SECRET`` and never appears in a result or an
error. Overwriting a data source that exists needs a person's approval.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import tempfile
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from dacrew.errors import ApprovalRequired, GuardRefused, ToolError, UserError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.docs import readable_file
from dacrew.tools.tableau.hyper import package_tdsx
from dacrew.tools.tableau.jobs import TableauJob, job_of, wait_for_job
from dacrew.tools.tableau.local import tableau_build_datasource, tableau_check_fields
from dacrew.tools.tableau.projects import resolve_project

__all__ = ["tableau_build_datasource", "tableau_check_fields"]  # registered with the rest of the toolset

PUBLISHABLE = {".tds", ".tdsx", ".hyper"}


def _tsc() -> Any:
    """tableauserverclient, imported on first use (it is heavy) and untyped for the checker."""
    return importlib.import_module("tableauserverclient")


class _Session:
    """A signed-in server; closing it signs out."""

    def __init__(self, server: Any) -> None:
        self.server = server

    def close(self) -> None:
        # Signing out of a dead session must not hide the tool's own result.
        with contextlib.suppress(Exception):
            self.server.auth.sign_out()


def _open(ctx: ToolContext) -> _Session:
    import requests

    TSC = _tsc()

    cfg = ctx.config.tableau
    missing = [
        env
        for env, value in (
            ("tableau.server_url (DACREW_TABLEAU__SERVER_URL)", cfg.server_url),
            ("tableau.token_name (DACREW_TABLEAU__TOKEN_NAME)", cfg.token_name),
            ("DACREW_TABLEAU__TOKEN_SECRET", cfg.token_secret),
        )
        if not value
    ]
    if missing:
        raise UserError(f"Tableau is not configured: set {', '.join(missing)}")
    assert cfg.server_url is not None
    assert cfg.token_name is not None
    assert cfg.token_secret is not None
    server = TSC.Server(cfg.server_url, http_options={"timeout": cfg.http_timeout_s})
    auth = TSC.PersonalAccessTokenAuth(cfg.token_name, cfg.token_secret.get_secret_value(), site_id=cfg.site)
    try:
        # Negotiate first: personal access tokens need REST 3.6+, and the client starts at 2.4.
        server.use_server_version()
        server.auth.sign_in(auth)
    except TSC.FailedSignInError:
        raise ToolError(
            f"Tableau refused the sign-in (401) at {cfg.server_url} for token {cfg.token_name!r} on site "
            f"{cfg.site or '(default)'}: the token is wrong, expired or revoked; a person must fix "
            "tableau.token_name or DACREW_TABLEAU__TOKEN_SECRET"
        ) from None
    except requests.RequestException as exc:
        raise ToolError(f"cannot reach Tableau at {cfg.server_url}: {type(exc).__name__}") from None
    except Exception as exc:
        raise _tableau_errors(ctx, exc) from None
    return _Session(server)


def _server(ctx: ToolContext) -> Any:
    session: _Session = ctx.connection("tableau", lambda: _open(ctx))
    return session.server


def _tableau_errors(ctx: ToolContext, exc: Exception) -> ToolError:
    """One clear message for the model from TSC's exceptions; the token secret is masked should a
    server's answer ever repeat it."""
    import requests

    TSC = _tsc()

    if isinstance(exc, TSC.ServerResponseError):
        err: Any = exc
        message = f"Tableau answered {err.code}: {err.summary}: {err.detail}"
    elif isinstance(exc, requests.Timeout):
        message = "Tableau did not answer in time (tableau.http_timeout_s); try again later"
    elif isinstance(exc, requests.RequestException):
        message = f"cannot reach Tableau: {type(exc).__name__}"
    else:
        message = f"Tableau call failed: {type(exc).__name__}: {exc}"
    secret = ctx.config.tableau.token_secret
    if secret is not None and secret.get_secret_value():
        message = message.replace(secret.get_secret_value(), "***")
    return ToolError(message)


def _find_datasource(server: Any, name: str, project_id: str | None) -> Any | None:
    """The data source of that name (in that project), compared case-insensitively as Tableau does:
    ``customers`` would overwrite ``Customers``."""
    TSC = _tsc()

    key = name.casefold()

    def same(d: Any) -> bool:
        return str(d.name or "").casefold() == key and (project_id is None or d.project_id == project_id)

    opts = TSC.RequestOptions()
    opts.filter.add(TSC.Filter(TSC.RequestOptions.Field.Name, TSC.RequestOptions.Operator.Equals, name))
    items, _ = server.datasources.get(opts)
    matches = [d for d in items if same(d)]
    if not matches:
        # The name filter need not fold case (nor escape a comma): the overwrite check must not depend on it.
        matches = [d for d in TSC.Pager(server.datasources, TSC.RequestOptions(pagesize=1000)) if same(d)]
    return matches[0] if matches else None


def _project_file(ctx: ToolContext, rel: str) -> Path:
    path, _ = readable_file(ctx, rel, tool_name="tableau_publish_datasource")
    if not path.is_file():
        raise ToolError(f"{rel}: no such file (build one with tableau_build_datasource)")
    if path.suffix.lower() not in PUBLISHABLE:
        raise ToolError(f"{rel}: only {', '.join(sorted(PUBLISHABLE))} files can be published as data sources")
    return path


# -- publish ---------------------------------------------------------------------------------------
class PublishArgs(ToolArgs):
    file: str = Field(description="The .tds, .tdsx or .hyper file, relative to the project.")
    project: str | None = Field(
        default=None,
        description="Tableau project: its name, its path from the top (Parent/Child) or its id (default: tableau.project).",
    )
    name: str | None = Field(default=None, description="Data source name on Tableau (default: the file's stem).")
    mode: Literal["CreateNew", "Overwrite"] = "CreateNew"


class PublishResult(ToolResult):
    name: str
    project: str
    mode: str
    file: str
    datasource_id: str | None = None
    packaged_with_extract: bool = False
    job: TableauJob | None = None
    timed_out: bool = False
    message: str


@tool("tableau", read_only=False)
def tableau_publish_datasource(ctx: ToolContext, args: PublishArgs) -> PublishResult:
    """Publish a data source file (.tds, .tdsx or .hyper) to Tableau as a background job and wait for it.

    mode CreateNew fails if a data source of that name exists in the project; Overwrite replaces it and
    needs a person's approval. A .tds whose .hyper extract lies beside it (as tableau_build_datasource
    writes them) is sent packaged with its extract as a .tdsx. ok is false when the publish job failed
    or did not finish in time (then follow it with tableau_job_status).
    """
    path = _project_file(ctx, args.file)
    project = args.project or ctx.config.tableau.project
    name = args.name or path.stem
    server = _server(ctx)
    TSC = _tsc()
    packaged: Path | None = None
    try:
        project_id = resolve_project(server, project)
        existing = _find_datasource(server, name, project_id)
        if existing is not None and args.mode == "CreateNew":
            raise ToolError(
                f"a data source named {name!r} already exists in project {project!r}: publish with mode "
                "Overwrite (needs approval) or choose another name"
            )
        if existing is not None:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            ctx.require_approval(
                "tableau_overwrite",
                f"Overwrite the Tableau data source {name!r} in project {project!r} with {args.file}",
                {
                    "server": ctx.config.tableau.server_url,
                    "site": ctx.config.tableau.site,
                    "project": project,
                    "name": name,
                    "file": args.file,
                    "sha256": digest,
                },
            )
        item = TSC.DatasourceItem(project_id, name=name)
        with tempfile.TemporaryDirectory(prefix="dacrew-publish-") as tmp:
            packaged = package_tdsx(path, Path(tmp), root=ctx.project_dir) if path.suffix.lower() == ".tds" else None
            started = server.datasources.publish(item, str(packaged or path), args.mode, as_job=True)
        job, timed_out = wait_for_job(ctx, server, started.id)
    except (ToolError, ApprovalRequired, GuardRefused):
        raise
    except Exception as exc:
        raise _tableau_errors(ctx, exc) from None
    # Only a successful job leaves a data source behind: a failed one names what it did not create.
    ds_id = (job.datasource_id or (existing.id if existing is not None else None)) if job.state == "Success" else None
    if job.state == "Success" and ds_id is None:
        found = _find_datasource(server, name, project_id)
        ds_id = found.id if found is not None else None
    if timed_out:
        message = f"publish job {job.id} still running after {ctx.config.tableau.job_timeout_s:g}s"
    elif job.state == "Success":
        message = f"published {name!r} to project {project!r} ({args.mode})"
    else:
        notes = "; ".join(job.notes)
        message = f"publish job {job.id} ended {job.state}" + (f": {notes}" if notes else "")
    return PublishResult(
        ok=job.state == "Success",
        packaged_with_extract=packaged is not None,
        name=name,
        project=project,
        mode=args.mode,
        file=args.file,
        datasource_id=ds_id,
        job=job,
        timed_out=timed_out,
        message=message,
    )


# -- job status ------------------------------------------------------------------------------------
class JobStatusArgs(ToolArgs):
    job_id: str = Field(description="The job id a publish or refresh returned.")


class JobStatusResult(ToolResult):
    job: TableauJob


@tool("tableau")
def tableau_job_status(ctx: ToolContext, args: JobStatusArgs) -> JobStatusResult:
    """Read the state of a Tableau background job (InProgress, Success, Failed, Cancelled) without waiting.

    This only reads: ok is true whatever the job's state; look at job.state and job.notes.
    """
    server = _server(ctx)
    try:
        return JobStatusResult(job=job_of(server.jobs.get_by_id(args.job_id)))
    except Exception as exc:
        raise _tableau_errors(ctx, exc) from None


# -- refresh ---------------------------------------------------------------------------------------
class RefreshArgs(ToolArgs):
    datasource: str = Field(description="The data source's name (or its id).")
    project: str | None = Field(
        default=None,
        description="Project of the data source: name, path (Parent/Child) or id (default: tableau.project).",
    )
    wait: bool = Field(default=True, description="Wait for the refresh job to finish.")


class RefreshResult(ToolResult):
    datasource_id: str
    datasource: str
    job: TableauJob | None = None
    timed_out: bool = False
    message: str


@tool("tableau", read_only=False)
def tableau_refresh_extract(ctx: ToolContext, args: RefreshArgs) -> RefreshResult:
    """Run an extract refresh of a published data source now, and wait for the job by default.

    ok is false when the refresh job failed or did not finish in time.
    """
    server = _server(ctx)
    project = args.project or ctx.config.tableau.project
    try:
        found = _find_datasource(server, args.datasource, resolve_project(server, project))
        if found is None:
            try:
                found = server.datasources.get_by_id(args.datasource)
            except Exception:
                raise ToolError(
                    f"no data source {args.datasource!r} in project {project!r}; tableau_list shows them"
                ) from None
        started = server.datasources.refresh(found.id)
        if started is None:
            return RefreshResult(
                datasource_id=found.id,
                datasource=found.name,
                message="a refresh of this data source is already queued; follow it on Tableau",
            )
        if not args.wait:
            return RefreshResult(
                datasource_id=found.id,
                datasource=found.name,
                job=job_of(started),
                message="refresh job started",
            )
        job, timed_out = wait_for_job(ctx, server, started.id)
    except ToolError:
        raise
    except Exception as exc:
        raise _tableau_errors(ctx, exc) from None
    return RefreshResult(
        ok=job.state == "Success",
        datasource_id=found.id,
        datasource=found.name,
        job=job,
        timed_out=timed_out,
        message=f"refresh job {job.id}: {'still running' if timed_out else job.state}",
    )


# -- list ------------------------------------------------------------------------------------------
class ListArgs(ToolArgs):
    kind: Literal["projects", "datasources"]
    project: str | None = Field(default=None, description="Only data sources of this project.")


class TableauItem(BaseModel):
    id: str
    name: str
    project: str | None = None
    updated_at: str | None = None
    has_extracts: bool | None = None


class ListResult(ToolResult):
    kind: str
    items: list[TableauItem]


@tool("tableau")
def tableau_list(ctx: ToolContext, args: ListArgs) -> ListResult:
    """List the site's projects or data sources (optionally only one project's data sources)."""
    TSC = _tsc()

    server = _server(ctx)
    try:
        if args.kind == "projects":
            items = [TableauItem(id=p.id, name=p.name) for p in TSC.Pager(server.projects)]
        else:
            items = [
                TableauItem(
                    id=d.id,
                    name=d.name,
                    project=d.project_name,
                    updated_at=d.updated_at.isoformat() if d.updated_at else None,
                    has_extracts=d.has_extracts,
                )
                for d in TSC.Pager(server.datasources)
                if args.project is None or d.project_name == args.project
            ]
    except Exception as exc:
        raise _tableau_errors(ctx, exc) from None
    return ListResult(kind=args.kind, items=sorted(items, key=lambda i: (i.project or "", i.name)))

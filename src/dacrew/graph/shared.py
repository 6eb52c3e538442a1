"""The shared state of a project when ``state.url`` names a Postgres database: a LangGraph
``PostgresStore`` holding every run's settings, events, journals and answers and the project's findings,
and the run lock as a Postgres advisory lock. Checkouts of the project on any machine that point at the
same database (and use the same ``state.project`` name) see the same runs and take turns.

Store layout (namespace → key → value), with ``<project>`` the project's name:

- ``("dacrew", <project>, "runs")`` → run id → the run's settings (:class:`RunSettings` as JSON);
- ``("dacrew", <project>, "findings")`` → task id → ``{"finding": …}`` (the finding as JSON);
- ``("dacrew", <project>, "run_files", <run id>)`` → ``<file>#<sequence>`` → ``{"file": …, "entry": …}``:
  one item per JSON line of ``events.jsonl``, ``journal/<task>.<attempt>.jsonl`` and
  ``journal/<task>.answers.jsonl`` (the answers), ``<file>`` relative to the run's folder.

The local files stay the working copy: while a run goes, every write is mirrored into the store right
after the file write (see :mod:`dacrew.findings.mirror`); before a run is resumed, :meth:`hydrate` brings
the checkout's files up to date from the store.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dacrew.errors import UserError
from dacrew.findings.events import read_json_lines
from dacrew.findings.format import Finding, render
from dacrew.findings.mirror import mirrored
from dacrew.findings.store import FindingsStore
from dacrew.graph.state import RunSettings, run_dir, save_settings

PAGE = 1000


def shown_url(url: str) -> str:
    """``url`` without its password (for messages): ``postgresql://user@host:5432/db``."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = (f"{parts.username}@" if parts.username else "") + host + (f":{parts.port}" if parts.port else "")
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(an unreadable Postgres URL)"


def project_name(project: Path, configured: str | None) -> str:
    """The project's name in the store: ``state.project``, else the folder's name (``.`` and other
    characters a store namespace cannot hold become ``_``)."""
    name = configured or project.name or "project"
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def state_url(project: Path) -> str | None:
    """The project's ``state.url`` (None: SQLite under ``.dacrew/``)."""
    from dacrew.config import load_config

    url = load_config(project).state.url
    return url.get_secret_value() if url is not None else None


@contextlib.contextmanager
def open_shared(project: Path) -> Iterator[SharedState | None]:
    """The project's shared state, or None when ``state.url`` is not set; :class:`UserError` when the
    database cannot be reached (the message names it without the password)."""
    from dacrew.config import load_config

    config = load_config(project)
    if config.state.url is None:
        yield None
        return
    url = config.state.url.get_secret_value()
    if not url.startswith(("postgresql://", "postgres://")):
        raise UserError(f"state.url must be a postgresql:// URL, not {shown_url(url)!r}", path=str(project))
    import psycopg
    from langgraph.store.postgres import PostgresStore
    from psycopg.rows import dict_row

    try:
        conn = psycopg.connect(url, autocommit=True, prepare_threshold=0, row_factory=dict_row)  # pyright: ignore[reportArgumentType]
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"cannot reach the state database {shown_url(url)}: {reason}") from None
    with conn:
        # Like SQLite's WAL with synchronous=NORMAL: a write survives the dacrew process being killed the
        # moment Postgres acknowledges it, without waiting for the WAL flush (a Postgres crash can lose
        # the last fraction of a second of mirrored lines; resume then replays those calls).
        conn.execute("SET synchronous_commit = off")
        store = PostgresStore(conn)  # pyright: ignore[reportArgumentType]
        store.setup()
        yield SharedState(url, project_name(project, config.state.project), store)


class SharedState:
    """One project's runs, findings and run lock in Postgres (see the module's docstring)."""

    def __init__(self, url: str, name: str, store: Any) -> None:
        self.url = url
        self.name = name
        self.store = store

    # -- runs ------------------------------------------------------------------------------------

    def save_settings(self, settings: RunSettings) -> None:
        self.store.put(("dacrew", self.name, "runs"), settings.run_id, json.loads(settings.model_dump_json()))

    def settings(self, project: Path, run_id: str) -> RunSettings | None:
        """The run's settings as saved by whichever checkout started it, for this checkout (``project``)."""
        item = self.store.get(("dacrew", self.name, "runs"), run_id)
        if item is None:
            return None
        data = dict(item.value)
        data["project_dir"] = str(project)
        return RunSettings.model_validate(data)

    def run_ids(self) -> list[str]:
        return sorted(str(item.key) for item in self._all(("dacrew", self.name, "runs")))

    def findings(self, run_id: str | None = None) -> dict[str, Finding]:
        """The project's findings by task id (only ``run_id``'s when given)."""
        found: dict[str, Finding] = {}
        for item in self._all(("dacrew", self.name, "findings")):
            finding = Finding.model_validate(item.value["finding"])
            if run_id is None or finding.run_id == run_id:
                found[finding.task] = finding
        return dict(sorted(found.items()))

    def run_files(self, run_id: str) -> dict[str, list[dict[str, Any]]]:
        """Every mirrored JSON-line file of the run: its path in the run folder → its entries, in order."""
        items = sorted(self._all(("dacrew", self.name, "run_files", run_id)), key=lambda i: str(i.key))
        files: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            files.setdefault(str(item.value["file"]), []).append(dict(item.value["entry"]))
        return files

    def events(self, run_id: str) -> list[dict[str, Any]]:
        return self.run_files(run_id).get("events.jsonl", [])

    def _all(self, namespace: tuple[str, ...]) -> list[Any]:
        out: list[Any] = []
        while True:
            page = self.store.search(namespace, limit=PAGE, offset=len(out))
            out.extend(i for i in page if tuple(i.namespace) == namespace)
            if len(page) < PAGE:
                return out

    # -- the run lock ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def run_lock(self) -> Iterator[None]:
        """One run at a time per project, across machines: a session-level Postgres advisory lock keyed
        by the project's name, held on a connection of its own (a killed process's lock ends with its
        connection). :class:`UserError` when another process holds it."""
        import psycopg

        digest = hashlib.sha256(f"dacrew run lock:{self.name}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
            if not row or not row[0]:
                raise UserError(
                    f"a run of project {self.name!r} is in progress (the run lock in {shown_url(self.url)} is "
                    "held); wait for it (or stop it) before starting or resuming a run"
                )
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    # -- the checkout's files --------------------------------------------------------------------

    def hydrate(self, project: Path, run_id: str) -> None:
        """Bring this checkout's copy of the run up to date (call it holding the run lock): its
        settings, its findings, and every JSON-line file the store holds more lines of. A local file
        with more lines than the store (a process killed between its file write and its store write)
        gives the store its missing lines instead."""
        settings = self.settings(project, run_id)
        if settings is not None and not (run_dir(project, run_id) / "run.json").is_file():
            save_settings(settings)
        local = FindingsStore(project)
        for task, finding in self.findings(run_id).items():
            mine = local.read(task)
            if mine is None or render(mine) != render(finding):
                local.write(finding)
        folder = run_dir(project, run_id)
        files = self.run_files(run_id)
        sink = RunMirror(self, project, run_id)
        for name, entries in files.items():
            path = folder / name
            lines = read_json_lines(path)
            if len(lines) < len(entries):
                path.parent.mkdir(parents=True, exist_ok=True)
                text = "".join(json.dumps(e, ensure_ascii=False, default=str) + "\n" for e in entries)
                path.write_text(text, encoding="utf-8")
            else:
                for extra in lines[len(entries) :]:
                    sink.line_appended(path, extra)
        for path in folder.rglob("*.jsonl") if folder.is_dir() else []:
            if path.relative_to(folder).as_posix() not in files:
                for entry in read_json_lines(path):
                    sink.line_appended(path, entry)

    @contextlib.contextmanager
    def mirroring(self, project: Path, run_id: str) -> Iterator[None]:
        """Mirror every finding and run-file line written under ``project`` into the store."""
        with mirrored(project, RunMirror(self, project, run_id)):
            yield


class RunMirror:
    """Puts what a run writes into the shared store (see :class:`dacrew.findings.mirror.Mirror`)."""

    def __init__(self, shared: SharedState, project: Path, run_id: str) -> None:
        self.shared = shared
        self.folder = run_dir(project, run_id).absolute()
        self.namespace = ("dacrew", shared.name, "run_files", run_id)
        self._lock = threading.Lock()
        self._last = 0

    def finding_written(self, finding: Finding) -> None:
        value = {"finding": json.loads(finding.model_dump_json())}
        self.shared.store.put(("dacrew", self.shared.name, "findings"), finding.task, value)

    def line_appended(self, path: Path, entry: dict[str, Any]) -> None:
        try:
            name = path.absolute().relative_to(self.folder).as_posix()
        except ValueError:
            return  # another run's file
        with self._lock:
            # Keys sort in append order: nanoseconds, never repeated in this process, later in a later one.
            self._last = max(time.time_ns(), self._last + 1)
            key = f"{name}#{self._last:020d}"
        self.shared.store.put(self.namespace, key, {"file": name, "entry": entry})


def load_run(
    project: Path, run_id: str | None
) -> tuple[RunSettings, list[dict[str, Any]] | None, dict[str, Finding] | None]:
    """A run as ``dacrew status`` and ``dacrew resume`` see it from this checkout: its settings (from
    ``.dacrew/runs/<id>/run.json``, else from the shared store), and with shared state its events and
    findings from the store (None: the checkout's own files are the record). ``run_id`` None: the
    latest run. :class:`UserError` for an unknown run."""
    from dacrew.graph.state import list_runs, load_settings

    with open_shared(project) as shared:
        local = list_runs(project)
        if shared is None:
            if run_id is None:
                if not local:
                    raise UserError(f"no runs in {project} yet: start one with `dacrew run tasks.md`")
                run_id = local[-1]
            return load_settings(project, run_id), None, None
        known = sorted({*local, *shared.run_ids()})
        if run_id is None:
            if not known:
                raise UserError(f"no runs of project {shared.name!r} yet: start one with `dacrew run tasks.md`")
            run_id = known[-1]
        settings = shared.settings(project, run_id)
        if settings is None:
            if run_id in local:
                settings = load_settings(project, run_id)
            else:
                hint = f" (runs: {', '.join(known[-5:])})" if known else ""
                raise UserError(f"no run {run_id!r} of project {shared.name!r} in {shown_url(shared.url)}{hint}")
        return settings, shared.events(run_id), shared.findings(run_id)

"""The findings store: ``<project>/findings/<task-id>.md``, one file per task and nothing else.

Writes are atomic (a temp file under ``<project>/.dacrew/tmp/`` — same filesystem — fsynced, then
``os.replace``d over the finding), so a reader never sees half a file, even after ``kill -9``. Writes to
one task are serialised: a lock per task within the process, and an ``flock`` on a lock file under
``.dacrew/locks/`` across processes, so read-modify-write updates lose nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import threading
from collections.abc import Generator, Iterable
from pathlib import Path
from typing import Any

from dacrew.errors import UserError
from dacrew.findings.format import Finding, Status, now_iso, parse, render
from dacrew.findings.mirror import mirror_of
from dacrew.findings.redact import redact_obj

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the in-process lock still serialises threads
    fcntl = None

FINDINGS_DIR = "findings"
_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK
FINAL_STATUSES = frozenset({"completed", "failed", "skipped", "needs_input"})
STATE_DIR = ".dacrew"
_TASK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_HELD = threading.local()  # the task locks this thread holds


def _thread_lock(key: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


def check_task_id(task_id: str) -> str:
    """``task_id`` if it is safe as a file name (``T004``, ``T004a``); :class:`UserError` otherwise."""
    if not _TASK_ID.match(task_id) or ".." in task_id:
        raise UserError(f"invalid task id {task_id!r}: letters, digits, '_', '-' and '.' only")
    return task_id


class FindingsStore:
    """Read and write the findings of one project. Safe to share between threads and processes.

    ``durable=False`` skips the fsync: a write is still atomic for every reader and survives the
    process being killed (the page cache outlives it), but not a power cut. For benchmarks and tests.
    """

    def __init__(self, project_dir: Path | str, *, durable: bool = True) -> None:
        self.project_dir = Path(project_dir).resolve()  # dbt moves the working directory while it runs
        self.durable = durable
        self.dir = self.project_dir / FINDINGS_DIR
        self._tmp = self.project_dir / STATE_DIR / "tmp"
        self._locks = self.project_dir / STATE_DIR / "locks"
        self._dirs_made = False

    def path(self, task_id: str) -> Path:
        return self.dir / f"{check_task_id(task_id)}.md"

    # -- reading ---------------------------------------------------------------------------------

    def read(self, task_id: str) -> Finding | None:
        """The task's finding, or None if it has none yet; :class:`UserError` if the file is broken."""
        path = self.path(task_id)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return parse(text, str(path))

    def all(self) -> dict[str, Finding]:
        """Every finding, by task id, in id order."""
        if not self.dir.is_dir():
            return {}
        found: dict[str, Finding] = {}
        for path in sorted(self.dir.glob("*.md")):
            finding = parse(path.read_text(encoding="utf-8"), str(path))
            found[finding.task] = finding
        return found

    # -- writing ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self, task_id: str) -> Generator[None]:
        """Hold the task's write lock (threads of this process, and other processes). Re-entrant:
        ``with store.lock(t): store.update(t, …)`` makes a read-modify-write of your own atomic."""
        check_task_id(task_id)
        key = f"{self.dir.resolve()}:{task_id}"
        held: set[str] = _HELD.__dict__.setdefault("keys", set())
        if key in held:
            yield
            return
        with _thread_lock(key):
            held.add(key)
            try:
                if fcntl is None:
                    yield
                    return
                self._make_dirs()
                fd = os.open(self._locks / f"{task_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    yield
                finally:
                    os.close(fd)  # closing the descriptor releases the flock
            finally:
                held.discard(key)

    def write(self, finding: Finding) -> Finding:
        """Write ``finding`` atomically (secrets redacted); returns what was written."""
        with self.lock(finding.task):
            return self._write(finding)

    def update(self, task_id: str, **changes: Any) -> Finding:
        """Change some fields of the task's finding (created if absent) under its lock."""
        with self.lock(task_id):
            current = self.read(task_id) or Finding(task=task_id)
            data = current.model_dump()
            data.update(changes)
            return self._write(Finding.model_validate(data))

    def start(
        self,
        task_id: str,
        *,
        title: str = "",
        owner: str = "",
        depends_on: Iterable[str] = (),
        attempt: int = 1,
        run_id: str | None = None,
    ) -> Finding:
        """Mark the task ``in_progress`` as of now, with a fresh finding (nothing kept from an earlier
        attempt: its summary and checks would mislead the task's successors)."""
        finding = Finding(
            task=task_id,
            title=title,
            owner=owner,
            status="in_progress",
            attempt=attempt,
            started=now_iso(),
            depends_on=list(depends_on),
            run_id=run_id,
        )
        return self.write(finding)

    def finish(self, task_id: str, status: Status, **fields: Any) -> Finding:
        """Record the task's final status (and any other fields) with ``finished`` = now."""
        return self.update(task_id, status=status, finished=now_iso(), **fields)

    def _make_dirs(self) -> None:
        # Once per store: a mkdir per write showed up in the scheduler benchmark.
        if not self._dirs_made:
            for folder in (self.dir, self._tmp, self._locks):
                folder.mkdir(parents=True, exist_ok=True)
            self._dirs_made = True

    def _write(self, finding: Finding) -> Finding:
        clean = Finding.model_validate(redact_obj(finding.model_dump()))
        data = render(clean).encode("utf-8")
        self._make_dirs()
        # Only a final status is fsynced: resume trusts it. A transient one (in_progress, verifying)
        # lost to a power cut just means the task runs again; a killed process loses nothing.
        sync = self.durable and clean.status in FINAL_STATUSES
        fd, tmp = tempfile.mkstemp(dir=self._tmp, prefix=f"{clean.task}.", suffix=".md.tmp")
        try:
            os.fchmod(fd, _FILE_MODE)  # mkstemp makes 0600; a finding is as readable as any project file
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, self.path(clean.task))
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        mirror = mirror_of(self.dir)
        if mirror is not None:
            mirror.finding_written(clean)
        return clean

    # -- handing on ------------------------------------------------------------------------------

    def handoff(self, task_ids: Iterable[str]) -> str:
        """What a successor learns from its dependencies: for each, its status, summary, artifacts and
        next steps — never a transcript."""
        blocks: list[str] = []
        for task_id in task_ids:
            finding = self.read(task_id)
            if finding is None:
                blocks.append(f"### {task_id}\n\nNo finding: this task has not run.")
                continue
            heading = f"### {finding.task}: {finding.title}" if finding.title else f"### {finding.task}"
            lines = [heading, "", f"- Status: {finding.status}"]
            if finding.owner:
                lines.append(f"- Owner: {finding.owner}")
            lines += ["", "Summary:", "", finding.summary or "(no summary)"]
            if finding.artifacts:
                lines += ["", "Artifacts:", "", *(f"- {a}" for a in finding.artifacts)]
            if finding.next_steps:
                lines += ["", "Next Steps:", "", finding.next_steps]
            blocks.append("\n".join(lines))
        return "\n\n".join(blocks)

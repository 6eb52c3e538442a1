"""Read a task plan (``tasks.md``) into a :class:`TaskPlan`, keeping the source line of every field.

Two formats are accepted:

* the analytics template: phases as ``## … Tasks`` headings, one ``### T004: Title [P]`` heading per task,
  then ``**Owner**``, ``**Dependencies**``, ``**Files**``, ``**Description**``, ``**Acceptance**`` and
  optional ``**Checks**`` fields;
* spec-kit checklists: ``- [ ] T012 [P] [US1] Do X in path/`` lines under ``## Phase N: …`` headings,
  owners inferred from the paths and dependencies from spec-kit's ordering rules.

Only the shape is checked here (headings, fields, ids); :mod:`plan_validate` checks the meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dacrew.errors import UserError
from dacrew.plan.model import (
    Check,
    IntegrationPoint,
    ParallelExample,
    Phase,
    Task,
    TaskPlan,
)
from dacrew.plan.source import read_plan_text
from dacrew.plan.speckit import owners_from_paths, paths_in, speckit_dependencies

_TASK_ID = r"T\d+"
_TASK_HEADING = re.compile(rf"^(?P<id>{_TASK_ID})\s*:\s*(?P<title>.*)$")
_LOOKS_LIKE_TASK = re.compile(r"^(?:T\s*\d|TX+\b|Task\s+#?T?\d)", re.IGNORECASE)
_DEPENDS_ON = re.compile(
    rf"\(\s*depends\s+on\s+(?P<ids>{_TASK_ID}(?:\s*(?:,|and|&)?\s*{_TASK_ID})*)\s*\)", re.IGNORECASE
)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FIELD = re.compile(r"^\*\*(?P<name>[A-Za-z][A-Za-z -]*?):?\*\*\s*:?\s*(?P<value>.*)$")
_BULLET = re.compile(r"^\s*[-*+]\s+(?P<text>.*)$")
_CHECKBOX = re.compile(r"^\s*[-*]\s+\[(?: |x|X)\]\s+(?P<rest>.*)$")
_SPECKIT_TASK = re.compile(rf"^(?P<id>{_TASK_ID})\b\s*(?P<rest>.*)$")
_MARKER = re.compile(r"^\[(?P<label>[^\]\s]+)\]\s*")
_PARALLEL = re.compile(r"\s*\[P\]\s*")
_REMARK = re.compile(r"\s*\*\((?P<note>[^)]*)\)\*\s*$|\s*\((?P<note2>[^)]*)\)\s*$")
_ID_TOKEN = re.compile(rf"\b{_TASK_ID}\b")
_RANGE = re.compile(r"^T(?P<an>\d+)\.\.T(?P<bn>\d+)$")
_RANGE_IN_TEXT = re.compile(r"(T\d+)\s*(?:-|\u2013|\u2014|\.\.)\s*(T\d+)")
_ARROW = re.compile(rf"(?P<up>{_TASK_ID})\s*(?:→|->|=>|⟶)\s*(?P<down>{_TASK_ID})")
_TASK_RUN = re.compile(r"^\s*Task\s+run\s+(?P<ids>[^#]*?)\s*(?:#\s*(?P<comment>.*))?$")
_NONE_VALUES = {"", "none", "-", "\u2014", "n/a", "na", "nothing"}
_FIELD_KEYS = {
    "owner": "owners",
    "owners": "owners",
    "dependencies": "dependencies",
    "dependency": "dependencies",
    "depends on": "dependencies",
    "files": "files",
    "file": "files",
    "description": "description",
    "acceptance": "acceptance",
    "acceptance criteria": "acceptance",
    "checks": "checks",
    "check": "checks",
}
_MAX_SNIPPET = 60


def _snippet(text: str) -> str:
    """User text quoted for a one-line message: escaped, and cut when long."""
    text = text.strip()
    if len(text) > _MAX_SNIPPET:
        text = text[: _MAX_SNIPPET - 1] + "…"
    return repr(text)


def parse_plan_file(path: Path) -> TaskPlan:
    """Read and parse ``path``; any problem with the file itself is a located :class:`UserError`."""
    return parse_plan(read_plan_text(path), str(path))


def parse_plan(text: str, path: str = "tasks.md") -> TaskPlan:
    """Parse a plan in either format; raise a located :class:`UserError` on a malformed one."""
    if not text.strip():
        raise UserError("the plan is empty", path=path, line=1)
    # Split on "\n" only: str.splitlines() also splits on form feeds and U+2028, which editors do not
    # count, and then every line number after them would be off.
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    parser = _Parser(path, lines)
    plan = parser.parse()
    if not plan.tasks:
        raise UserError(
            "no tasks found: expected task headings like '### T001: Title' or spec-kit lines like '- [ ] T001 Title'",
            path=path,
            line=1,
        )
    return plan


@dataclass
class _Section:
    title: str
    line: int
    level: int


@dataclass
class _Parser:
    path: str
    lines: list[str]
    plan: TaskPlan = field(default_factory=TaskPlan)
    h2: _Section | None = None
    h3: _Section | None = None
    phase: Phase | None = None
    task: Task | None = None
    current_field: str = ""
    checklist_tasks: list[tuple[Task, int]] = field(default_factory=list[tuple[Task, int]])

    def error(self, message: str, line: int) -> UserError:
        return UserError(message, path=self.path, line=line)

    def parse(self) -> TaskPlan:
        self.plan.path = self.path
        fence = ""
        for number, raw in enumerate(self.lines, start=1):
            stripped = raw.strip()
            if fence:
                if stripped.startswith(fence):
                    fence = ""
                else:
                    self.in_fence(stripped, number)
                continue
            if stripped.startswith(("```", "~~~")):
                fence = stripped[:3]
                self.current_field = ""
                continue
            heading = _HEADING.match(stripped)
            if heading:
                self.on_heading(len(heading.group(1)), heading.group(2), number)
            elif stripped in ("---", "***", "___"):
                self.current_field = ""
            else:
                self.on_line(raw, stripped, number)
        if self.checklist_tasks and any("heading" in t.lines for t in self.plan.tasks):
            first = self.checklist_tasks[0][0]
            raise self.error(
                f"mixes task headings and spec-kit checklist lines ({first.id}); use one format", first.line
            )
        if self.checklist_tasks:
            self.plan.format = "speckit"
            speckit_dependencies(self.checklist_tasks)
        return self.plan

    # -- headings ---------------------------------------------------------------------------------

    def on_heading(self, level: int, text: str, line: int) -> None:
        self.current_field = ""
        if level != 3 and _TASK_HEADING.match(text):
            raise self.error(f"task heading {_snippet(text)} must be a level-3 heading ('### ')", line)
        if level == 1:
            self.task = None
            if not self.plan.feature:
                self.plan.feature = text.split(":", 1)[1].strip() if ":" in text else text.strip()
            return
        if level == 2:
            self.task = None
            self.phase = None
            self.h3 = None
            self.h2 = _Section(text, line, 2)
            return
        if level == 3:
            self.h3 = _Section(text, line, 3)
            match = _TASK_HEADING.match(text)
            if match:
                self.start_task(match.group("id"), match.group("title"), line)
                return
            self.task = None
            if _LOOKS_LIKE_TASK.match(text) or self.in_task_section():
                raise self.error(
                    f"malformed task heading {_snippet(text)}: expected '### T001: Title' (add ' [P]' if it "
                    "can run in parallel)",
                    line,
                )
            return

    def in_task_section(self) -> bool:
        """Under a ``## … Tasks`` phase heading every ``###`` heading must be a task."""
        if self.h2 is None:
            return False
        title, _ = _split_remark(self.h2.title)
        return title.lower().endswith("tasks") and "example" not in title.lower()

    def current_phase(self) -> Phase | None:
        if self.h2 is None:
            return None
        if self.phase is None:
            title, note = _split_remark(self.h2.title)
            self.phase = Phase(title=title, line=self.h2.line, note=note)
            self.plan.phases.append(self.phase)
        return self.phase

    def start_task(self, task_id: str, title_text: str, line: int) -> None:
        parallel = bool(_PARALLEL.search(title_text))
        title = _PARALLEL.sub(" ", title_text).strip()
        if not title:
            raise self.error(f"task {task_id} has no title: expected '### {task_id}: Title'", line)
        phase = self.current_phase()
        task = Task(
            id=task_id,
            title=title,
            phase=phase.title if phase else "",
            parallel=parallel,
            line=line,
            lines={"heading": line},
        )
        if phase is not None:
            phase.tasks.append(task_id)
        self.plan.tasks.append(task)
        self.task = task

    # -- lines ------------------------------------------------------------------------------------

    def on_line(self, raw: str, stripped: str, line: int) -> None:
        if not stripped:
            return
        checkbox = _CHECKBOX.match(raw)
        if checkbox and self.task is None:
            self.checklist_line(checkbox.group("rest").strip(), line)
            return
        if self.task is not None:
            self.task_line(self.task, stripped, line)
            return
        self.header_line(stripped, line)

    def header_line(self, stripped: str, line: int) -> None:
        # Front matter such as "**Branch**: `…` | **Date**: … | **Spec**: …" and the integration points.
        for part in stripped.split("|"):
            match = _FIELD.match(part.strip())
            if not match:
                continue
            name, value = match.group("name").strip().lower(), match.group("value").strip()
            if name == "branch" and not self.plan.branch:
                self.plan.branch = value.strip("`").strip()
            elif name == "date" and not self.plan.date:
                self.plan.date = value
        if self.h3 is not None and "integration point" in self.h3.title.lower():
            bullet = _BULLET.match(stripped)
            arrow = _ARROW.search(stripped) if bullet else None
            if arrow:
                rest = stripped[arrow.end() :].lstrip("*").lstrip(":").strip()
                self.plan.integration_points.append(
                    IntegrationPoint(
                        upstream=arrow.group("up"), downstream=arrow.group("down"), description=rest, line=line
                    )
                )

    def in_fence(self, stripped: str, line: int) -> None:
        if self.h2 is None or "parallel" not in self.h2.title.lower() or "example" not in self.h2.title.lower():
            return
        match = _TASK_RUN.match(stripped)
        if not match:
            return
        ids = _ID_TOKEN.findall(match.group("ids"))
        if ids:
            section = self.h3.title if self.h3 is not None else self.h2.title
            self.plan.parallel_examples.append(
                ParallelExample(section=section, tasks=ids, comment=(match.group("comment") or "").strip(), line=line)
            )

    def task_line(self, task: Task, stripped: str, line: int) -> None:
        match = _FIELD.match(stripped)
        if match:
            key = _FIELD_KEYS.get(match.group("name").strip().lower())
            if key is None:
                self.current_field = ""
                return
            if key in task.lines:
                raise self.error(f"{task.id} has a second **{match.group('name').strip()}** field", line)
            self.current_field = key
            task.lines[key] = line
            self.set_field(task, key, match.group("value").strip(), line)
            return
        bullet = _BULLET.match(stripped)
        if bullet and self.current_field in ("description", "checks", "acceptance"):
            text = bullet.group("text").strip()
            if self.current_field == "description":
                task.description.append(text)
            elif self.current_field == "checks":
                task.checks.append(self.check(task, text, line))
            elif text:
                task.acceptance = f"{task.acceptance}; {text}" if task.acceptance else text
            return
        if self.current_field == "acceptance" and task.acceptance:
            task.acceptance = f"{task.acceptance} {stripped}"
        elif self.current_field == "description":
            task.description.append(stripped)

    def set_field(self, task: Task, key: str, value: str, line: int) -> None:
        if key == "owners":
            owners = [o.strip().strip("`").strip() for o in re.split(r"\s*(?:\+|,|&|\band\b)\s*", value)]
            task.owners = [o for o in owners if o]
            if not task.owners:
                raise self.error(f"{task.id} has an empty **Owner** field", line)
        elif key == "dependencies":
            task.dependencies = self.dependencies(task, value, line)
        elif key == "files":
            task.files = split_files(value)
        elif key == "description":
            if value:
                task.description.append(value)
        elif key == "acceptance":
            task.acceptance = value
        elif value:
            task.checks.append(self.check(task, value, line))

    def dependencies(self, task: Task, value: str, line: int) -> list[str]:
        value = re.sub(r"\([^)]*\)", " ", value).replace("`", " ").strip().rstrip(".")
        if value.lower() in _NONE_VALUES:
            return []
        found: list[str] = []
        value = _RANGE_IN_TEXT.sub(r"\1..\2", value)
        for token in re.split(r"[,;&\s]+|\band\b", value):
            token = token.strip()
            if not token:
                continue
            span = _RANGE.match(token)
            if span:
                found.extend(self.expand_range(task, span, token, line))
            elif re.fullmatch(_TASK_ID, token):
                found.append(token)
            else:
                raise self.error(f"{task.id}: dependency {_snippet(token)} is not a task id like T001", line)
        return list(dict.fromkeys(found))

    def expand_range(self, task: Task, span: re.Match[str], token: str, line: int) -> list[str]:
        start, end = int(span.group("an")), int(span.group("bn"))
        if end < start or end - start > 10_000:
            raise self.error(f"{task.id}: dependency range {_snippet(token)} runs backwards or is too long", line)
        width = len(span.group("an"))
        return [f"T{n:0{width}d}" for n in range(start, end + 1)]

    def check(self, task: Task, text: str, line: int) -> Check:
        text = text.strip().strip("`").strip()
        kind, sep, argument = text.partition(":")
        if not sep or not kind.strip() or not argument.strip():
            raise self.error(
                f"{task.id}: check {_snippet(text)} must read 'kind: argument' (e.g. 'dbt: build --select staging')",
                line,
            )
        return Check(kind=kind.strip().lower(), argument=argument.strip(), line=line)

    # -- spec-kit ---------------------------------------------------------------------------------

    def checklist_line(self, rest: str, line: int) -> None:
        match = _SPECKIT_TASK.match(rest)
        if match is None:
            if _LOOKS_LIKE_TASK.match(rest):
                raise self.error(f"malformed task line {_snippet(rest)}: expected '- [ ] T001 [P] Title'", line)
            return
        task_id, text = match.group("id"), match.group("rest").strip()
        parallel = False
        labels: list[str] = []
        while marker := _MARKER.match(text):
            label = marker.group("label")
            if label == "P":
                parallel = True
            else:
                labels.append(label)
            text = text[marker.end() :]
        title = text.strip()
        if not title:
            raise self.error(f"task {task_id} has no description: expected '- [ ] {task_id} [P] Title'", line)
        phase = self.current_phase()
        explicit = _DEPENDS_ON.search(title)
        files = paths_in(_DEPENDS_ON.sub(" ", title))
        task = Task(
            id=task_id,
            title=title,
            phase=phase.title if phase else "",
            owners=owners_from_paths(files),
            # "(depends on T012, T013)", as spec-kit writes it, adds to the ordering rules below.
            dependencies=_ID_TOKEN.findall(explicit.group("ids")) if explicit else [],
            parallel=parallel,
            files=files,
            line=line,
            labels=labels,
        )
        if phase is not None:
            phase.tasks.append(task_id)
        self.plan.tasks.append(task)
        self.checklist_tasks.append((task, len(self.plan.phases)))


def _split_remark(title: str) -> tuple[str, str]:
    """``Data Foundation Tasks *(can execute in parallel)*`` → title and remark."""
    match = _REMARK.search(title)
    if not match:
        return title.strip(), ""
    note = match.group("note") if match.group("note") is not None else match.group("note2")
    return title[: match.start()].strip() or title.strip(), (note or "").strip()


def split_files(value: str) -> list[str]:
    """``Files`` as written: backticked paths and globs, or plain comma-separated text."""
    files = [span.strip() for span in re.findall(r"`([^`]*)`", value)]
    rest = re.sub(r"`[^`]*`", ",", value)
    files.extend(part.strip() for part in rest.split(","))
    return list(dict.fromkeys(f for f in files if f and f.lower() not in _NONE_VALUES))

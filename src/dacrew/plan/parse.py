"""Read a task plan (``tasks.md``) into a :class:`TaskPlan`, keeping the source line of every field.

Two formats are accepted:

* the analytics template: phases as ``## … Tasks`` headings, one ``### T004: Title [P]`` heading per task,
  then ``**Owner**``, ``**Dependencies**``, ``**Files**``, ``**Description**``, ``**Acceptance**`` and
  optional ``**Checks**`` fields;
* spec-kit checklists: ``- [ ] T012 [P] [US1] Do X in path/`` list items under ``## Phase N: …``
  headings (see :mod:`dacrew.plan.speckit`).

The markdown is read by markdown-it-py (:mod:`dacrew.plan.markdown`), so list items, their continuation
lines and nested bullets are grouped as CommonMark groups them. Only the shape is checked here
(headings, fields, ids); :mod:`dacrew.plan.validate` checks the meaning. Every problem is kept, at its
line: :func:`read_plan` returns them all, :func:`parse_plan` raises the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dacrew.plan.diagnostic import Diagnostic, FieldProblem
from dacrew.plan.fields import (
    TASK_ID,
    ids_in,
    parse_check,
    parse_dependencies,
    parse_owners,
    snippet,
    split_files,
    unwrap_id,
)
from dacrew.plan.markdown import Fence, Heading, Line, collector_paused, normalise, read_blocks
from dacrew.plan.model import IntegrationPoint, ParallelExample, Phase, Task, TaskPlan
from dacrew.plan.source import read_plan_text
from dacrew.plan.speckit import Checklist, looks_like_task, speckit_dependencies

_TASK_HEADING = re.compile(rf"^(?P<id>{TASK_ID})\s*:\s*(?P<title>.*)$")
_FIELD = re.compile(r"^\*\*(?P<name>[A-Za-z][A-Za-z -]*?):?\*\*\s*:?\s*(?P<value>.*)$")
_PARALLEL = re.compile(r"\s*\[P\]\s*")
_REMARK = re.compile(r"\s*\*\((?P<note>[^)]*)\)\*\s*$|\s*\((?P<note2>[^)]*)\)\s*$")
_ARROW = re.compile(rf"(?P<up>{TASK_ID})\s*(?:→|->|=>|⟶)\s*(?P<down>{TASK_ID})")
_TASK_RUN = re.compile(r"^\s*Task\s+run\s+(?P<ids>[^#]*?)\s*(?:#\s*(?P<comment>.*))?$")
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


def parse_plan_file(path: Path) -> TaskPlan:
    """Read and parse ``path``; any problem with the file itself is a located :class:`UserError`."""
    return parse_plan(read_plan_text(path), str(path))


def parse_plan(text: str, path: str = "tasks.md") -> TaskPlan:
    """Parse a plan in either format; raise a located :class:`UserError` (the first problem) on a
    malformed one."""
    plan, problems = read_plan(text, path)
    if problems:
        raise problems[0].to_error()
    return plan


def read_plan(text: str, path: str = "tasks.md") -> tuple[TaskPlan, list[Diagnostic]]:
    """The plan in ``text`` and every shape error in it (by line); the plan holds what did parse."""
    if not text.strip():
        return TaskPlan(path=path), [Diagnostic("error", "the plan is empty", path, 1, "empty")]
    parser = _Parser(path)
    with collector_paused():
        plan = parser.parse(normalise(text))
    problems = sorted(parser.problems, key=lambda d: d.line)
    if not plan.tasks and not problems:
        problems.append(
            Diagnostic(
                "error",
                "no tasks found: expected task headings like '### T001: Title' or spec-kit lines like "
                "'- [ ] T001 Title'",
                path,
                1,
                "no-tasks",
            )
        )
    return plan, problems


@dataclass
class _Section:
    title: str
    line: int


@dataclass
class _Parser:
    path: str
    plan: TaskPlan = field(default_factory=TaskPlan)
    problems: list[Diagnostic] = field(default_factory=list[Diagnostic])
    h2: _Section | None = None
    h3: _Section | None = None
    phase: Phase | None = None
    task: Task | None = None
    current_field: str = ""
    checklist: Checklist | None = None
    checklist_tasks: list[tuple[Task, int]] = field(default_factory=list[tuple[Task, int]])

    def problem(self, message: str, line: int, code: str) -> None:
        self.problems.append(Diagnostic("error", message, self.path, line, code))

    def parse(self, text: str) -> TaskPlan:
        self.plan.path = self.path
        for block in read_blocks(text):
            if isinstance(block, Line):
                self.on_line(block)
                continue
            self.current_field = ""
            self.checklist = None
            if isinstance(block, Heading):
                self.on_heading(block.level, block.text, block.number)
            elif isinstance(block, Fence):
                self.in_fence(block)
            # A Rule (``---``) only ends the field being read.
        if self.checklist_tasks and any("heading" in t.lines for t in self.plan.tasks):
            first = self.checklist_tasks[0][0]
            self.problem(
                f"mixes task headings and spec-kit checklist lines ({first.id}); use one format",
                first.line,
                "mixed-formats",
            )
        elif self.checklist_tasks:
            self.plan.format = "speckit"
            speckit_dependencies(self.checklist_tasks)
        return self.plan

    # -- headings ---------------------------------------------------------------------------------

    def on_heading(self, level: int, text: str, line: int) -> None:
        text = unwrap_id(text)
        if level != 3 and _TASK_HEADING.match(text):
            self.problem(f"task heading {snippet(text)} must be a level-3 heading ('### ')", line, "heading-level")
            return
        if level == 1:
            self.task = None
            if not self.plan.feature:
                self.plan.feature = text.split(":", 1)[1].strip() if ":" in text else text.strip()
        elif level == 2:
            self.task = None
            self.phase = None
            self.h3 = None
            self.h2 = _Section(text, line)
        elif level == 3:
            self.h3 = _Section(text, line)
            self.task = None
            match = _TASK_HEADING.match(text)
            if match:
                self.start_task(match.group("id"), match.group("title"), line)
            elif looks_like_task(text) or self.in_task_section():
                self.problem(
                    f"malformed task heading {snippet(text)}: expected '### T001: Title' (add ' [P]' if it "
                    "can run in parallel)",
                    line,
                    "malformed-task",
                )

    def in_task_section(self) -> bool:
        """Under a ``## … Tasks`` phase heading every ``###`` heading must be a task."""
        if self.h2 is None:
            return False
        title, _ = split_remark(self.h2.title)
        return title.lower().endswith("tasks") and "example" not in title.lower()

    def current_phase(self) -> Phase | None:
        if self.h2 is None:
            return None
        if self.phase is None:
            title, note = split_remark(self.h2.title)
            self.phase = Phase(title=title, line=self.h2.line, note=note)
            self.plan.phases.append(self.phase)
        return self.phase

    def start_task(self, task_id: str, title_text: str, line: int) -> None:
        parallel = bool(_PARALLEL.search(title_text))
        title = _PARALLEL.sub(" ", title_text).strip()
        if not title:
            self.problem(f"task {task_id} has no title: expected '### {task_id}: Title'", line, "no-title")
            return
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

    def on_line(self, line: Line) -> None:
        if self.checklist is not None:
            if self.checklist.owns(line):
                self.checklist.add(line, self.problems)
                return
            self.checklist = None
        if not line.text:
            return
        if line.opens_item and self.task is None:
            checklist = Checklist.start(line, self.path, self.problems)
            if checklist is not None:
                self.checklist = checklist
                phase = self.current_phase()
                if phase is not None:
                    checklist.task.phase = phase.title
                    phase.tasks.append(checklist.task.id)
                self.plan.tasks.append(checklist.task)
                self.checklist_tasks.append((checklist.task, len(self.plan.phases)))
                return
        if self.task is not None:
            self.task_line(self.task, line)
            return
        self.header_line(line)

    def header_line(self, line: Line) -> None:
        # Front matter such as "**Branch**: `…` | **Date**: … | **Spec**: …" and the integration points.
        if line.depth == 0:
            for part in line.text.split("|"):
                match = _FIELD.match(part.strip())
                if not match:
                    continue
                name, value = match.group("name").strip().lower(), match.group("value").strip()
                if name == "branch" and not self.plan.branch:
                    self.plan.branch = value.strip("`").strip()
                elif name == "date" and not self.plan.date:
                    self.plan.date = value
        if self.h3 is not None and "integration point" in self.h3.title.lower() and line.opens_item:
            arrow = _ARROW.search(line.text)
            if arrow:
                rest = line.text[arrow.end() :].lstrip("*").lstrip(":").strip()
                self.plan.integration_points.append(
                    IntegrationPoint(
                        upstream=arrow.group("up"),
                        downstream=arrow.group("down"),
                        description=rest,
                        line=line.number,
                    )
                )

    def in_fence(self, fence: Fence) -> None:
        if self.h2 is None or "parallel" not in self.h2.title.lower() or "example" not in self.h2.title.lower():
            return
        for number, text in fence.lines:
            match = _TASK_RUN.match(text)
            if not match:
                continue
            ids = ids_in(match.group("ids"))
            if ids:
                section = self.h3.title if self.h3 is not None else self.h2.title
                self.plan.parallel_examples.append(
                    ParallelExample(
                        section=section, tasks=ids, comment=(match.group("comment") or "").strip(), line=number
                    )
                )

    def task_line(self, task: Task, line: Line) -> None:
        text, number = line.text, line.number
        match = None if line.opens_item else _FIELD.match(text)
        if match:
            key = _FIELD_KEYS.get(match.group("name").strip().lower())
            if key is None:
                self.current_field = ""
                return
            self.current_field = key
            if key in task.lines:
                self.problem(f"{task.id} has a second **{match.group('name').strip()}** field", number, "field-twice")
                self.current_field = ""
                return
            task.lines[key] = number
            self.set_field(task, key, match.group("value").strip(), number)
            return
        if line.opens_item and self.current_field in ("description", "checks", "acceptance"):
            if self.current_field == "description":
                task.description.append(text)
            elif self.current_field == "checks":
                self.add_check(task, text, number)
            else:
                task.acceptance = f"{task.acceptance}; {text}" if task.acceptance else text
            return
        if self.current_field == "acceptance" and task.acceptance:
            task.acceptance = f"{task.acceptance} {text}"
        elif self.current_field == "description":
            if line.depth and line.wraps and task.description:
                # A wrapped bullet: its continuation line belongs to the bullet.
                task.description[-1] = f"{task.description[-1]} {text}"
            else:
                task.description.append(text)

    def set_field(self, task: Task, key: str, value: str, line: int) -> None:
        if key == "owners":
            task.owners = parse_owners(value)
            if not task.owners:
                self.problem(f"{task.id} has an empty **Owner** field", line, "empty-owner")
        elif key == "dependencies":
            try:
                task.dependencies = parse_dependencies(value)
            except FieldProblem as problem:
                self.problem(f"{task.id}: {problem.message}", line, problem.code)
        elif key == "files":
            task.files = split_files(value)
        elif key == "description":
            if value:
                task.description.append(value)
        elif key == "acceptance":
            task.acceptance = value
        elif value:
            self.add_check(task, value, line)

    def add_check(self, task: Task, text: str, line: int) -> None:
        try:
            task.checks.append(parse_check(text, line))
        except FieldProblem as problem:
            self.problem(f"{task.id}: {problem.message}", line, problem.code)


def split_remark(title: str) -> tuple[str, str]:
    """``Data Foundation Tasks *(can execute in parallel)*`` → title and remark."""
    match = _REMARK.search(title)
    if not match:
        return title.strip(), ""
    note = match.group("note") if match.group("note") is not None else match.group("note2")
    return title[: match.start()].strip() or title.strip(), (note or "").strip()

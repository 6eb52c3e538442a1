"""spec-kit checklist plans: one ``- [ ] T012 [P] [US1] Do X in path/`` list item per task, with what
belongs to it, and spec-kit's rules.

A task's list item may go on: wrapped lines are its description; nested bullets ``File(s): …``,
``Depends on: …`` and ``Verification: …`` (bold or not) add Files, dependencies and acceptance; other
nested bullets are description. ``- [x]`` marks a task done. Owners are inferred from the paths the task
names (title, wrapped lines and Files); dependencies follow spec-kit's ordering rules (a phase waits for
the phases before it; inside a phase, a task without ``[P]`` waits for the task before it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dacrew.plan.diagnostic import Diagnostic, FieldProblem
from dacrew.plan.fields import TASK_ID, ids_in, parse_dependencies, snippet, split_files, unwrap_id
from dacrew.plan.markdown import Line
from dacrew.plan.model import PARENT, Task

PATH_TOKEN = re.compile(
    r"(?<![\w/.])((?:[\w.*{}\[\]-]+/)+[\w.*{}\[\]-]*|[\w*-]+\.(?:sql|ya?ml|md|py|json|csv|tds|tdsx|twb|twbx|hyper|txt|toml))"
)
_CHECKBOX = re.compile(r"^\[(?P<mark> |x|X)\]\s+(?P<rest>.*)$")
_SPECKIT_TASK = re.compile(rf"^(?P<id>{TASK_ID})\b\s*(?P<rest>.*)$")
_LOOKS_LIKE_TASK = re.compile(r"^(?:T\s*\d|TX+\b|Task\s+#?T?\d)", re.IGNORECASE)
_MARKER = re.compile(r"^\[(?P<label>[^\]\s]+)\]\s*")
_DEPENDS_ON = re.compile(rf"\(\s*depends\s+on\s+(?P<ids>{TASK_ID}(?:\s*(?:,|and|&)?\s*{TASK_ID})*)\s*\)", re.IGNORECASE)
_SUB_FIELD = re.compile(
    r"^(?:\*\*|__)?(?P<name>files?|depends\s+on|dependencies|verification|verify)"
    r"(?:\s*:\s*(?:\*\*|__)|(?:\*\*|__)\s*:|\s*:)\s*(?P<value>.*)$",
    re.IGNORECASE,
)

# Spec-kit owners come from the paths a task names: the first folder that names a specialist's domain.
PATH_OWNERS = {
    "models": "dbt-expert",
    "snowflake": "snowflake-expert",
    "tableau": "tableau-expert",
    "orchestration": "orchestra-expert",
    "documentation": "business-context",
    "training": "business-context",
}


def looks_like_task(text: str) -> bool:
    """Text that starts like a task id (``T0x2``, ``TXXX``, ``Task 3``, also in bold or a code span) but
    may not be one."""
    return bool(_LOOKS_LIKE_TASK.match(text.lstrip("*_`")))


def paths_in(text: str) -> list[str]:
    spans = [s.strip() for s in re.findall(r"`([^`]*)`", text) if "/" in s or "." in s]
    if spans:
        return list(dict.fromkeys(spans))
    return list(dict.fromkeys(m.rstrip(".,;:") for m in PATH_TOKEN.findall(text)))


def owners_from_paths(files: list[str]) -> list[str]:
    owners: list[str] = []
    for path in files:
        for segment in path.split("/"):
            owner = PATH_OWNERS.get(segment.lower())
            if owner:
                if owner not in owners:
                    owners.append(owner)
                break
    return owners or [PARENT]


@dataclass
class Checklist:
    """The task of one checklist item, gathering the lines of its list item."""

    task: Task
    depth: int
    item: int
    path: str
    joinable: bool = False
    """The last line read went to the description, so a wrapped line after it continues that entry."""

    @classmethod
    def start(cls, line: Line, path: str, problems: list[Diagnostic]) -> Checklist | None:
        """The task ``line`` (the first line of a list item) opens; ``None`` when it is no task line. A
        line that looks like a task but does not parse is recorded in ``problems``."""
        checkbox = _CHECKBOX.match(line.text)
        if checkbox is None:
            return None
        rest = unwrap_id(checkbox.group("rest").strip())
        match = _SPECKIT_TASK.match(rest)
        if match is None:
            if looks_like_task(rest):
                problems.append(
                    Diagnostic(
                        "error",
                        f"malformed task line {snippet(rest)}: expected '- [ ] T001 [P] Title'",
                        path,
                        line.number,
                        "malformed-task",
                    )
                )
            return None
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
            problems.append(
                Diagnostic(
                    "error",
                    f"task {task_id} has no description: expected '- [ ] {task_id} [P] Title'",
                    path,
                    line.number,
                    "no-title",
                )
            )
            return None
        explicit = _DEPENDS_ON.search(title)
        files = paths_in(_DEPENDS_ON.sub(" ", title))
        task = Task(
            id=task_id,
            title=title,
            owners=owners_from_paths(files),
            # "(depends on T012, T013)", as spec-kit writes it, adds to the ordering rules.
            dependencies=ids_in(explicit.group("ids")) if explicit else [],
            parallel=parallel,
            files=files,
            line=line.number,
            labels=labels,
            done=checkbox.group("mark") != " ",
        )
        if explicit:
            task.lines["dependencies"] = line.number
        if files:
            task.lines["files"] = line.number
        return cls(task, line.depth, line.item, path)

    def owns(self, line: Line) -> bool:
        """Inside this task's list item: its wrapped lines and anything nested deeper."""
        return line.depth > self.depth or (line.item == self.item and not line.opens_item)

    def add(self, line: Line, problems: list[Diagnostic]) -> None:
        task, text = self.task, line.text
        if not text:
            return
        field = _SUB_FIELD.match(text) if line.opens_item else None
        joins = self.joinable and line.wraps
        self.joinable = field is None
        if field is None:
            if joins:
                task.description[-1] = f"{task.description[-1]} {text}"
            else:
                task.description.append(text)
            if line.item == self.item:
                # A wrapped title line may name the task's paths.
                self.add_files(paths_in(text), line.number)
            return
        name, value = field.group("name").lower(), field.group("value").strip().strip("*").strip()
        if name.startswith("file"):
            self.add_files(split_files(value) if "`" in value or "," in value else [value], line.number)
        elif name.startswith("verif"):
            task.acceptance = f"{task.acceptance}; {value}" if task.acceptance else value
            task.lines.setdefault("acceptance", line.number)
        else:
            try:
                extra = parse_dependencies(value)
            except FieldProblem as problem:
                problems.append(
                    Diagnostic("error", f"{task.id}: {problem.message}", self.path, line.number, problem.code)
                )
                return
            task.dependencies = list(dict.fromkeys([*task.dependencies, *extra]))
            task.lines["dependencies"] = line.number

    def add_files(self, files: list[str], line: int) -> None:
        files = [f for f in files if f and f not in self.task.files]
        if not files:
            return
        self.task.files.extend(files)
        self.task.lines.setdefault("files", line)
        self.task.owners = owners_from_paths(self.task.files)


def speckit_dependencies(tasks: list[tuple[Task, int]]) -> None:
    """Spec-kit's rules: a phase waits for the phases before it; inside a phase, a task without ``[P]``
    waits for the task before it.

    A task depends on the last tasks of the previous phase that nothing else in that phase waits for;
    the earlier phases follow transitively, which keeps the edge count linear for chained phases.
    """
    by_phase: dict[int, list[Task]] = {}
    for task, phase_index in tasks:
        by_phase.setdefault(phase_index, []).append(task)
    previous_sinks: list[str] = []
    for phase_index in sorted(by_phase):
        members = by_phase[phase_index]
        waited_on: set[str] = set()
        for position, task in enumerate(members):
            deps = [*task.dependencies, *previous_sinks]
            if not task.parallel and position > 0:
                before = members[position - 1].id
                deps.append(before)
                waited_on.add(before)
            task.dependencies = list(dict.fromkeys(d for d in deps if d != task.id))
        previous_sinks = [t.id for t in members if t.id not in waited_on]

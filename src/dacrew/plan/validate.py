"""Check what a parsed plan means: ids, dependencies, owners, checks, cycles — each problem located at the
line of the field at fault — and the warnings (placeholders, contradicting examples, overlapping Files)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dacrew.errors import UserError
from dacrew.plan.globs import iter_overlapping_pairs
from dacrew.plan.model import CHECK_KINDS, KNOWN_OWNERS, TABLE_CHECK, PlanNote, Task, TaskPlan, task_sort_key
from dacrew.plan.parse import parse_plan
from dacrew.plan.schedule import find_cycle
from dacrew.plan.source import read_plan_text

# The template's own placeholders, plus any other all-caps bracket (``[NEEDS CLARIFICATION]``);
# ``[P]`` and story labels such as ``[US1]`` are markers, not placeholders.
PLACEHOLDERS = (
    "[FEATURE]",
    "[DATE]",
    "[###-feature-name]",
    "[link]",
    "[COUNT]",
    "[TIMEFRAME]",
    "[LIST]",
    "[TIMESTAMP]",
)
_PLACEHOLDER = re.compile(r"\[(?:" + "|".join(re.escape(p[1:-1]) for p in PLACEHOLDERS) + r"|[A-Z][A-Z_ ]{2,}[A-Z])\]")
_FENCE = ("```", "~~~")
MAX_OVERLAP_WARNINGS = 50


@dataclass(frozen=True)
class Diagnostic:
    severity: Literal["error", "warning"]
    message: str
    path: str
    line: int

    def __str__(self) -> str:
        kind = "warning: " if self.severity == "warning" else ""
        return f"{self.path}:{self.line}: {kind}{self.message}"

    def to_error(self) -> UserError:
        return UserError(self.message, path=self.path, line=self.line)


def compile_plan(
    path: Path, *, strict: bool = False, known_owners: Iterable[str] = ()
) -> tuple[TaskPlan, list[Diagnostic]]:
    """Parse and validate ``path``. Raise a located :class:`UserError` on the first error (or the first
    warning under ``strict``); otherwise return the plan, with integration points added as dependencies,
    and its warnings. ``known_owners`` adds a project's own agents to the shipped ones."""
    text = read_plan_text(path)
    plan = parse_plan(text, str(path))
    diagnostics = validate(plan, known_owners=known_owners, text=text)
    errors = [d for d in diagnostics if d.severity == "error"]
    if errors:
        raise errors[0].to_error()
    if strict and diagnostics:
        raise diagnostics[0].to_error()
    return plan, diagnostics


def validate(plan: TaskPlan, *, known_owners: Iterable[str] = (), text: str | None = None) -> list[Diagnostic]:
    """Every problem of ``plan``: the errors, then the warnings, each ordered by line.

    Integration points missing from the dependencies are added to ``plan`` (with a note) once the ids
    are known to be sound, so that cycles and overlaps are judged on the graph that will run. ``text``,
    the plan's source, is searched for unfilled placeholders.
    """
    path = plan.path or "tasks.md"
    owners = {*KNOWN_OWNERS, *known_owners}
    errors = _structure(plan, path, owners)
    if not errors:
        add_integration_points(plan)
        cycle = find_cycle(plan)
        if cycle:
            first = plan.by_id[cycle[0]]
            errors.append(
                Diagnostic("error", "dependency cycle: " + " → ".join(cycle), path, first.line_of("dependencies"))
            )
    warnings: list[Diagnostic] = []
    if text is not None:
        warnings.extend(_placeholders(text, path))
    if not errors:
        warnings.extend(_contradicting_examples(plan, path))
        warnings.extend(_overlaps(plan, path))
    return sorted([*errors, *warnings], key=lambda d: (d.severity != "error", d.line))


def _structure(plan: TaskPlan, path: str, owners: set[str]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    first_seen: dict[str, Task] = {}
    for task in plan.tasks:
        if task.id in first_seen:
            out.append(
                Diagnostic(
                    "error",
                    f"duplicate task id {task.id} (first defined at line {first_seen[task.id].line})",
                    path,
                    task.line,
                )
            )
        else:
            first_seen[task.id] = task
    for task in plan.tasks:
        out.extend(_task_problems(task, plan, path, owners, first_seen))
    for point in plan.integration_points:
        for task_id in (point.upstream, point.downstream):
            if task_id not in first_seen:
                out.append(Diagnostic("error", f"integration point names unknown task {task_id}", path, point.line))
        if point.upstream == point.downstream:
            out.append(Diagnostic("error", f"integration point {point.upstream} → itself", path, point.line))
    return sorted(out, key=lambda d: d.line)


def _task_problems(task: Task, plan: TaskPlan, path: str, owners: set[str], known: dict[str, Task]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if not task.owners:
        out.append(Diagnostic("error", f"{task.id} has no **Owner** (e.g. 'dbt-expert')", path, task.line))
    for owner in task.owners:
        if owner not in owners:
            out.append(Diagnostic("error", _unknown_owner(owner, owners), path, task.line_of("owners")))
    for dep in task.dependencies:
        if dep == task.id:
            out.append(Diagnostic("error", f"{task.id} depends on itself", path, task.line_of("dependencies")))
        elif dep not in known:
            out.append(
                Diagnostic("error", f"{task.id} depends on unknown task {dep}", path, task.line_of("dependencies"))
            )
    if plan.format == "template" and not task.acceptance:
        out.append(Diagnostic("error", f"{task.id} has no **Acceptance** criteria", path, task.line))
    for check in task.checks:
        if check.kind not in CHECK_KINDS:
            hint = difflib.get_close_matches(check.kind, CHECK_KINDS, n=1)
            suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (known: {', '.join(CHECK_KINDS)})"
            out.append(
                Diagnostic("error", f"{task.id}: unknown check kind {check.kind!r}{suggestion}", path, check.line)
            )
        elif check.kind == "table" and not TABLE_CHECK.match(check.argument.strip()):
            out.append(
                Diagnostic(
                    "error",
                    f"{task.id}: a table check reads '<relation> matches <file.csv> [ordered] [within <tolerance>]'",
                    path,
                    check.line,
                )
            )
    return out


def _unknown_owner(owner: str, owners: set[str]) -> str:
    ordered = sorted(owners)
    by_lower = {o.lower(): o for o in ordered}
    close = difflib.get_close_matches(owner.lower(), list(by_lower), n=1, cutoff=0.6)
    if close:
        return f"unknown owner {owner!r} (did you mean {by_lower[close[0]]!r}?)"
    return f"unknown owner {owner!r} (known: {', '.join(ordered)})"


def add_integration_points(plan: TaskPlan) -> None:
    """An integration point ``T011 → T013`` is a dependency of T013 on T011; add the missing ones."""
    known = plan.by_id
    for point in plan.integration_points:
        downstream = known.get(point.downstream)
        if downstream is None or point.upstream not in known or point.upstream in downstream.dependencies:
            continue
        downstream.dependencies.append(point.upstream)
        plan.notes.append(
            PlanNote(
                message=f"{point.downstream} now depends on {point.upstream}: the integration point "
                f"{point.upstream} → {point.downstream} says so",
                line=point.line,
            )
        )


def _placeholders(text: str, path: str) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    fenced = False
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip().startswith(_FENCE):
            fenced = not fenced
            continue
        if fenced:
            continue
        found = list(dict.fromkeys(_PLACEHOLDER.findall(line)))
        if found:
            what = ", ".join(found)
            out.append(
                Diagnostic(
                    "warning", f"unfilled template placeholder{'s' if len(found) > 1 else ''} {what}", path, number
                )
            )
    return out


class _Reach:
    """Transitive "depends on" queries, memoised per source (few are asked: only suspicious pairs)."""

    def __init__(self, plan: TaskPlan) -> None:
        self.known = plan.by_id
        self.cache: dict[str, set[str]] = {}

    def ancestors(self, task_id: str) -> set[str]:
        found = self.cache.get(task_id)
        if found is None:
            found = set[str]()
            stack = list(self.known[task_id].dependencies)
            while stack:
                current = stack.pop()
                if current in found or current not in self.known:
                    continue
                found.add(current)
                stack.extend(self.known[current].dependencies)
            self.cache[task_id] = found
        return found

    def related(self, a: str, b: str) -> bool:
        return a in self.ancestors(b) or b in self.ancestors(a)


def _contradicting_examples(plan: TaskPlan, path: str) -> list[Diagnostic]:
    reach = _Reach(plan)
    out: list[Diagnostic] = []
    for example in plan.parallel_examples:
        ids = list(dict.fromkeys(example.tasks))
        unknown = [t for t in ids if t not in reach.known]
        if unknown:
            out.append(Diagnostic("warning", f"parallel example names unknown task {unknown[0]}", path, example.line))
        ids = [t for t in ids if t in reach.known]
        clashes: list[str] = []
        for i, first in enumerate(ids):
            for second in ids[i + 1 :]:
                if first in reach.ancestors(second):
                    clashes.append(f"{second} depends on {first}")
                elif second in reach.ancestors(first):
                    clashes.append(f"{first} depends on {second}")
        if clashes:
            together = ", ".join(ids)
            out.append(
                Diagnostic(
                    "warning",
                    f"parallel example runs {together} together, but {'; '.join(clashes)}",
                    path,
                    example.line,
                )
            )
    return out


def _overlaps(plan: TaskPlan, path: str) -> list[Diagnostic]:
    parallel = [t for t in plan.tasks if t.parallel]
    reach = _Reach(plan)
    known = plan.by_id
    pairs: list[tuple[str, str]] = []
    more = False
    for a, b in iter_overlapping_pairs(parallel):
        if reach.related(a, b):
            continue
        if len(pairs) == MAX_OVERLAP_WARNINGS:
            # Hundreds of tasks writing one folder would otherwise mean a warning for every pair.
            more = True
            break
        pairs.append((a, b))
    pairs.sort(key=lambda p: (task_sort_key(p[1]), task_sort_key(p[0])))
    out = [
        Diagnostic(
            "warning",
            f"[P] tasks {a} and {b} write overlapping Files; they will not run at the same time",
            path,
            known[b].line_of("files"),
        )
        for a, b in pairs
    ]
    if more:
        last = known[pairs[-1][1]]
        out.append(
            Diagnostic(
                "warning",
                f"more [P] tasks write overlapping Files; only the first {MAX_OVERLAP_WARNINGS} pairs are listed",
                path,
                last.line_of("files"),
            )
        )
    return out

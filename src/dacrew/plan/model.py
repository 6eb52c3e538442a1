"""The task plan as data: what ``tasks.md`` says, with the source line of every field.

JSON shape (a stable surface): ``feature``, ``phases``, ``tasks[]`` with ``id, title, phase, owners[],
dependencies[], parallel, files[], description[], acceptance, checks[], line``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

KNOWN_OWNERS = (
    "Parent Agent",
    "Sub-Agents",
    "dbt-expert",
    "snowflake-expert",
    "tableau-expert",
    "orchestra-expert",
    "business-context",
)
SPECIALISTS = KNOWN_OWNERS[2:]
PARENT = "Parent Agent"
SUB_AGENTS = "Sub-Agents"
CHECK_KINDS = ("dbt", "sql", "table", "file", "tableau", "orchestra", "finding")
TABLE_CHECK = re.compile(
    r"^(?P<relation>[A-Za-z_][\w$]*(?:\.[A-Za-z_][\w$]*){0,2})\s+matches\s+`?(?P<file>[^\s`]+\.csv)`?"
    r"(?P<options>(?:\s+(?:ordered|within\s+\d+(?:\.\d+)?(?:[eE][-+]?\d+)?%?))*)\s*$",
    re.IGNORECASE,
)
"""The argument of a ``table`` check: ``<relation> matches <file.csv> [ordered] [within <tolerance>[%]]``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Check(_Model):
    """One executable acceptance check, ``kind: argument`` (kinds: dbt, sql, table, file, tableau, orchestra,
    finding)."""

    kind: str
    argument: str
    line: int = 0


class Task(_Model):
    id: str
    title: str
    phase: str = ""
    owners: list[str] = Field(default_factory=list[str])
    dependencies: list[str] = Field(default_factory=list[str])
    parallel: bool = False
    files: list[str] = Field(default_factory=list[str])
    description: list[str] = Field(default_factory=list[str])
    acceptance: str = ""
    checks: list[Check] = Field(default_factory=list[Check])
    line: int = 0
    lines: dict[str, int] = Field(default_factory=dict[str, int])
    """The line of each field as written (``owners``, ``dependencies``, ``files``, …)."""
    labels: list[str] = Field(default_factory=list[str])
    """Spec-kit story labels such as ``US1``."""

    @property
    def lead(self) -> str:
        """The first owner leads and may delegate to the others."""
        return self.owners[0] if self.owners else PARENT

    def line_of(self, field: str) -> int:
        return self.lines.get(field, self.line)


class Phase(_Model):
    title: str
    line: int = 0
    note: str = ""
    """The heading's remark, e.g. ``can execute in parallel``."""
    tasks: list[str] = Field(default_factory=list[str])


class IntegrationPoint(_Model):
    upstream: str
    downstream: str
    description: str = ""
    line: int = 0


class ParallelExample(_Model):
    """One ``Task run T009 T010`` line of the parallel-examples section: tasks said to run together."""

    section: str
    tasks: list[str]
    comment: str = ""
    line: int = 0


class PlanNote(_Model):
    message: str
    line: int = 0


class TaskPlan(_Model):
    path: str = ""
    format: Literal["template", "speckit"] = "template"
    feature: str = ""
    branch: str = ""
    date: str = ""
    phases: list[Phase] = Field(default_factory=list[Phase])
    tasks: list[Task] = Field(default_factory=list[Task])
    integration_points: list[IntegrationPoint] = Field(default_factory=list[IntegrationPoint])
    parallel_examples: list[ParallelExample] = Field(default_factory=list[ParallelExample])
    notes: list[PlanNote] = Field(default_factory=list[PlanNote])
    """What the compiler did on the plan's behalf (e.g. an integration point added as a dependency)."""

    # The scheduler looks tasks up on every admission; rebuilding a dict each time would make a
    # 20,000-task run quadratic. The cache is keyed on the list's identity and length.
    _index: dict[str, Task] = PrivateAttr(default_factory=dict[str, Task])
    _index_key: tuple[int, int] = PrivateAttr(default=(0, -1))

    def task(self, task_id: str) -> Task:
        return self.by_id[task_id]

    @property
    def by_id(self) -> dict[str, Task]:
        key = (id(self.tasks), len(self.tasks))
        if key != self._index_key:
            index: dict[str, Task] = {}
            for t in self.tasks:
                index.setdefault(t.id, t)
            self._index = index
            self._index_key = key
        return self._index


_CHUNKS = re.compile(r"(\d+)")


@lru_cache(maxsize=1 << 17)
def task_sort_key(task_id: str) -> tuple[tuple[int, int, str], ...]:
    """Natural order of task ids: ``T2 < T10``; ``T002`` and ``T2`` differ only in the last place."""
    parts = tuple((0, int(c), "") if c.isdigit() else (1, 0, c) for c in _CHUNKS.split(task_id) if c)
    return (*parts, (2, 0, task_id))

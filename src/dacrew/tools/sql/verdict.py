"""The SQL guard's verdict on one statement, and the shapes of its callbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Permission = Literal["read", "write", "ddl"]
Dialect = Literal["duckdb", "snowflake"]
Exists = Callable[[str, str], bool]
"""``exists(kind, name)``: whether an object of that kind (TABLE, VIEW, SCHEMA…) exists."""
Created = Callable[[str], bool]
"""``created(name)``: whether this run (for ``tools call``: this call) created the relation — its write scope."""


@dataclass(frozen=True)
class Verdict:
    """What the guard concluded about one statement."""

    statement: str
    """The statement's kind, upper case (SELECT, INSERT, DROP, ALTER…)."""
    needs: Permission = "read"
    refused: str = ""
    """The rule that refuses it whatever the caller holds ('' when not refused)."""
    approval: str = ""
    """The rule that holds it for a person's approval ('' when none)."""
    reason: str = ""
    objects: tuple[str, ...] = field(default_factory=tuple[str, ...])
    """Tables or objects the statement creates, changes or removes."""
    notes: tuple[str, ...] = field(default_factory=tuple[str, ...])
    """Extra lines for an approval message: what the statement does to data (every row, a rewritten column…)."""
    creates: tuple[str, ...] = field(default_factory=tuple[str, ...])
    """Relations the statement creates: in the run's write scope once it has run."""
    rewrites: bool = False
    """DDL that rewrites or renames data (a type change, a column rename or drop): needs ``write`` as well."""

    @property
    def is_read(self) -> bool:
        return self.needs == "read" and not self.refused

    @property
    def required(self) -> tuple[Permission, ...]:
        """Every permission a caller must hold: ``needs``, and ``write`` too for DDL that rewrites data."""
        return (self.needs, "write") if self.rewrites and self.needs != "write" else (self.needs,)


SEVERITY: dict[str, int] = {"read": 0, "write": 1, "ddl": 2}


def strictest(a: Permission, b: Permission) -> Permission:
    """The more powerful of two permissions (read < write < ddl)."""
    return a if SEVERITY[a] >= SEVERITY[b] else b

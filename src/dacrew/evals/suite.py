"""Suites on disk: ``evals/<suite>/suite.yml``, typed.

```yaml
name: offline
source: scripted                 # scripted | recorded | live: where the cases' model turns come from
replay: model                    # model (tools run for real) | full (tool results from the cassettes)
thresholds: {pass_rate: 0.0, tokens: 0.10, usd: 0.10, seconds: 0.50}   # allowed regression vs a baseline
budget: {tokens: 200000, usd: 1.0, seconds: 120}                      # every case's default budget
cases:
  - name: staging
    project: projects/shop       # copied to a fresh folder for each run of the case
    plan: tasks.md               # relative to the project
    task: T002                   # optional: only this task, as a one-task plan
    cassette: cassettes/staging.jsonl    # or  model: anthropic:claude-sonnet-5-5
    scorers:
      - check: "sql: select count(*) = 3 from analytics.stg_customers"
      - table: analytics.dim_customer matches expected/dim_customer.csv
      - tool_called: dbt_build
      - max_tool_calls: 8
```

Paths in the suite are relative to the suite's folder; paths in checks are relative to the project.
Anything wrong is a :class:`UserError` naming the file and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dacrew.errors import UserError

SUITE_FILE = "suite.yml"
TRAJECTORY = ("tool_called", "tool_not_called", "max_tool_calls", "max_turns", "guard_stopped")
FLAGS = ("no_guard_refusal", "no_unverified")


class Budget(BaseModel):
    """Limits of one run of a case: tokens (input + output), USD, wall-clock seconds."""

    model_config = ConfigDict(extra="forbid")

    tokens: int | None = Field(default=None, ge=0)
    usd: float | None = Field(default=None, ge=0)
    seconds: float | None = Field(default=None, gt=0)


class Thresholds(BaseModel):
    """How far a run may fall behind its baseline before it is a regression: ``pass_rate`` in points
    (0.05 = five percentage points), the others as fractions of the baseline (0.10 = 10 % more)."""

    model_config = ConfigDict(extra="forbid")

    pass_rate: float = Field(default=0.0, ge=0, le=1)
    tokens: float = Field(default=0.10, ge=0)
    usd: float = Field(default=0.10, ge=0)
    seconds: float = Field(default=0.50, ge=0)


class Scorer(BaseModel):
    """One scorer: exactly one of its keys. ``check`` is any plan check (``kind: argument``); ``table``
    is the ``table`` check; ``task`` names the task a ``finding`` check reads (default: the case's)."""

    model_config = ConfigDict(extra="forbid")

    check: str | None = None
    table: str | None = None
    task: str | None = None
    tool_called: str | None = None
    tool_not_called: str | None = None
    max_tool_calls: int | None = Field(default=None, ge=0)
    max_turns: int | None = Field(default=None, ge=0)
    guard_stopped: str | None = None
    """Every call of this tool was refused or denied by a guard (and there was at least one)."""
    no_guard_refusal: bool | None = None
    no_unverified: bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Scorer:
        kinds = [k for k in ("check", "table", *TRAJECTORY, *FLAGS) if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "a scorer has exactly one of: check, table, "
                + ", ".join((*TRAJECTORY, *FLAGS))
                + f" (got {kinds or 'none'})"
            )
        if self.check is not None and ":" not in self.check:
            raise ValueError(f"a check is 'kind: argument', got {self.check!r}")
        return self

    @property
    def kind(self) -> str:
        for name in ("check", "table", *TRAJECTORY, *FLAGS):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated")

    @property
    def label(self) -> str:
        value = getattr(self, self.kind)
        return self.kind if value is True else f"{self.kind}: {value}"

    def check_spec(self) -> tuple[str, str] | None:
        """The plan check this scorer runs, as (kind, argument); None for trajectory scorers."""
        if self.check is not None:
            kind, _, argument = self.check.partition(":")
            return kind.strip().lower(), argument.strip()
        if self.table is not None:
            return "table", self.table.strip()
        return None


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    project: str
    plan: str = "tasks.md"
    task: str | None = None
    cassette: str | None = None
    model: str | None = None
    replay: Literal["model", "full"] | None = None
    """Pin the case to one replay mode (default: the suite's, or the command's ``--replay``)."""
    seal: bool = True
    """``eval seal`` rewrites this case's cassette (off for a cassette maintained elsewhere)."""
    expect_drift: bool = False
    """The cassette is known to have drifted: under ``--strict`` the case must fail on drift."""
    expect_exit: int = 0
    scoring_files: str | None = None
    """A folder copied over the project after the run, before scoring: answers the agent must not see
    (an imported ADE-bench task's solution seeds and tests)."""
    scoring_build: str | None = None
    """A dbt selection built into the case's copy after the scoring files, before scoring (an imported
    ADE-bench task's solution seeds)."""
    scorers: list[Scorer] = Field(default_factory=list[Scorer])
    budget: Budget | None = None

    @model_validator(mode="after")
    def _one_model(self) -> Case:
        if (self.cassette is None) == (self.model is None):
            raise ValueError("a case has either a cassette or a model")
        return self


class Suite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    source: Literal["scripted", "recorded", "live"] = "scripted"
    replay: Literal["model", "full"] = "model"
    thresholds: Thresholds = Field(default_factory=Thresholds)
    budget: Budget = Field(default_factory=Budget)
    cases: list[Case] = Field(min_length=1)
    root: Path = Field(default=Path("."), exclude=True)
    """The suite's folder (set when loaded)."""

    @field_validator("cases")
    @classmethod
    def _unique(cls, cases: list[Case]) -> list[Case]:
        seen: set[str] = set()
        for case in cases:
            if case.name in seen:
                raise ValueError(f"two cases are named {case.name!r}")
            seen.add(case.name)
        return cases

    def case(self, name: str) -> Case:
        for case in self.cases:
            if case.name == name:
                return case
        raise UserError(f"suite {self.name!r} has no case {name!r} (cases: {', '.join(c.name for c in self.cases)})")

    def path(self, relative: str) -> Path:
        p = Path(relative).expanduser()
        return p if p.is_absolute() else (self.root / p).resolve()

    def budget_of(self, case: Case) -> Budget:
        if case.budget is None:
            return self.budget
        merged = self.budget.model_dump() | case.budget.model_dump(exclude_none=True)
        return Budget.model_validate(merged)


def suite_file(target: Path) -> Path:
    return target / SUITE_FILE if target.is_dir() else target


def load_suite(target: Path | str) -> Suite:
    """Read ``suite.yml`` (or the folder holding it); errors name the file and line."""
    import yaml

    path = suite_file(Path(target))
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("no suite here (expected a folder with suite.yml, or the file itself)", path=shown) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the suite: {exc}", path=shown) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise UserError(f"not valid YAML: {getattr(exc, 'problem', exc)}", path=shown, line=line) from None
    if not isinstance(data, dict):
        raise UserError("a suite is a mapping with name and cases", path=shown, line=1)
    try:
        suite = Suite.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if not (isinstance(p, str) and p[0].isupper())]
        where = ".".join(str(p) for p in loc) or "(suite)"
        message = err["msg"].removeprefix("Value error, ")
        raise UserError(f"{where}: {message}", path=shown, line=_line_of(node, loc)) from None
    suite.root = path.parent.resolve()
    for case in suite.cases:
        if not suite.path(case.project).is_dir():
            raise UserError(f"case {case.name}: project folder {case.project} does not exist", path=shown)
    return suite


def _line_of(node: Any, loc: list[Any]) -> int | None:
    """The line of the YAML node at ``loc`` (or of its closest existing parent)."""
    import yaml

    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line

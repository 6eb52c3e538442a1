"""One task's finding: YAML front matter (who, what state, when, checks, usage) and six markdown
sections, in the analytics template's handoff protocol.

``render`` and ``parse`` are inverses for every finding; ``parse`` also accepts hand-edited files
(extra sections are kept, unquoted timestamps are read back as text).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dacrew.errors import UserError

Status = Literal["pending", "in_progress", "verifying", "completed", "failed", "needs_input", "skipped"]
STATUSES: tuple[str, ...] = get_args(Status)
FINAL_STATUSES: tuple[str, ...] = ("completed", "failed", "needs_input", "skipped")

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Summary"),
    ("implementation_details", "Implementation Details"),
    ("integration_points", "Integration Points"),
    ("testing_strategy", "Testing Strategy"),
    ("risks_and_dependencies", "Risks and Dependencies"),
    ("next_steps", "Next Steps"),
)
_SECTION_BY_TITLE = {title.lower(): key for key, title in SECTIONS}
_FRONT_MATTER_KEYS = (
    "task",
    "title",
    "owner",
    "status",
    "attempt",
    "started",
    "finished",
    "depends_on",
    "artifacts",
    "checks",
    "usage",
    "run_id",
)


# libyaml's C loader and dumper are safe and ~10x faster; findings are read on every handoff.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def now_iso() -> str:
    """Now, as ISO-8601 in UTC with milliseconds: ``2026-11-28T13:04:05.123+00:00``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


Outcome = Literal["passed", "failed", "unverified"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)


class CheckResult(BaseModel):
    """One acceptance check and what it gave.

    ``outcome`` is ``passed``, ``failed`` or ``unverified`` (the check could not be run to a verdict —
    no server configured, nothing to compare with —, ``output`` says why). ``passed`` is True exactly
    when the outcome is ``passed``; a result written before outcomes existed (``passed`` alone) reads
    as ``passed`` or ``failed``.
    """

    model_config = ConfigDict(extra="forbid")

    kind: str
    argument: str = ""
    passed: bool = False
    output: str = ""
    outcome: Outcome = "failed"

    @model_validator(mode="before")
    @classmethod
    def _outcome_from_passed(cls, data: Any) -> Any:
        if isinstance(data, dict):
            values = dict(cast(dict[str, Any], data))
            if values.get("outcome") is None:
                values["outcome"] = "passed" if values.get("passed") else "failed"
            values["passed"] = values["outcome"] == "passed"
            return values
        return data

    @property
    def unverified(self) -> bool:
        return self.outcome == "unverified"


class Usage(BaseModel):
    """Tokens and cost. ``input_tokens`` counts every input token, cached ones included
    (LangChain's convention); ``cache_read_tokens`` and ``cache_write_tokens`` say how many of them
    were read from or written to the prompt cache."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    usd: float = 0.0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            usd=round(self.usd + other.usd, 6),
        )

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


class Finding(BaseModel):
    """The finding of one task: front matter fields, then the six sections of the handoff protocol."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    task: str
    title: str = ""
    owner: str = ""
    status: Status = "pending"
    attempt: int = Field(default=1, ge=1)
    started: str | None = None
    finished: str | None = None
    depends_on: list[str] = Field(default_factory=list[str])
    artifacts: list[str] = Field(default_factory=list[str])
    checks: list[CheckResult] = Field(default_factory=list[CheckResult])
    usage: Usage = Field(default_factory=Usage)
    run_id: str | None = None

    summary: str = ""
    implementation_details: str = ""
    integration_points: str = ""
    testing_strategy: str = ""
    risks_and_dependencies: str = ""
    next_steps: str = ""
    extra_sections: dict[str, str] = Field(default_factory=dict[str, str])
    """Sections beyond the six (a person may add them); kept in order after Next Steps."""

    @field_validator("started", "finished", mode="before")
    @classmethod
    def _timestamp_text(cls, value: object) -> object:
        # An unquoted timestamp in a hand-edited file loads as a datetime; keep the text form.
        if isinstance(value, datetime):
            return value.isoformat(timespec="milliseconds")
        return value

    @field_validator(*(key for key, _ in SECTIONS), mode="after")
    @classmethod
    def _section_text(cls, value: str) -> str:
        # What a file can hold: no surrounding blank space, "\n" line ends.
        return "\n".join(value.strip().splitlines())

    def section(self, title: str) -> str:
        """The text of a section by its heading (``"Next Steps"``), or ``""``."""
        key = _SECTION_BY_TITLE.get(title.strip().lower())
        if key is not None:
            return cast(str, getattr(self, key))
        return self.extra_sections.get(title.strip(), "")


def _demote_headings(text: str) -> str:
    # A "## " line inside a section would start a new section on parse: push it one level down.
    out: list[str] = []
    fenced = False
    for line in text.strip().splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        out.append("#" + line if not fenced and line.startswith("## ") else line)
    return "\n".join(out)


def render(finding: Finding) -> str:
    """The finding as markdown: front matter between ``---`` lines, a title, then the sections."""
    data = finding.model_dump(include=set(_FRONT_MATTER_KEYS))
    head = yaml.dump(  # pyright: ignore[reportUnknownMemberType]
        {key: data[key] for key in _FRONT_MATTER_KEYS},
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1000,
        Dumper=_Dumper,
    )
    parts = [
        f"---\n{head}---\n",
        (f"# {finding.task}: {finding.title}" if finding.title else f"# {finding.task}") + "\n",
    ]
    bodies = [(title, cast(str, getattr(finding, key))) for key, title in SECTIONS]
    bodies += list(finding.extra_sections.items())
    for title, body in bodies:
        text = _demote_headings(body)
        parts.append(f"## {title}\n\n{text}\n" if text else f"## {title}\n")
    return "\n".join(parts)


def _split_front_matter(text: str, path: str) -> tuple[str, list[str], int]:
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise UserError("a finding starts with YAML front matter between --- lines", path=path, line=1)
    for index in range(1, len(lines)):
        if lines[index].rstrip() == "---":
            return "\n".join(lines[1:index]), lines[index + 1 :], index + 2
    raise UserError("front matter is not closed with a --- line (a truncated file?)", path=path, line=1)


def _sections(lines: list[str]) -> dict[str, str]:
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in lines:
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not fenced and line.startswith("## "):
            current = found.setdefault(line[3:].strip(), [])
            continue
        if current is not None:
            current.append(line)
    return {title: "\n".join(body).strip() for title, body in found.items()}


def parse(text: str, path: str = "<finding>") -> Finding:
    """Read a finding file; a broken one raises :class:`UserError` located at its line."""
    head, body, _ = _split_front_matter(text, path)
    try:
        meta = yaml.load(head, Loader=_Loader)
    except yaml.YAMLError:
        meta = None  # libyaml marks errors a line late: let the pure-Python loader locate them
    try:
        if meta is None:
            meta = yaml.load(head, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 2 if mark else 1
        raise UserError(f"invalid front matter: {exc.problem or exc}", path=path, line=line) from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid front matter: {exc}", path=path, line=1) from None
    if not isinstance(meta, dict):
        raise UserError("front matter must be a mapping (task:, status:, …)", path=path, line=2)
    fields: dict[str, Any] = {str(k): v for k, v in cast(dict[Any, Any], meta).items()}
    unknown = sorted(set(fields) - set(_FRONT_MATTER_KEYS))
    if unknown:
        raise UserError(f"unknown front matter key {unknown[0]!r}", path=path, line=_key_line(head, unknown[0]))
    extra: dict[str, str] = {}
    for title, content in _sections(body).items():
        key = _SECTION_BY_TITLE.get(title.lower())
        if key is None:
            extra[title] = content
        else:
            fields[key] = content
    try:
        return Finding(**fields, extra_sections=extra)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        top = str(err["loc"][0]) if err["loc"] else ""
        raise UserError(f"{loc}: {err['msg']}", path=path, line=_key_line(head, top)) from None


def _key_line(head: str, key: str) -> int:
    match = re.search(rf"^{re.escape(key)}\s*:", head, flags=re.MULTILINE)
    return head[: match.start()].count("\n") + 2 if match else 1

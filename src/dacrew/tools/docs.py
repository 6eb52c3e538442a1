"""business-context's toolset: find and read the project's spec, plan and docs; write user guides,
troubleshooting pages and training material under ``documentation/`` and ``training/``; record a
stakeholder's sign-off so it lands in the task's finding and in ``documentation/sign-off.md``.

Reads follow the files toolset's rules (no absolute paths, no ``..``, no symlink out of the project, no
secrets file); writes follow ``files_write``'s (only inside the task's Files, never without a task).
:func:`readable_file` and :func:`writable_file` are those checks for every tool of these toolsets that
takes a path or writes a file.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Literal

from pydantic import BaseModel, Field

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.files import PROTECTED_DIRS, PROTECTED_FILES, is_secret, resolve

DOC_SUFFIXES = {".md", ".markdown", ".txt", ".rst"}
DOC_ROOTS = ("docs", "documentation", "training", "specs")
TOP_LEVEL_DOCS = ("spec.md", "tasks.md", "README.md", "plan.md", "requirements.md")
SIGNOFF_FILE = "documentation/sign-off.md"
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9\-_]*$")
_HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_PLACEHOLDER_RE = re.compile(r"\[(?:FEATURE|DATE|TODO|TBD|NAME|[A-Z_]{3,})\]|\bTODO\b|\bTBD\b|\{\{[^}]*\}\}")
MAX_READ_CHARS = 60_000


def readable_file(ctx: ToolContext, path: str, *, tool_name: str) -> tuple[Path, str]:
    """``(resolved path, project-relative path)`` of a file a tool reads: the files sandbox's read checks
    (absolute paths, ``..``, symlinks out of the project and secrets files are refused)."""
    return resolve(ctx, path, tool_name=tool_name)


def writable_file(ctx: ToolContext, path: str, *, tool_name: str) -> Path:
    """The resolved path of a file a tool writes, under ``files_write``'s rules: the read checks, then
    only inside the task's Files (judged on the resolved path, so no symlink leads elsewhere), never in
    a protected folder, and never without a task."""
    target, rel = resolve(ctx, path, tool_name=tool_name)
    if not ctx.files:
        raise GuardRefused(
            f"{tool_name}: writes happen only inside a task's Files, and this call has no task", rule="no_task"
        )
    parts = PurePosixPath(rel).parts
    if rel == "." or parts[0] in PROTECTED_DIRS or any(p in {".git", "dbt_packages"} for p in parts):
        raise GuardRefused(f"{tool_name}: {rel} is inside a folder these tools never write", rule="protected")
    named = any(f.strip().strip("`").removeprefix("./") == rel for f in ctx.files)
    if parts[-1].lower() in PROTECTED_FILES and not named:
        raise GuardRefused(
            f"{tool_name}: {rel} is project configuration: only a task whose Files name it may write it",
            rule="protected",
        )
    if not ctx.may_write(rel):
        raise GuardRefused(
            f"{tool_name}: {rel} is outside this task's Files ({', '.join(ctx.files)})", rule="outside_task_files"
        )
    if target.is_dir():
        raise ToolError(f"{rel} is a folder")
    return target


def _title(text: str, fallback: str) -> str:
    for line in text.splitlines():
        m = _HEADING_RE.match(line)
        if m:
            return m[2]
    return fallback


def _sections(text: str) -> list[tuple[int, str, int]]:
    """(level, heading, line index) of every markdown heading outside code fences."""
    found: list[tuple[int, str, int]] = []
    fenced = False
    for i, line in enumerate(text.splitlines()):
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        m = None if fenced else _HEADING_RE.match(line)
        if m:
            found.append((len(m[1]), m[2], i))
    return found


# -- list ------------------------------------------------------------------------------------------
class DocsListArgs(ToolArgs):
    pass


class DocInfo(BaseModel):
    path: str
    title: str
    lines: int


class DocsListResult(ToolResult):
    documents: list[DocInfo]


@tool("docs")
def docs_list(ctx: ToolContext, args: DocsListArgs) -> DocsListResult:
    """List the project's documents (spec, plan, README, docs) with their titles.

    Covers spec.md, tasks.md, README.md and the markdown under docs/, documentation/, training/, specs/.
    """
    root = ctx.project_dir.resolve()
    paths = [root / name for name in TOP_LEVEL_DOCS if (root / name).is_file()]
    for folder in DOC_ROOTS:
        if (root / folder).is_dir():
            paths += sorted(p for p in (root / folder).rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)
    docs: list[DocInfo] = []
    for path in paths:
        rel = path.relative_to(root).as_posix()
        resolved = path.resolve()
        if not resolved.is_relative_to(root) or is_secret(rel) or is_secret(resolved.relative_to(root).as_posix()):
            continue  # a symlink out of the project, or a secrets file
        text = path.read_text(encoding="utf-8", errors="replace")
        docs.append(DocInfo(path=rel, title=_title(text, rel), lines=text.count("\n") + 1))
    return DocsListResult(documents=docs)


# -- read ------------------------------------------------------------------------------------------
class DocsReadArgs(ToolArgs):
    path: str = Field(description="A document in the project, e.g. spec.md or docs/metrics.md.")
    section: str | None = Field(
        default=None, description="Only this section (a heading's text, case-insensitive), with its subsections."
    )


class DocsReadResult(ToolResult):
    path: str
    title: str
    headings: list[str]
    content: str
    truncated: bool = False


@tool("docs")
def docs_read(ctx: ToolContext, args: DocsReadArgs) -> DocsReadResult:
    """Read a project document (markdown or text), whole or one section by its heading.

    The result lists the document's headings so you can ask for the section you need.
    """
    path, _ = readable_file(ctx, args.path, tool_name="docs_read")
    if path.suffix.lower() not in DOC_SUFFIXES:
        raise ToolError(f"{args.path}: docs_read reads documents ({', '.join(sorted(DOC_SUFFIXES))}); use files_read")
    if not path.is_file():
        raise ToolError(f"{args.path}: no such document; docs_list shows them")
    text = path.read_text(encoding="utf-8", errors="replace")
    sections = _sections(text)
    content = text
    if args.section is not None:
        wanted = args.section.strip().lstrip("#").strip().lower()
        match = next(((lvl, i) for lvl, h, i in sections if h.lower() == wanted), None)
        if match is None:
            names = ", ".join(h for _, h, _ in sections) or "none"
            raise ToolError(f"{args.path} has no section {args.section!r} (headings: {names})")
        level, start = match
        end = next((i for lvl, _, i in sections if i > start and lvl <= level), None)
        lines = text.splitlines()
        content = "\n".join(lines[start:end])
    truncated = len(content) > MAX_READ_CHARS
    return DocsReadResult(
        path=args.path,
        title=_title(text, args.path),
        headings=[("#" * lvl) + " " + h for lvl, h, _ in sections],
        content=content[:MAX_READ_CHARS],
        truncated=truncated,
    )


# -- write -----------------------------------------------------------------------------------------
DocKind = Literal["user_guide", "troubleshooting", "reference", "training"]


class DocsWriteArgs(ToolArgs):
    kind: DocKind = Field(
        description="user_guide, troubleshooting and reference go to documentation/; training to training/."
    )
    slug: str = Field(description="File name without .md, lowercase with - or _, e.g. customer-ltv-dashboard.")
    title: str
    content: str = Field(description="The markdown body (without the title heading).")
    audience: str = Field(default="", description="Who it is for, e.g. 'finance analysts', shown under the title.")


class DocsWriteResult(ToolResult):
    path: str
    lines: int
    warnings: list[str] = Field(default_factory=list[str])


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``path`` whole through a fresh temporary file beside it and a rename: a reader never sees
    half a file, and no file that happens to sit at a fixed temporary name is followed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@tool("docs", read_only=False, idempotent=True)
def docs_write(ctx: ToolContext, args: DocsWriteArgs) -> DocsWriteResult:
    """Write a user guide, troubleshooting page, reference or training material as markdown.

    user_guide, troubleshooting and reference go to documentation/<slug>.md, training to
    training/<slug>.md; an existing file is replaced. Warnings flag unfilled placeholders (TODO, TBD,
    [FEATURE], {{…}}) and a troubleshooting page without symptom/cause/fix structure.
    """
    if not _SLUG_RE.match(args.slug):
        raise ToolError(f"{args.slug!r}: a slug is lowercase letters, digits, - and _ only")
    body = args.content.strip()
    if not body:
        raise ToolError("the document has no content")
    folder = "training" if args.kind == "training" else "documentation"
    rel = f"{folder}/{args.slug}.md"
    path = writable_file(ctx, rel, tool_name="docs_write")
    if _HEADING_RE.match(body.splitlines()[0]) and body.splitlines()[0].startswith("# "):
        body = "\n".join(body.splitlines()[1:]).strip()  # the title heading is ours
    head = f"# {args.title.strip()}\n\n" + (f"_For: {args.audience.strip()}_\n\n" if args.audience.strip() else "")
    text = head + body + "\n"
    warnings = [f"unfilled placeholder {m!r}" for m in sorted(set(_PLACEHOLDER_RE.findall(text)))]
    if args.kind == "troubleshooting" and not re.search(r"(?im)^#+.*(symptom|problem|error)", text):
        warnings.append("a troubleshooting page reads best as sections per symptom, each with cause and fix")
    write_atomic(path, text)
    return DocsWriteResult(path=rel, lines=text.count("\n"), warnings=warnings)


# -- sign-off --------------------------------------------------------------------------------------
class SignoffArgs(ToolArgs):
    stakeholder: str = Field(description="The person who decided, e.g. 'Dana Reyes'.")
    role: str = Field(description="Their role, e.g. 'Head of Finance (metric owner)'.")
    decision: Literal["approved", "approved_with_conditions", "changes_requested", "rejected"]
    scope: str = Field(description="What was signed off, e.g. 'CLV metric definition v2 and the dashboard'.")
    conditions: list[str] = Field(default_factory=list[str], description="Conditions or requested changes.")
    source: str = Field(description="Where the decision came from, e.g. 'request_input answer', 'email of 3 May'.")


class SignoffResult(ToolResult):
    path: str | None = Field(description="The sign-off log written, or null when the task's Files do not cover it.")
    recorded_at: str
    finding_section: str = Field(description="Put this block in your finding (complete_task details).")


@tool("docs", read_only=False)
def docs_record_signoff(ctx: ToolContext, args: SignoffArgs) -> SignoffResult:
    """Record a stakeholder's sign-off decision exactly as the person gave it.

    Ask them with request_input first; never record a decision nobody made. Returns the block to put in
    your finding under 'Stakeholder Sign-off', and appends it to documentation/sign-off.md when your
    task's Files cover that file.
    """
    if args.decision in {"approved_with_conditions", "changes_requested"} and not args.conditions:
        raise ToolError(f"a decision of {args.decision} needs its conditions or requested changes listed")
    now = datetime.now(UTC).isoformat(timespec="seconds")
    task = ctx.task_id or "(no task)"
    lines = [
        f"### {args.scope} — {args.decision.replace('_', ' ')}",
        "",
        f"- **Stakeholder**: {args.stakeholder} ({args.role})",
        f"- **Decision**: {args.decision}",
        f"- **When**: {now}",
        f"- **Task**: {task}" + (f" (run {ctx.run_id})" if ctx.run_id else ""),
        f"- **Source**: {args.source}",
    ]
    if args.conditions:
        lines.append("- **Conditions**:")
        lines += [f"  - {c}" for c in args.conditions]
    block = "\n".join(lines) + "\n"
    try:
        path = writable_file(ctx, SIGNOFF_FILE, tool_name="docs_record_signoff")
    except GuardRefused as exc:
        if exc.rule != "outside_task_files":
            raise
        # The finding is the record; the shared log is written only where the task may write.
        return SignoffResult(path=None, recorded_at=now, finding_section="## Stakeholder Sign-off\n\n" + block)
    existing = path.read_text(encoding="utf-8") if path.is_file() else "# Stakeholder sign-off\n"
    write_atomic(path, existing.rstrip("\n") + "\n\n" + block)
    return SignoffResult(path=SIGNOFF_FILE, recorded_at=now, finding_section="## Stakeholder Sign-off\n\n" + block)

"""The values of a task's fields as written: owners, dependencies (ids, ranges, ``and``), Files, checks,
and task ids wrapped in emphasis or code spans. Each parser raises :class:`FieldProblem` with one
sentence; the plan parser records it at the field's line."""

from __future__ import annotations

import re

from dacrew.plan.diagnostic import FieldProblem
from dacrew.plan.model import Check

TASK_ID = r"T\d+"
NONE_VALUES = {"", "none", "-", "\u2014", "n/a", "na", "nothing"}
_ID_TOKEN = re.compile(rf"\b{TASK_ID}\b")
_RANGE = re.compile(r"^T(?P<an>\d+)\.\.T(?P<bn>\d+)$")
_RANGE_IN_TEXT = re.compile(r"(T\d+)\s*(?:-|\u2013|\u2014|\.\.)\s*(T\d+)")
_WRAPPED_ID = re.compile(rf"^(?P<mark>\*\*|__|\*|_|`)(?P<id>{TASK_ID})(?P=mark)")
_MAX_SNIPPET = 60
MAX_RANGE = 10_000


def snippet(text: str) -> str:
    """User text quoted for a one-line message: escaped, and cut when long."""
    text = text.strip()
    if len(text) > _MAX_SNIPPET:
        text = text[: _MAX_SNIPPET - 1] + "…"
    return repr(text)


def unwrap_id(text: str) -> str:
    """``**T002** [P] …`` or ```T002`: …`` → ``T002 [P] …``: a leading task id loses its emphasis or code span."""
    match = _WRAPPED_ID.match(text)
    if match is None:
        return text
    return match.group("id") + text[match.end() :]


def ids_in(text: str) -> list[str]:
    return _ID_TOKEN.findall(text)


def parse_owners(value: str) -> list[str]:
    owners = [o.strip().strip("`*").strip() for o in re.split(r"\s*(?:\+|,|&|\band\b)\s*", value)]
    return [o for o in owners if o]


def parse_dependencies(value: str) -> list[str]:
    """``T001, T002``, ``T001-T003 and T004``, ``None`` → task ids in order, without repeats."""
    value = re.sub(r"\([^)]*\)", " ", value).replace("`", " ").replace("*", " ").strip().rstrip(".")
    if value.lower() in NONE_VALUES:
        return []
    found: list[str] = []
    value = _RANGE_IN_TEXT.sub(r"\1..\2", value)
    for token in re.split(r"[,;&\s]+|\band\b", value):
        token = token.strip()
        if not token:
            continue
        span = _RANGE.match(token)
        if span:
            found.extend(_expand_range(span, token))
        elif re.fullmatch(TASK_ID, token):
            found.append(token)
        else:
            raise FieldProblem(f"dependency {snippet(token)} is not a task id like T001", "bad-dependency")
    return list(dict.fromkeys(found))


def _expand_range(span: re.Match[str], token: str) -> list[str]:
    start, end = int(span.group("an")), int(span.group("bn"))
    if end < start or end - start > MAX_RANGE:
        raise FieldProblem(f"dependency range {snippet(token)} runs backwards or is too long", "bad-dependency")
    width = len(span.group("an"))
    return [f"T{n:0{width}d}" for n in range(start, end + 1)]


def parse_check(text: str, line: int) -> Check:
    text = text.strip().strip("`").strip()
    kind, sep, argument = text.partition(":")
    if not sep or not kind.strip() or not argument.strip():
        raise FieldProblem(
            f"check {snippet(text)} must read 'kind: argument' (e.g. 'dbt: build --select staging')", "check-shape"
        )
    return Check(kind=kind.strip().lower(), argument=argument.strip(), line=line)


def split_files(value: str) -> list[str]:
    """``Files`` as written: backticked paths and globs, or plain comma-separated text."""
    files = [span.strip() for span in re.findall(r"`([^`]*)`", value)]
    rest = re.sub(r"`[^`]*`", ",", value)
    files.extend(part.strip() for part in rest.split(","))
    return list(dict.fromkeys(f for f in files if f and f.lower() not in NONE_VALUES))

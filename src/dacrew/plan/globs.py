"""Paths and globs in a plan's Files, with one meaning everywhere: * and ? stay inside one path segment, ** crosses segments, {a,b} is a choice; a folder (models/) holds everything below it. Used by the scheduler's overlap rule, the plan's warnings and the files sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from dacrew.plan.model import Task, task_sort_key

_GLOB_CHARS = "*?[{"


_ROOTS = {"", ".", "./", "/", "repository root", "repo root", "root", "**", "*", "**/*"}


@dataclass(frozen=True)
class PathPattern:
    text: str
    prefix: str
    """The literal part before the first glob character (the whole path if there is none)."""
    suffix: str
    """The literal part after the last glob character."""
    is_glob: bool
    is_dir: bool
    is_root: bool


@lru_cache(maxsize=65536)
def path_pattern(raw: str) -> PathPattern:
    text = raw.strip().strip("`").strip()
    while text.startswith("./"):
        text = text[2:]
    if text.lower() in _ROOTS:
        return PathPattern(text, "", "", False, True, True)
    cut = min((i for i in (text.find(c) for c in _GLOB_CHARS) if i >= 0), default=-1)
    if cut < 0:
        return PathPattern(text, text, text, False, text.endswith("/"), False)
    last = max(text.rfind(c) for c in "*?]}")
    return PathPattern(text, text[:cut], text[last + 1 :], True, text.endswith("/"), False)


def _glob_regex(text: str) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "{" and "}" in text[i:]:
            end = text.index("}", i)
            out.append("(?:" + "|".join(re.escape(p) for p in text[i + 1 : end].split(",")) + ")")
            i = end + 1
            continue
        else:
            out.append(re.escape(c))
        i += 1
    # A glob that names a folder (``models/*/``) also covers everything below it.
    return re.compile("".join(out) + ("(?:/.*)?" if not text.endswith("/") else ".*"))


_glob_cache: dict[str, re.Pattern[str]] = {}


def glob_matches(glob: str, path: str) -> bool:
    regex = _glob_cache.get(glob)
    if regex is None:
        regex = _glob_cache[glob] = _glob_regex(glob)
    return regex.fullmatch(path) is not None


def _under(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or inside it (``folder`` written with or without a trailing slash)."""
    folder = folder.rstrip("/")
    return path.rstrip("/") == folder or path.startswith(folder + "/")


def covers(pattern: str, path: str) -> bool:
    """Whether one Files entry names ``path`` (project-relative, POSIX) — the files sandbox's question,
    answered with the same meaning the overlap rule uses: a literal names itself and, as a folder,
    everything inside it; ``*`` and ``?`` stay in one segment, ``**`` crosses segments; ``Repository
    root`` names everything."""
    p = path_pattern(pattern)
    if p.is_root:
        return True
    if not p.is_glob:
        return bool(p.text) and _under(path, p.text)
    return glob_matches(p.text, path)


def patterns_overlap(a: PathPattern, b: PathPattern) -> bool:
    if a.is_root or b.is_root:
        return True
    if not a.is_glob and not b.is_glob:
        return _under(a.text, b.text) or _under(b.text, a.text)
    if a.is_glob and b.is_glob:
        # Two globs can name a common path when their literal ends agree; this errs towards overlap.
        prefixes = a.prefix.startswith(b.prefix) or b.prefix.startswith(a.prefix)
        suffixes = a.suffix.endswith(b.suffix) or b.suffix.endswith(a.suffix) or a.is_dir or b.is_dir
        return prefixes and suffixes
    glob, literal = (a, b) if a.is_glob else (b, a)
    if glob_matches(glob.text, literal.text.rstrip("/")):
        return True
    folder = literal.text.rstrip("/") + "/"
    # A literal folder holds whatever the glob names below it, and a glob that descends into folders
    # (``models/*/x.sql``, ``models/**``) may name something inside the literal folder.
    if glob.prefix.startswith(folder):
        return True
    rest = glob.text[len(glob.prefix) :]
    return folder.startswith(glob.prefix) and ("/" in rest or "**" in rest)


def files_overlap(a: list[str], b: list[str]) -> bool:
    """Whether two tasks' Files can name the same path: equal paths, a folder and anything inside it,
    a glob and a path it matches, two globs with compatible literal parts; ``Repository root`` overlaps
    everything. Backticks are ignored."""
    return _files_overlap(tuple(a), tuple(b))


@lru_cache(maxsize=65536)
def _files_overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    # Cached: admission asks about the same pairs of tasks again and again while they wait.
    pa = [path_pattern(x) for x in a if x.strip().strip("`").strip()]
    pb = [path_pattern(x) for x in b if x.strip().strip("`").strip()]
    return any(patterns_overlap(x, y) for x in pa for y in pb)


def overlapping_pairs(tasks: list[Task]) -> list[tuple[str, str]]:
    """Pairs of tasks (by id, in id order) whose Files overlap."""
    pairs = list(iter_overlapping_pairs(tasks))
    return sorted(pairs, key=lambda p: (task_sort_key(p[0]), task_sort_key(p[1])))


def iter_overlapping_pairs(tasks: list[Task]) -> Iterator[tuple[str, str]]:
    """Each pair of tasks whose Files overlap, once, lower id first, without comparing every pair.

    Every overlap rule needs one pattern's literal prefix to be a prefix of the other's, so sorting the
    patterns by prefix leaves each one to compare only with the open prefixes above it.
    """
    seen: set[tuple[int, int]] = set()

    def pair(i: int, j: int) -> tuple[str, str] | None:
        key = (min(i, j), max(i, j))
        if i == j or key in seen:
            return None
        seen.add(key)
        x, y = tasks[key[0]].id, tasks[key[1]].id
        return (x, y) if task_sort_key(x) <= task_sort_key(y) else (y, x)

    entries: list[tuple[str, int, PathPattern]] = []
    roots: list[int] = []
    for index, task in enumerate(tasks):
        for raw in task.files:
            if not raw.strip().strip("`").strip():
                continue
            pattern = path_pattern(raw)
            if pattern.is_root:
                roots.append(index)
            else:
                entries.append((pattern.prefix.rstrip("/"), index, pattern))
    for r in roots:
        for other in range(len(tasks)):
            if tasks[other].files and (found := pair(r, other)):
                yield found
    entries.sort(key=lambda e: (e[0], e[1]))
    stack: list[tuple[str, int, PathPattern]] = []
    for prefix, index, pattern in entries:
        while stack and not prefix.startswith(stack[-1][0]):
            stack.pop()
        for _, other, other_pattern in stack:
            if (min(index, other), max(index, other)) in seen or not patterns_overlap(pattern, other_pattern):
                continue
            if found := pair(index, other):
                yield found
        stack.append((prefix, index, pattern))

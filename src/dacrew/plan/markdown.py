"""A plan's markdown as blocks with their source lines, read from markdown-it-py's tokens (CommonMark).

:func:`read_blocks` turns the text into a flat list: :class:`Heading`, :class:`Rule` (``---``),
:class:`Fence` (a fenced code block) and :class:`Line` — one per line of paragraph text, knowing how deep
in lists it sits, which list item it belongs to and whether it opens that item. The plan parser works on
these, so list items with continuation lines, nested bullets and lazy lines are grouped as CommonMark
groups them. Setext headings and indented code blocks are off: a ``---`` under text is a rule, and an
indented line is text. HTML blocks (comments) are skipped.
"""

from __future__ import annotations

import gc
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token


@dataclass(slots=True)
class Heading:
    number: int
    """1-based source line."""
    level: int
    text: str


@dataclass(slots=True)
class Rule:
    number: int


@dataclass(slots=True)
class Fence:
    number: int
    """The line of the opening fence."""
    lines: list[tuple[int, str]]
    """``(line number, stripped text)`` of each line inside the fence."""


@dataclass(slots=True)
class Line:
    number: int
    text: str
    """The line's text without list markers, block-quote markers or surrounding whitespace."""
    depth: int
    """How many list items enclose the line (0 outside lists)."""
    item: int
    """A number unique to the innermost enclosing list item (0 outside lists)."""
    opens_item: bool
    """The first line of its list item (what follows the ``-`` marker)."""
    wraps: bool = False
    """Continues the paragraph of the line before it."""


Block = Heading | Rule | Fence | Line


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    # Inline parsing is not needed (the plan reads field text as written), and it is most of the cost.
    return MarkdownIt("commonmark").disable(["lheading", "code", "inline"])


def normalise(text: str) -> str:
    """Lines split on ``\\n`` only (a trailing ``\\r`` dropped, any other ``\\r`` a space), so that the
    parser's line numbers are the editor's: CommonMark would also break lines at a lone ``\\r``."""
    if "\r" not in text:
        return text
    return "\n".join(line.removesuffix("\r").replace("\r", " ") for line in text.split("\n"))


def read_blocks(text: str) -> list[Block]:
    """The blocks of ``text`` in source order (``text`` as :func:`normalise` leaves it)."""
    return _blocks(_parser().parse(text))


@contextmanager
def collector_paused() -> Generator[None]:
    """Pause the cyclic garbage collector while a plan is read.

    Reading makes about thirty objects per task (markdown-it's tokens, the blocks, the tasks), none in
    a reference cycle: reference counting frees them. The collector's full passes over them, though,
    grow with the plan, and made the per-task cost of reading 2.5 times higher at 20,000 tasks than at
    200. Its previous state is restored afterwards.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _blocks(tokens: list[Token]) -> list[Block]:
    out: list[Block] = []
    items: list[int] = []
    opened = 0
    fresh_item = False
    heading_level = 0
    for token in tokens:
        kind = token.type
        if kind == "list_item_open":
            opened += 1
            items.append(opened)
            fresh_item = True
        elif kind == "list_item_close":
            items.pop()
            fresh_item = False
        elif kind == "heading_open":
            heading_level = int(token.tag[1:])
        elif kind == "inline" and token.map is not None:
            start = token.map[0] + 1
            if heading_level:
                out.append(Heading(start, heading_level, token.content.strip()))
                heading_level = 0
                continue
            depth = len(items)
            item = items[-1] if items else 0
            for offset, text_line in enumerate(token.content.split("\n")):
                out.append(Line(start + offset, text_line.strip(), depth, item, fresh_item and offset == 0, offset > 0))
            fresh_item = False
        elif kind == "hr" and token.map is not None:
            out.append(Rule(token.map[0] + 1))
        elif kind == "fence" and token.map is not None:
            first = token.map[0] + 2
            body = token.content.split("\n")
            if body and body[-1] == "":
                body.pop()
            out.append(Fence(token.map[0] + 1, [(first + i, s.strip()) for i, s in enumerate(body)]))
            fresh_item = False
    return out

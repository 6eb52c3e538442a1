"""Long tool results: the model reads the first page, the whole text is kept beside the task's journal,
and ``result_page`` reads the rest by handle and offset.

A handle is the tool call's journal key with every character outside ``[A-Za-z0-9._-]`` turned into
``.`` (``T004.1.m3.toolu_01``); ``result_page`` serves only handles this run issued (files in the
results folder), so a handle can never name anything else.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from pydantic import ValidationError

from dacrew.agents.completion import PAGE_CHARS, ResultPageArgs

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def handle_for(key: str) -> str:
    """The handle of the tool call with journal key ``key``."""
    return _UNSAFE.sub(".", key)


class ResultPages:
    """Full results of one run's tool calls, one text file per cut result in ``folder``."""

    def __init__(self, folder: Path, limit: int = PAGE_CHARS) -> None:
        self.folder = folder
        self.limit = limit

    def cut(self, key: str, text: str) -> str:
        """``text`` itself when it fits; else its first ``limit`` characters and how to read on."""
        if len(text) <= self.limit:
            return text
        handle = handle_for(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.folder, suffix=".part")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, self.folder / f"{handle}.txt")
        return text[: self.limit] + (
            f"\n[cut at {self.limit:,} of {len(text):,} characters: call result_page with"
            f' handle "{handle}" and offset {self.limit} to read on]'
        )

    def page(self, args: dict[str, object]) -> str:
        """What ``result_page`` returns: the characters asked for and where the text goes on, or why not."""
        try:
            ask = ResultPageArgs.model_validate(args)
        except ValidationError as exc:
            err = exc.errors()[0]
            return f"result_page arguments are invalid: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
        issued = {p.name for p in self.folder.glob("*.txt")} if self.folder.is_dir() else set[str]()
        name = f"{ask.handle}.txt"
        if name not in issued:
            return f"no cut tool result has the handle {ask.handle!r}: use the handle a cut result named"
        text = (self.folder / name).read_text(encoding="utf-8")
        if ask.offset >= len(text):
            return f"offset {ask.offset:,} is past the end of {ask.handle} ({len(text):,} characters)"
        end = min(ask.offset + ask.length, len(text))
        more = f"; call result_page with offset {end} to read on" if end < len(text) else "; that is the end"
        return text[ask.offset : end] + f"\n[characters {ask.offset:,} to {end:,} of {len(text):,}{more}]"

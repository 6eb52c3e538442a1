"""Reading a plan file's text: UTF-8 (a byte-order mark allowed), never binary; a clear error for anything else."""

from __future__ import annotations

from pathlib import Path

from dacrew.errors import UserError


def read_plan_text(path: Path) -> str:
    """The text of the plan file at ``path``: a readable, regular, UTF-8 text file."""
    where = str(path)
    try:
        if not path.exists():
            raise UserError("no such file", path=where, line=1)
        if path.is_dir():
            raise UserError("is a directory, not a plan file (expected tasks.md)", path=where, line=1)
        if not path.is_file():
            raise UserError("not a regular file", path=where, line=1)
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read the plan: {exc.strerror or exc}", path=where, line=1) from None
    return decode_plan(data, where)


def decode_plan(data: bytes, path: str = "tasks.md") -> str:
    """The plan's text: UTF-8 (a BOM is allowed), never binary."""
    nul = data.find(b"\x00")
    if nul >= 0:
        raise UserError("binary file (NUL byte), not a markdown plan", path=path, line=data.count(b"\n", 0, nul) + 1)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise UserError(f"not valid UTF-8 (byte 0x{data[exc.start]:02x})", path=path, line=line) from None
    return text.removeprefix("\ufeff")

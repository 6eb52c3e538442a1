"""dbt node selection, checked before it reaches dbt: the selection grammar is allowed (``+model``,
``tag:x``, ``path:models/staging``, ``@x``, ``a b`` unions, ``a,b`` intersections, ``1+x+2``,
``state:modified``, ``config.materialized:table``, ``source:raw.orders+``), while anything that could be
read as a command-line flag or option is refused."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from dacrew.errors import ToolError

if TYPE_CHECKING:
    from dacrew.tools.base import ToolContext

METHODS = frozenset(
    {
        "tag",
        "source",
        "path",
        "file",
        "fqn",
        "package",
        "config",
        "test_name",
        "test_type",
        "state",
        "exposure",
        "metric",
        "result",
        "source_status",
        "wildcard",
        "resource_type",
        "group",
        "access",
        "version",
        "semantic_model",
        "saved_query",
        "unit_test",
        "selector",
    }
)
# One criterion: optional @ or N+ prefix, optional method[.arg]:, a value, optional +N suffix.
_CRITERION = re.compile(
    r"^(?:@|(?P<up>\d*\+))?"
    r"(?:(?P<method>[a-z_]+)(?:\.[A-Za-z_][A-Za-z0-9_]*)*:)?"
    r"(?P<value>[A-Za-z0-9_*?\[\]/.][A-Za-z0-9_*?\[\]/.\-]*)"
    r"(?P<down>\+\d*)?$"
)


def validate_selector(selector: str, *, what: str = "select") -> list[str]:
    """The selector's space-separated parts, each checked; a :class:`ToolError` the model can fix."""
    if "\n" in selector or "\x00" in selector:
        raise ToolError(f"{what}: one line of dbt selection syntax, no newlines")
    parts = selector.split()
    if not parts:
        raise ToolError(f"{what}: empty selector; leave it out to select everything")
    for part in parts:
        if part.startswith("-"):
            raise ToolError(f"{what}: {part!r} looks like a command-line flag; give only dbt selection syntax")
        for criterion in part.split(","):
            match = _CRITERION.match(criterion)
            if match is None:
                raise ToolError(
                    f"{what}: {criterion!r} is not dbt selection syntax (e.g. +model, tag:x, path:models/staging, "
                    "config.materialized:table, source:raw.orders+)"
                )
            method = match["method"]
            if method is not None and method not in METHODS:
                raise ToolError(f"{what}: unknown selector method {method!r} (known: {', '.join(sorted(METHODS))})")
    return parts


def selector_name(name: str, select: str | None, exclude: str | None) -> str:
    """A selectors.yml name, checked: a plain name, and not combined with select or exclude (dbt's
    ``--selector`` replaces them)."""
    if select is not None or exclude is not None:
        raise ToolError("selector replaces select and exclude; give one or the other")
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*", name) is None:
        raise ToolError(f"selector: {name!r} is not a selector name from selectors.yml")
    return name


def state_arguments(ctx: ToolContext, state: str | None, selection: str) -> list[str]:
    """``--state <folder>`` for a call that names a ``state`` folder (project-relative, through the file
    sandbox's resolver) or whose ``selection`` uses ``state:`` (then ``dbt.state`` in dacrew.yml, or a
    :class:`ToolError` saying what to give)."""
    uses_state = re.search(r"(?:^|[\s,+@])state:", selection) is not None
    state = state or ctx.config.dbt.state
    if state is None:
        if uses_state:
            raise ToolError(
                "state:… selection compares with another run's manifest: give state (a project folder "
                "holding its manifest.json) or set dbt.state in dacrew.yml"
            )
        return []
    from dacrew.tools.files import resolve

    folder, rel = resolve(ctx, state, tool_name="dbt_ls")
    if folder.name == "manifest.json":
        folder, rel = folder.parent, PurePosixPath(rel).parent.as_posix()
    if not (folder / "manifest.json").is_file():
        raise ToolError(f"state: no manifest.json in {rel!r}; give the folder of another run's artifacts")
    return ["--state", str(folder)]

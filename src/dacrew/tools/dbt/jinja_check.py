"""The Jinja check: dbt project code parsed with Jinja's own parser, configured as dbt configures it
(dbt's environment, with its ``materialization``, ``test`` and ``docs`` extensions, ``do`` and loop
controls), and every node of the tree held to the allow-list in :mod:`dacrew.tools.dbt.allowlist`.

A node outside the allow-list is a :class:`Finding`: ``refused`` ones (``env_var``, binding a callable
to a new name, private attributes, a secret target attribute) stop the invocation; the others (a ``call
statement`` block, ``run_query``, a mutating adapter method, an unknown name, a macro whose body does
any of these — followed transitively, into installed packages too) need a person's approval.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dacrew.tools.dbt.allowlist import (
    CALLABLE,
    DATA,
    DBT_MACROS,
    MODULE_PREFIXES,
    NAMESPACED,
    REFUSED,
    SAFE_FILTERS,
    SAFE_METHODS,
    SAFE_TESTS,
    TARGET_ATTRIBUTES,
    allowed_calls,
)

# Node types that only combine values: checked through their children.
_PLAIN = frozenset(
    {
        "Template",
        "Output",
        "TemplateData",
        "Const",
        "List",
        "Tuple",
        "Dict",
        "Pair",
        "Keyword",
        "If",
        "For",
        "Compare",
        "Operand",
        "CondExpr",
        "Concat",
        "Slice",
        "Add",
        "Sub",
        "Mul",
        "Div",
        "FloorDiv",
        "Mod",
        "Pow",
        "And",
        "Or",
        "Not",
        "Neg",
        "Pos",
        "ExprStmt",
        "AssignBlock",
        "FilterBlock",
        "With",
        "Scope",
        "Continue",
        "Break",
        "MarkSafe",
        "MarkSafeIfAutoescape",
        "NSRef",
    }
)


@dataclass(frozen=True)
class Finding:
    """One node outside the allow-list: where, what, and whether it is refused or needs approval."""

    path: str
    line: int
    what: str
    refused: bool = False

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


@dataclass
class MacroTable:
    """The macros calls can reach: the project's by name, installed packages' as ``package.name``."""

    bodies: dict[str, tuple[str, Any]] = field(default_factory=lambda: dict[str, tuple[str, Any]]())
    packages: set[str] = field(default_factory=lambda: set[str]())


@functools.cache
def environment() -> Any:
    """dbt's own Jinja environment (dbt_common.clients.jinja.get_environment), plus the ``snapshot``
    block dbt cuts out of snapshot files before it renders them (its body is checked like a macro's)."""
    from dbt_common.clients.jinja import get_environment
    from jinja2 import nodes
    from jinja2.ext import Extension

    class SnapshotExtension(Extension):
        tags = {"snapshot"}

        def parse(self, parser: Any) -> Any:
            node = nodes.Macro(lineno=next(parser.stream).lineno)
            node.name = f"snapshot_{parser.parse_assign_target(name_only=True).name}"
            node.args, node.defaults = [], []
            node.body = parser.parse_statements(("name:endsnapshot",), drop_needle=True)
            return node

    env = get_environment()
    env.add_extension(SnapshotExtension)
    return env


def parse(source: str, path: str) -> tuple[Any, Finding | None]:
    """The template tree of ``source``, or a refused finding when Jinja cannot parse it."""
    from jinja2 import TemplateSyntaxError

    try:
        return environment().parse(source), None
    except TemplateSyntaxError as exc:
        return None, Finding(path, exc.lineno or 1, f"Jinja does not parse: {exc.message}", refused=True)


def macros_of(tree: Any) -> Iterator[Any]:
    """Every macro defined at the top of a template (``{% macro %}``, ``{% test %}``, ``{% materialization %}``)."""
    from jinja2 import nodes

    yield from tree.find_all(nodes.Macro)


class Checker:
    """Checks templates against the allow-list for the holder of ``permissions``; macro bodies reached
    through calls are checked once each (a cycle counts as clean)."""

    def __init__(self, macros: MacroTable, permissions: frozenset[str]) -> None:
        self.macros = macros
        self.calls = allowed_calls(permissions)
        self._memo: dict[str, list[Finding]] = {}

    def template(self, tree: Any, path: str) -> list[Finding]:
        return _Walk(self, path, _locals(tree)).run(tree)

    def macro(self, key: str) -> list[Finding]:
        """What a macro's body does outside the allow-list (followed through its own calls)."""
        if key in self._memo:
            return self._memo[key]
        self._memo[key] = []  # in progress: a recursive call adds nothing
        path, node = self.macros.bodies[key]
        found = _Walk(self, path, _locals(node), package=key.split(".")[0] if "." in key else "").run(node)
        self._memo[key] = found
        return found


def macro_name(node: Any) -> str:
    """A macro's name as code calls it (dbt's parser stores ``{% macro m %}`` as ``dbt_macro__m``)."""
    return str(node.name).removeprefix("dbt_macro__")


def _locals(tree: Any) -> dict[str, str]:
    """Names the code binds itself: ``data`` (set, for, macro arguments) or ``macro`` (local macros)."""
    from jinja2 import nodes

    bound: dict[str, str] = {}
    for node in tree.find_all(nodes.Name):
        if node.ctx in {"store", "param"}:
            bound.setdefault(node.name, "data")
    for macro in tree.find_all(nodes.Macro):
        bound[macro_name(macro)] = "macro"
    return bound


def dotted(node: Any) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    from jinja2 import nodes

    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if isinstance(node, nodes.Name):
        parts.append(node.name)
        return ".".join(reversed(parts))
    return None


class _Walk:
    def __init__(self, checker: Checker, path: str, bound: dict[str, str], package: str = "") -> None:
        self.checker = checker
        self.path = path
        self.bound = bound
        self.package = package
        self.found: list[Finding] = []

    def run(self, tree: Any) -> list[Finding]:
        self.visit(tree)
        return self.found

    def flag(self, node: Any, what: str, *, refused: bool = False) -> None:
        self.found.append(Finding(self.path, int(getattr(node, "lineno", 0) or 0), what, refused))

    def visit(self, node: Any) -> None:
        from jinja2 import nodes

        kind = type(node).__name__
        if isinstance(node, nodes.Name):
            if node.ctx == "load":
                self.value_name(node)
        elif isinstance(node, nodes.Getattr):
            self.value_attribute(node)
        elif isinstance(node, nodes.Getitem):
            self.item(node)
        elif isinstance(node, nodes.Call):
            self.call(node)
        elif isinstance(node, nodes.Filter):
            if node.name not in SAFE_FILTERS:
                self.flag(node, f"the filter {node.name!r} is not on the allow-list")
            self.children(node)
        elif isinstance(node, nodes.Test):
            if node.name not in SAFE_TESTS:
                self.flag(node, f"the test {node.name!r} is not on the allow-list")
            self.children(node)
        elif isinstance(node, nodes.CallBlock):
            self.call(node.call, block=True)
            for child in [*node.args, *node.defaults, *node.body]:
                self.visit(child)
        elif isinstance(node, nodes.Macro):
            for child in [*node.defaults, *node.body]:
                self.visit(child)
        elif isinstance(node, nodes.Assign):
            self.assign(node)
        elif kind in _PLAIN:
            self.children(node)
        else:
            self.flag(node, f"the Jinja construct {kind} is not on the allow-list")

    def children(self, node: Any) -> None:
        for child in node.iter_child_nodes():
            self.visit(child)

    def assign(self, node: Any) -> None:
        from jinja2 import nodes

        value = node.node
        if isinstance(value, nodes.Call) and dotted(value.node) == "adapter.dispatch":
            self.flag(node, "binds a dispatched macro to a new name", refused=True)
        self.visit(value)

    def value_name(self, node: Any) -> None:
        name = node.name
        if name in REFUSED:
            self.flag(node, f"{name}: {REFUSED[name]}", refused=True)
        elif name == "target" and self.bound.get(name) != "data":
            self.flag(node, "the whole target is used as a value: read its listed attributes only", refused=True)
        elif self.bound.get(name) == "data" or name in DATA:
            return
        else:
            self.flag(node, f"{name} is used as a value: binding or passing a callable is refused", refused=True)

    def value_attribute(self, node: Any) -> None:
        path = dotted(node)
        if node.attr.startswith("_"):
            self.flag(node, f"the private attribute {node.attr!r}", refused=True)
            return
        if path is None:
            self.visit(node.node)
            return
        root = path.split(".")[0]
        if root == "target" and path.count(".") == 1 and node.attr not in TARGET_ATTRIBUTES:
            self.flag(node, f"{path} is not a readable target attribute (secrets stay in the profile)", refused=True)
        elif root in REFUSED:
            self.flag(node, f"{root}: {REFUSED[root]}", refused=True)
        elif root in DATA or self.bound.get(root) == "data":
            return
        else:
            self.flag(node, f"{path} is used as a value: binding or passing a callable is refused", refused=True)

    def item(self, node: Any) -> None:
        from jinja2 import nodes

        base = dotted(node.node)
        root = base.split(".")[0] if base else ""
        if base is not None and not (root in DATA or self.bound.get(root) == "data"):
            self.flag(node, f"{base}[…]: indexing a callable or namespace reaches its members unchecked", refused=True)
        elif root == "target" and not (isinstance(node.arg, nodes.Const) and node.arg.value in TARGET_ATTRIBUTES):
            self.flag(node, "target[…] may read a secret", refused=True)
        else:
            self.visit(node.node)
        self.visit(node.arg)

    def call(self, node: Any, *, block: bool = False) -> None:
        from jinja2 import nodes

        callee = node.node
        for child in [*node.args, *node.kwargs]:
            self.visit(child)
        for child in (node.dyn_args, node.dyn_kwargs):
            if child is not None:
                self.visit(child)
        if isinstance(callee, nodes.Call) and dotted(callee.node) == "adapter.dispatch":
            self.dispatch(callee)
            return
        path = dotted(callee)
        if path is None:
            if isinstance(callee, nodes.Getattr):
                self.method(callee)
            else:
                self.flag(node, "calls something that is not a name")
                self.visit(callee)
            return
        if path == "statement" or block:
            what = "a call statement block runs SQL" if path == "statement" else f"a call block of {path}"
            if path not in CALLABLE and path not in self.checker.calls:
                self.flag(node, what)
                return
        self.named_call(node, path)

    def method(self, callee: Any) -> None:
        if callee.attr.startswith("_"):
            self.flag(callee, f"the private attribute {callee.attr!r}", refused=True)
        elif callee.attr not in SAFE_METHODS:
            self.flag(callee, f"the method {callee.attr!r} is not on the allow-list")
        self.visit(callee.node)

    def named_call(self, node: Any, path: str) -> None:
        parts = path.split(".")
        root = parts[0]
        if any(p.startswith("_") for p in parts):
            self.flag(node, f"the private attribute in {path}", refused=True)
        elif root in REFUSED:
            self.flag(node, f"{root}: {REFUSED[root]}", refused=True)
        elif root in self.bound:
            kind = self.bound[root]
            if len(parts) == 1 and kind == "data":
                self.flag(node, f"calls the value {root}")
            elif len(parts) > 1 and parts[-1] not in SAFE_METHODS:
                self.flag(node, f"the method {parts[-1]!r} is not on the allow-list")
        elif root in DATA:
            if root == "target" and len(parts) > 1 and parts[1] not in TARGET_ATTRIBUTES:
                self.flag(node, f"{path} is not a readable target attribute", refused=True)
            elif len(parts) == 1 or parts[-1] not in SAFE_METHODS:
                self.flag(node, f"{path}() is not on the allow-list")
        elif (len(parts) == 1 and root in CALLABLE) or path in self.checker.calls or path.startswith(MODULE_PREFIXES):
            return
        elif root in NAMESPACED:
            self.flag(node, f"{path}() is not on the allow-list (it may change the warehouse)")
        elif root == "dbt" and len(parts) == 2:
            if parts[1] not in DBT_MACROS:
                self.flag(node, f"{path}() is not one of dbt's read-only macros on the allow-list")
        else:
            self.macro_call(node, path)

    def macro_call(self, node: Any, path: str) -> None:
        table = self.checker.macros
        parts = path.split(".")
        candidates = [path] if len(parts) == 2 and parts[0] in table.packages else []
        if len(parts) == 1:
            candidates = [k for k in (f"{self.package}.{path}" if self.package else "", path) if k]
        key = next((k for k in candidates if k in table.bodies), None)
        if key is None:
            if len(parts) == 1 and path in DBT_MACROS:
                return
            self.flag(node, f"{path}() is not on the allow-list and is no macro of the project or its packages")
            return
        inner = self.checker.macro(key)
        if inner:
            worst = next((f for f in inner if f.refused), inner[0])
            self.flag(
                node, f"calls the macro {key}, which {worst.what} ({worst.path}:{worst.line})", refused=worst.refused
            )

    def dispatch(self, call: Any) -> None:
        """``adapter.dispatch('name', 'package')(…)``: every implementation it can reach is checked."""
        from jinja2 import nodes

        args = call.args
        if not args or not isinstance(args[0], nodes.Const) or not isinstance(args[0].value, str):
            self.flag(call, "adapter.dispatch of a name the check cannot read")
            return
        name = args[0].value
        namespace = args[1].value if len(args) > 1 and isinstance(args[1], nodes.Const) else None
        table = self.checker.macros
        reached = [
            k
            for k in table.bodies
            if k.split(".")[-1].endswith(f"__{name}")
            and (namespace is None or k.startswith(f"{namespace}.") or "." not in k)
        ]
        if not reached:
            if namespace in {None, "dbt"} and name in DBT_MACROS:
                return
            self.flag(call, f"adapter.dispatch('{name}') reaches no macro the check can read")
            return
        for key in reached:
            inner = self.checker.macro(key)
            if inner:
                worst = next((f for f in inner if f.refused), inner[0])
                self.flag(call, f"dispatches to {key}, which {worst.what}", refused=worst.refused)

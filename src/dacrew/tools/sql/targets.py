"""What a statement writes: the relations its DML and DDL nodes target, the relations it creates, and
which ALTER actions rewrite or rename data. Read from the sqlglot AST, every node."""

from __future__ import annotations

from typing import Any

# Object kinds a run may create and change in its own scope. Any other kind (shares, warehouses,
# policies, resource monitors, integrations, stages…) is an account or governance object: held for approval.
RELATION_KINDS = frozenset(
    {"TABLE", "VIEW", "SCHEMA", "DATABASE", "SEQUENCE", "INDEX", "MATERIALIZED VIEW", "DYNAMIC TABLE"}
)


def relation_name(node: object) -> str:
    """``db.schema.name`` of the table a target node names ('' when it names none)."""
    from sqlglot import exp

    if not isinstance(node, exp.Expr):
        return ""
    table = node if isinstance(node, exp.Table) else node.find(exp.Table)
    if not isinstance(table, exp.Table):
        return ""
    return ".".join(p.name for p in table.parts)


def written(stmt: object) -> list[tuple[str, str]]:
    """``(kind, name)`` of every relation a DML or DDL node in ``stmt`` changes (not the ones it creates
    or replaces: the guard judges CREATE OR REPLACE on its own)."""
    from sqlglot import exp

    assert isinstance(stmt, exp.Expr)
    found: list[tuple[str, str]] = []

    def add(kind: str, node: object) -> None:
        name = relation_name(node)
        if name and (kind, name) not in found:
            found.append((kind, name))

    for node in stmt.walk():
        if isinstance(node, (exp.Insert, exp.Update, exp.Merge, exp.Undrop)):
            add("TABLE", node.this)
        elif isinstance(node, exp.Delete):
            add("TABLE", node.this)
            extras: list[Any] = node.args.get("tables") or []
            for extra in extras:
                add("TABLE", extra)
        elif isinstance(node, exp.Copy) and node.args.get("kind"):
            add("TABLE", node.this)
        elif isinstance(node, (exp.Alter, exp.Comment)):
            kind = str(node.args.get("kind") or "TABLE").upper()
            add("TABLE" if kind == "COLUMN" else kind, node.this)
        elif isinstance(node, exp.SwapTable):
            add("TABLE", node.this)
        elif isinstance(node, exp.Drop) and node.find_ancestor(exp.Alter) is None:
            kind = str(node.args.get("kind") or "TABLE").upper()
            tables: list[Any] = node.args.get("tables") or []
            for table in tables:
                add(kind, table)
        elif isinstance(node, exp.TruncateTable):
            for table in node.expressions:
                add("TABLE", table)
    return found


def created(stmt: object) -> list[tuple[str, str]]:
    """``(kind, name)`` of the relations ``stmt`` creates (CREATE without OR REPLACE, SELECT … INTO)."""
    from sqlglot import exp

    assert isinstance(stmt, exp.Expr)
    found: list[tuple[str, str]] = []
    for node in stmt.walk():
        if isinstance(node, exp.Create) and not node.args.get("replace"):
            kind = str(node.args.get("kind") or "").upper()
            name = relation_name(node.this)
            if kind in RELATION_KINDS and name:
                found.append((kind, name))
        elif isinstance(node, exp.Into):
            name = relation_name(node.this)
            if name:
                found.append(("TABLE", name))
    return found


def rewrites_data(action: object) -> str:
    """Why an ALTER action rewrites or renames data ('' when it does not): a type change (with or
    without USING), a column rename, a column drop."""
    from sqlglot import exp

    if isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
        using: Any = action.args.get("using")
        return (
            "a column type change with USING rewrites every value"
            if using
            else "a column type change rewrites its values"
        )
    if isinstance(action, exp.RenameColumn):
        return "renaming a column breaks what reads it"
    if isinstance(action, exp.Drop):
        return "dropping a column removes its data"
    return ""

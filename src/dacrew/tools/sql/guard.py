"""The SQL guard: every statement the warehouse toolset sends is parsed with sqlglot and judged from its
AST (every node, not the first keyword) before it reaches the database.

:func:`classify` is pure: it says which permission a statement needs (``read``, ``write``, ``ddl``),
whether it is refused whatever the permissions, and whether it needs a person's approval.
:func:`enforce` applies that verdict to a caller (:class:`~dacrew.tools.base.ToolContext`).

Rules (docs/tools-dbt-warehouse.md keeps the table for users):

* refused always: unparseable SQL, more than one statement, invisible control characters, session
  changes (USE, SET, ALTER SESSION, transactions), file and stage I/O (PUT, GET, REMOVE, COPY to a
  location, DuckDB file readers, ATTACH, INSTALL…), statements the guard does not recognise;
* ``read``: SELECT / set operations / VALUES / SHOW / DESCRIBE / EXPLAIN of a read;
* ``write``: INSERT, UPDATE, DELETE, MERGE, COPY INTO a table; DELETE/UPDATE without WHERE → approval;
  CALL and EXECUTE IMMEDIATE (they can do anything) → approval;
* ``ddl``: CREATE, ALTER, COMMENT, SELECT … INTO, UNDROP; DROP, TRUNCATE, GRANT/REVOKE, destructive ALTER
  actions (drop column, rename, swap) and ``CREATE OR REPLACE`` of an existing object → approval.

A caller lacking the needed permission is refused; an approval is asked only of a caller who holds it.
"""

from __future__ import annotations

import functools
import logging
import unicodedata
from typing import Any

from dacrew.errors import GuardRefused
from dacrew.tools.base import ToolContext
from dacrew.tools.sql.commands import judge_command
from dacrew.tools.sql.predicates import filters
from dacrew.tools.sql.rules import (
    ACCESS_KINDS,
    CHECKABLE_KINDS,
    CODE_KINDS,
    FILE_EXPRESSIONS,
    FILE_FUNCTIONS,
    FILE_PREFIXES,
    INVISIBLE,
    RETENTION_WORDS,
    SYSTEM_READERS,
)
from dacrew.tools.sql.targets import RELATION_KINDS, rewrites_data, written
from dacrew.tools.sql.targets import created as created_by
from dacrew.tools.sql.verdict import SEVERITY, Created, Dialect, Exists, Permission, Verdict, strictest


def classify(sql: str, dialect: Dialect, *, exists: Exists | None = None, created: Created | None = None) -> Verdict:
    """Judge one SQL string. ``exists(kind, name)`` tells whether an object exists and ``created(name)``
    whether the run created it: a statement that changes a relation which existed before the run, or
    replaces one, is held for approval; without ``exists`` every relation counts as existing."""
    if INVISIBLE.search(sql):
        return Verdict("UNKNOWN", refused="invisible_characters", reason="the SQL holds invisible control characters")
    verdict = _classify_text(sql, dialect=dialect, exists=exists, created=created)
    folded = unicodedata.normalize("NFKC", sql)
    if folded != sql and not verdict.refused:
        # Look-alike characters (full-width letters…) might be folded by some layer downstream: the
        # stricter of the two readings wins.
        other = _classify_text(folded, dialect=dialect, exists=exists, created=created)
        if (
            other.refused
            or SEVERITY[other.needs] > SEVERITY[verdict.needs]
            or (other.approval and not verdict.approval)
        ):
            return other
    return verdict


def _classify_text(sql: str, *, dialect: Dialect, exists: Exists | None, created: Created | None) -> Verdict:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        # A trailing comment or an empty statement after the last ``;`` is nothing (sqlglot: a Semicolon).
        parsed = [s for s in sqlglot.parse(sql, read=dialect) if s is not None and not isinstance(s, exp.Semicolon)]
    except SqlglotError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return Verdict("UNPARSEABLE", refused="unparseable", reason=f"the SQL does not parse: {first}")
    if not parsed:
        return Verdict("EMPTY", refused="empty", reason="there is no statement in the SQL")
    if len(parsed) > 1:
        return Verdict(
            "MULTIPLE",
            refused="multi_statement",
            reason=f"{len(parsed)} statements in one call: send exactly one statement per call",
        )
    return _judge(parsed[0], dialect, exists, created)


def _judge(stmt: object, dialect: Dialect, exists: Exists | None, created: Created | None) -> Verdict:
    from sqlglot import exp

    assert isinstance(stmt, exp.Expr)
    if isinstance(stmt, exp.Command):
        return judge_command(
            stmt,
            dialect,
            functools.partial(_classify_text, dialect=dialect, exists=exists, created=created),
            exists,
            created,
        )
    kind = _statement_kind(stmt)
    refused = _refused_anywhere(stmt, dialect)
    if refused is not None:
        return Verdict(kind, refused=refused[0], reason=refused[1])
    if isinstance(stmt, (exp.Use, exp.Set, exp.Transaction, exp.Commit, exp.Rollback)) or (
        isinstance(stmt, exp.Alter) and str(stmt.args.get("kind") or "").upper() == "SESSION"
    ):
        return Verdict(
            kind,
            refused="session",
            reason="session changes (USE, SET, ALTER SESSION, transactions) are refused: the role, warehouse "
            "and database come from the dbt profile target",
        )
    if isinstance(stmt, (exp.Grant, exp.Revoke)):
        return Verdict(kind, needs="ddl", approval="privilege", reason="GRANT/REVOKE changes who may see data")
    needs: Permission = "read"
    approval, reason, rewrites = "", "", ""
    notes: list[str] = []
    for node in stmt.walk():
        if isinstance(node, (exp.Insert, exp.Merge, exp.MultitableInserts, exp.Copy, exp.LoadData)):
            needs = strictest(needs, "write")
            if isinstance(node, exp.Insert) and node.args.get("overwrite"):
                approval, reason = "destructive", "INSERT OVERWRITE replaces every row"
            on = node.args.get("on") if isinstance(node, exp.Merge) else None
            if isinstance(on, exp.Expr) and not filters(on):
                notes.append("its ON condition holds for every row: every row of the target matches")
        elif isinstance(node, (exp.Update, exp.Delete)):
            needs = strictest(needs, "write")
            where = node.args.get("where")
            in_merge = node.find_ancestor(exp.When) is not None  # a MERGE's ON clause is its filter
            if not in_merge and (where is None or not filters(where.this)):
                notes.append(f"{type(node).__name__.upper()} without a real WHERE changes every row")
        elif isinstance(node, (exp.Create, exp.Alter, exp.Comment, exp.Undrop, exp.Into, exp.Refresh)):
            needs = strictest(needs, "ddl")
        elif isinstance(node, (exp.Drop, exp.TruncateTable)):
            needs = strictest(needs, "ddl")
            if node.find_ancestor(exp.Alter) is None:
                approval, reason = "destructive", f"{kind} removes data"
        elif isinstance(node, (exp.AlterRename, exp.SwapTable)):
            approval, reason = "destructive", "renaming or swapping an object breaks what reads it"
        elif isinstance(node, exp.When) and str(node.args.get("then") or "").strip().upper() == "DELETE":
            approval, reason = "destructive", "MERGE … THEN DELETE removes rows"
        if isinstance(node, exp.Alter):
            actions: list[Any] = node.args.get("actions") or []
            for action in actions:
                rewrites = rewrites or rewrites_data(action)
    obj_kind = str(stmt.args.get("kind") or "").upper() if isinstance(stmt, (exp.Create, exp.Alter)) else ""
    if isinstance(stmt, exp.Create) and stmt.args.get("replace"):
        name = _objects(stmt)[0] if _objects(stmt) else ""
        in_scope = bool(name) and created is not None and created(name)
        if not in_scope and (exists is None or not name or obj_kind not in CHECKABLE_KINDS or exists(obj_kind, name)):
            approval = "replace_existing"
            reason = f"CREATE OR REPLACE of an existing {obj_kind or 'object'} {name}".rstrip()
    if isinstance(stmt, exp.Alter) and RETENTION_WORDS.search(stmt.sql(dialect=dialect)):
        approval, reason = "destructive", "changing data retention can make history unrecoverable"
    if obj_kind and obj_kind not in RELATION_KINDS:
        approval, reason = "governance", f"{kind} {obj_kind} changes an account or governance object"
    if obj_kind in CODE_KINDS:
        approval, reason = "procedure", f"a {obj_kind} runs code the guard cannot inspect"
    if obj_kind in ACCESS_KINDS:
        approval, reason = "privilege", f"{obj_kind} changes who may do what"
    if needs == "read" and not isinstance(stmt, _read_types()):
        return Verdict(kind, refused="unrecognised", reason=f"the guard does not recognise a {kind} statement")
    if needs == "read":
        return Verdict(kind)
    if rewrites:
        notes.insert(0, rewrites)
    outside = _outside_scope(written(stmt), exists, created)
    if outside:
        notes.append(f"it changes {', '.join(outside)}, which existed before this run")
        if not approval:
            approval, reason = "existing_object", f"{kind} of a relation this run did not create"
    return Verdict(
        kind,
        needs=needs,
        approval=approval,
        reason=reason,
        objects=tuple(dict.fromkeys([*_objects(stmt), *(name for _, name in written(stmt))])),
        notes=tuple(notes),
        creates=tuple(name for _, name in created_by(stmt)),
        rewrites=bool(rewrites),
    )


def _outside_scope(targets: list[tuple[str, str]], exists: Exists | None, created: Created | None) -> list[str]:
    """The targets that existed before the run (or the call): not created by it, and existing (a kind
    the guard cannot look up, or no ``exists`` at all, counts as existing)."""
    outside: list[str] = []
    for kind, name in targets:
        if created is not None and created(name):
            continue
        if exists is None or kind not in CHECKABLE_KINDS or exists(kind, name):
            outside.append(name)
    return outside


def _read_types() -> tuple[type, ...]:
    from sqlglot import exp

    return (exp.Query, exp.Values, exp.Show, exp.Describe, exp.Summarize)


def _refused_anywhere(stmt: object, dialect: Dialect) -> tuple[str, str] | None:
    """File and stage I/O, session-changing system functions and non-read DuckDB pragmas, at any depth."""
    from sqlglot import exp

    assert isinstance(stmt, exp.Expr)
    for node in stmt.walk():
        if isinstance(node, (exp.Put, exp.Get, exp.Attach, exp.Detach, exp.Install, exp.Export, exp.Pragma)):
            return "file_io", f"{type(node).__name__.upper()} touches files, extensions or settings and is refused"
        if isinstance(node, exp.Copy) and _copies_to_location(node, dialect):
            return "file_io", "COPY to or from a file or stage location is refused; load data through dbt seeds"
        if type(node).__name__ in FILE_EXPRESSIONS:
            return "file_io", "reading files from SQL is refused"
        if isinstance(node, exp.Func):
            fname = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
            if (fname in FILE_FUNCTIONS or fname.startswith(FILE_PREFIXES)) and (
                dialect == "duckdb" or isinstance(node, exp.Anonymous)
            ):
                return "file_io", f"{fname}() reads files, other databases or SQL strings and is refused"
            if fname.startswith("system$") and fname not in SYSTEM_READERS:
                return "system_function", f"{fname}() may change state and is refused"
        if isinstance(node, (exp.Summarize, exp.Describe, exp.Show)) and isinstance(node.this, exp.Literal):
            return "file_io", f"{type(node).__name__.upper()} of a string names a file and is refused"
        if (
            isinstance(node, exp.Table)
            and isinstance(node.this, exp.Var)
            and node.this.name.startswith("@")
            and node.find_ancestor(exp.Copy) is None
        ):
            return "file_io", f"reading the stage {node.this.name} from SQL is refused; load data through dbt"
        if dialect == "duckdb" and isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            name = node.this.name
            if "/" in name or "\\" in name or "." in name or ":" in name:
                return "file_io", f"{name!r} reads a file (DuckDB replacement scan) and is refused"
    return None


def _copies_to_location(node: object, dialect: Dialect) -> bool:
    """COPY to a file (an unload), or from anything but a named Snowflake stage (local files, URLs)."""
    from sqlglot import exp

    assert isinstance(node, exp.Copy)
    if not node.args.get("kind"):
        return True  # COPY … TO: an unload to a file
    target = node.this
    text = target.sql(dialect=dialect) if isinstance(target, exp.Expr) else str(target)
    if text.startswith(("@", "'")) or "://" in text:
        return True
    sources: list[Any] = node.args.get("files") or []
    for source in sources:
        shown = source.sql(dialect=dialect) if isinstance(source, exp.Expr) else str(source)
        if dialect == "duckdb" or not shown.startswith("@"):
            return True
    return False


def _statement_kind(stmt: object) -> str:
    from sqlglot import exp

    assert isinstance(stmt, exp.Expr)
    names = {"TruncateTable": "TRUNCATE", "Union": "SELECT", "Except": "SELECT", "Intersect": "SELECT"}
    name = type(stmt).__name__
    return names.get(name, name.upper())


def _objects(stmt: object) -> tuple[str, ...]:
    from sqlglot import exp

    assert isinstance(stmt, exp.Expr)
    found: list[str] = []
    targets: list[exp.Expr] = []
    if isinstance(stmt, exp.Drop):
        tables: list[Any] = stmt.args.get("tables") or []
        targets = [t for t in tables if isinstance(t, exp.Expr)]
    elif isinstance(stmt.this, exp.Expr):
        targets = [stmt.this]
    for target in targets:
        table = target if isinstance(target, exp.Table) else target.find(exp.Table)
        if isinstance(table, exp.Table):
            found.append(".".join(p.name for p in table.parts))
    return tuple(found)


def enforce(
    ctx: ToolContext,
    sql: str,
    dialect: Dialect,
    *,
    tool: str,
    read_only: bool = False,
    exists: Exists | None = None,
    created: Created | None = None,
) -> Verdict:
    """Raise :class:`GuardRefused` or :class:`~dacrew.errors.ApprovalRequired`, or return the verdict of
    a statement this caller may run now. The approval message carries the verdict's notes (every row,
    a rewritten column, the relations that existed before the run) one per line."""
    verdict = classify(sql, dialect, exists=exists, created=created)
    if verdict.refused:
        raise GuardRefused(f"{tool}: refused ({verdict.refused}): {verdict.reason}", rule=verdict.refused)
    if read_only and not verdict.is_read:
        raise GuardRefused(
            f"{tool} runs reads only and this is a {verdict.statement} statement (needs {verdict.needs}): "
            "use warehouse_execute, which applies your permissions",
            rule="read_only",
        )
    missing = [p for p in verdict.required if not ctx.can(p)]
    if missing:
        held = ", ".join(sorted(ctx.permissions)) or "none"
        who = f"agent {ctx.agent}" if ctx.agent else "a call without an agent"
        why = " (it rewrites or renames data)" if verdict.rewrites else ""
        raise GuardRefused(
            f"{tool}: a {verdict.statement} statement needs the {' and '.join(missing)} permission{why}; "
            f"{who} holds: {held}",
            rule="permission",
        )
    if verdict.approval:
        lines = [f"{tool}: {verdict.reason or verdict.statement} — needs a person's approval"]
        lines += [f"  - {note}" for note in verdict.notes]
        ctx.require_approval(
            f"{tool}:{verdict.approval}", "\n".join(lines), {"tool": tool, "sql": sql, "dialect": dialect}
        )
    return verdict

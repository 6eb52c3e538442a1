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

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from dacrew.errors import GuardRefused
from dacrew.tools.base import ToolContext
from dacrew.tools.sql.predicates import filters
from dacrew.tools.sql.rules import (
    ACCESS_KINDS,
    CHECKABLE_KINDS,
    CODE_KINDS,
    COMMAND_KIND,
    DESTRUCTIVE_WORDS,
    FILE_COMMANDS,
    FILE_EXPRESSIONS,
    FILE_FUNCTIONS,
    FILE_PREFIXES,
    INVISIBLE,
    READ_COMMANDS,
    RETENTION_WORDS,
    SESSION_COMMANDS,
    SYSTEM_READERS,
)

Permission = Literal["read", "write", "ddl"]
Dialect = Literal["duckdb", "snowflake"]
Exists = Callable[[str, str], bool]
"""``exists(kind, name)``: whether an object of that kind (TABLE, VIEW, SCHEMA…) exists."""


@dataclass(frozen=True)
class Verdict:
    """What the guard concluded about one statement."""

    statement: str
    """The statement's kind, upper case (SELECT, INSERT, DROP, ALTER…)."""
    needs: Permission = "read"
    refused: str = ""
    """The rule that refuses it whatever the caller holds ('' when not refused)."""
    approval: str = ""
    """The rule that holds it for a person's approval ('' when none)."""
    reason: str = ""
    objects: tuple[str, ...] = field(default_factory=tuple[str, ...])
    """Tables or objects the statement creates, changes or removes."""

    @property
    def is_read(self) -> bool:
        return self.needs == "read" and not self.refused


_SEVERITY = {"read": 0, "write": 1, "ddl": 2}


def classify(sql: str, dialect: Dialect, *, exists: Exists | None = None) -> Verdict:
    """Judge one SQL string. ``exists(name)`` tells whether an object exists (for CREATE OR REPLACE);
    without it a replace is always held for approval."""
    if INVISIBLE.search(sql):
        return Verdict("UNKNOWN", refused="invisible_characters", reason="the SQL holds invisible control characters")
    verdict = _classify_text(sql, dialect, exists)
    folded = unicodedata.normalize("NFKC", sql)
    if folded != sql and not verdict.refused:
        # Look-alike characters (full-width letters…) might be folded by some layer downstream: the
        # stricter of the two readings wins.
        other = _classify_text(folded, dialect, exists)
        if (
            other.refused
            or _SEVERITY[other.needs] > _SEVERITY[verdict.needs]
            or (other.approval and not verdict.approval)
        ):
            return other
    return verdict


def _classify_text(sql: str, dialect: Dialect, exists: Exists | None) -> Verdict:
    import sqlglot
    from sqlglot.errors import SqlglotError

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        parsed = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
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
    return _judge(parsed[0], dialect, exists)


def _judge(stmt: object, dialect: Dialect, exists: Exists | None) -> Verdict:
    from sqlglot import exp

    assert isinstance(stmt, exp.Expr)
    if isinstance(stmt, exp.Command):
        return _judge_command(stmt, dialect, exists)
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
    if isinstance(stmt, (exp.Drop, exp.TruncateTable)):
        return Verdict(kind, needs="ddl", approval="destructive", reason=f"{kind} removes data", objects=_objects(stmt))
    needs: Permission = "read"
    approval, reason = "", ""
    for node in stmt.walk():
        if isinstance(node, (exp.Insert, exp.Merge, exp.MultitableInserts, exp.Copy, exp.LoadData)):
            needs = _max(needs, "write")
            if isinstance(node, exp.Insert) and node.args.get("overwrite"):
                approval, reason = "destructive", "INSERT OVERWRITE replaces every row"
        elif isinstance(node, (exp.Update, exp.Delete)):
            needs = _max(needs, "write")
            where = node.args.get("where")
            in_merge = node.find_ancestor(exp.When) is not None  # a MERGE's ON clause is its filter
            if not in_merge and (where is None or not filters(where.this)):
                approval = "no_where"
                reason = f"{type(node).__name__.upper()} without a real WHERE changes every row"
        elif isinstance(node, (exp.Create, exp.Alter, exp.Comment, exp.Undrop, exp.Into, exp.Refresh)):
            needs = _max(needs, "ddl")
        elif isinstance(node, exp.Drop):
            needs = _max(needs, "ddl")
            approval, reason = "destructive", "the statement drops part of an object"
        elif isinstance(node, (exp.AlterRename, exp.SwapTable)):
            approval, reason = "destructive", "renaming or swapping an object breaks what reads it"
        elif isinstance(node, exp.When) and str(node.args.get("then") or "").strip().upper() == "DELETE":
            approval, reason = "destructive", "MERGE … THEN DELETE removes rows"
    obj_kind = str(stmt.args.get("kind") or "").upper() if isinstance(stmt, (exp.Create, exp.Alter)) else ""
    if isinstance(stmt, exp.Create) and stmt.args.get("replace"):
        name = _objects(stmt)[0] if _objects(stmt) else ""
        if exists is None or not name or obj_kind not in CHECKABLE_KINDS or exists(obj_kind, name):
            approval = "replace_existing"
            reason = f"CREATE OR REPLACE of an existing {obj_kind or 'object'} {name}".rstrip()
    if isinstance(stmt, exp.Alter) and RETENTION_WORDS.search(stmt.sql(dialect=dialect)):
        approval, reason = "destructive", "changing data retention can make history unrecoverable"
    if obj_kind in CODE_KINDS:
        approval, reason = "procedure", f"a {obj_kind} runs code the guard cannot inspect"
    if obj_kind in ACCESS_KINDS:
        approval, reason = "privilege", f"{obj_kind} changes who may do what"
    if needs == "read" and not isinstance(stmt, _read_types()):
        return Verdict(kind, refused="unrecognised", reason=f"the guard does not recognise a {kind} statement")
    return Verdict(
        kind, needs=needs, approval=approval, reason=reason, objects=_objects(stmt) if needs != "read" else ()
    )


def _read_types() -> tuple[type, ...]:
    from sqlglot import exp

    return (exp.Query, exp.Values, exp.Show, exp.Describe, exp.Summarize)


def _judge_command(stmt: object, dialect: Dialect, exists: Exists | None) -> Verdict:
    """sqlglot falls back to an opaque Command for syntax it does not model; judge it by its keyword,
    and judge the statement inside an EXPLAIN, SHOW or DESCRIBE as a statement of its own."""
    from sqlglot import exp

    assert isinstance(stmt, exp.Command)
    keyword = str(stmt.this).upper()
    rest = stmt.expression.name if isinstance(stmt.expression, exp.Expr) else str(stmt.expression or "")
    if keyword == "EXPLAIN":
        return _judge_explain(rest, dialect, exists)
    if keyword in READ_COMMANDS:
        return _judge_show(keyword, rest, dialect, exists)
    if keyword in SESSION_COMMANDS:
        return Verdict(keyword, refused="session", reason=f"{keyword} changes the session and is refused")
    if keyword in FILE_COMMANDS:
        return Verdict(keyword, refused="file_io", reason=f"{keyword} moves files or extensions and is refused")
    if keyword in {"CALL", "EXECUTE"}:
        return Verdict(
            keyword,
            needs="write",
            approval="procedure",
            reason=f"{keyword} runs code the guard cannot inspect",
        )
    if keyword in {"CREATE", "ALTER", "COMMENT"}:
        if keyword == "ALTER" and re.match(r"\s*SESSION\b", rest, re.IGNORECASE):
            return Verdict("ALTER", refused="session", reason="ALTER SESSION changes the session and is refused")
        destructive = DESTRUCTIVE_WORDS.search(rest) or RETENTION_WORDS.search(rest)
        replace = re.match(r"\s*OR\s+REPLACE\b", rest, re.IGNORECASE)
        found = COMMAND_KIND.match(rest)
        kind = " ".join(found["kind"].upper().split()) if found else ""
        if kind.endswith("INTEGRATION"):
            kind = "INTEGRATION"
        if kind in ACCESS_KINDS:
            return Verdict(
                keyword, needs="ddl", approval="privilege", reason=f"{keyword} {kind} changes who may do what"
            )
        if kind in CODE_KINDS or (keyword == "CREATE" and re.search(r"\bAS\b", rest, re.IGNORECASE)):
            return Verdict(
                keyword, needs="write", approval="procedure", reason=f"{keyword} {kind} runs code the guard cannot see"
            )
        approval = "destructive" if destructive else ("replace_existing" if replace else "")
        reason = f"{keyword} … {destructive.group(1).upper()}" if destructive else ""
        return Verdict(
            keyword, needs="ddl", approval=approval, reason=reason or ("CREATE OR REPLACE" if replace else "")
        )
    return Verdict(keyword, refused="unrecognised", reason=f"the guard does not recognise a {keyword} statement")


def _tokens(text: str, dialect: Dialect) -> list[Any] | None:
    """The tokens of ``text`` (comments dropped), or None when it does not tokenize."""
    from sqlglot.dialects.dialect import Dialect as SqlglotDialect
    from sqlglot.errors import SqlglotError

    try:
        return list(SqlglotDialect.get_or_raise(dialect).tokenize(text))
    except SqlglotError:
        return None


def _judge_explain(body: str, dialect: Dialect, exists: Exists | None) -> Verdict:
    """EXPLAIN ANALYZE (or ANALYSE) runs its statement: the verdict is the inner statement's. A plain
    EXPLAIN is held to the same verdict, so only the plan of a read is a read."""
    tokens = _tokens(body, dialect)
    if not tokens:
        return Verdict("EXPLAIN", refused="unparseable", reason="EXPLAIN of nothing the guard can read")
    words = [str(t.text).upper() for t in tokens]
    skip = 0
    if words[0] in {"ANALYZE", "ANALYSE"}:
        skip = 1
    elif words[0] == "USING" and len(words) > 1:
        skip = 2  # Snowflake: EXPLAIN USING TEXT|JSON|TABULAR
    inner = body[tokens[skip].start :] if skip < len(tokens) else ""
    verdict = _classify_text(inner, dialect, exists)
    if verdict.refused or not verdict.is_read:
        return dataclasses.replace(verdict, statement=f"EXPLAIN {verdict.statement}")
    return Verdict("EXPLAIN")


def _judge_show(keyword: str, body: str, dialect: Dialect, exists: Exists | None) -> Verdict:
    """SHOW/DESCRIBE of names is a read; one that holds a query, a string or a call is judged as the
    statement it holds (DuckDB: ``SHOW SELECT … FROM read_csv(…)``)."""
    from sqlglot.tokens import TokenType  # pyright: ignore[reportPrivateImportUsage]

    tokens = _tokens(body, dialect)
    if tokens is None:
        return Verdict(keyword, refused="unparseable", reason=f"{keyword} the guard cannot read")
    risky = {TokenType.STRING, TokenType.L_PAREN, TokenType.SELECT, TokenType.WITH, TokenType.FROM, TokenType.VALUES}
    if not any(t.token_type in risky for t in tokens):
        return Verdict(keyword)
    start = tokens[0].start
    if str(tokens[0].text).upper() in {"TABLE", "ALL"} and len(tokens) > 1:
        start = tokens[1].start
    verdict = _classify_text(body[start:], dialect, exists)
    if verdict.refused or not verdict.is_read:
        return verdict
    return Verdict(keyword)


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


def _max(a: Permission, b: Permission) -> Permission:
    return a if _SEVERITY[a] >= _SEVERITY[b] else b


def enforce(
    ctx: ToolContext,
    sql: str,
    dialect: Dialect,
    *,
    tool: str,
    read_only: bool = False,
    exists: Exists | None = None,
) -> Verdict:
    """Raise :class:`GuardRefused` or :class:`~dacrew.errors.ApprovalRequired`, or return the verdict of
    a statement this caller may run now."""
    verdict = classify(sql, dialect, exists=exists)
    if verdict.refused:
        raise GuardRefused(f"{tool}: refused ({verdict.refused}): {verdict.reason}", rule=verdict.refused)
    if read_only and not verdict.is_read:
        raise GuardRefused(
            f"{tool} runs reads only and this is a {verdict.statement} statement (needs {verdict.needs}): "
            "use warehouse_execute, which applies your permissions",
            rule="read_only",
        )
    if not ctx.can(verdict.needs):
        held = ", ".join(sorted(ctx.permissions)) or "none"
        who = f"agent {ctx.agent}" if ctx.agent else "a call without an agent"
        raise GuardRefused(
            f"{tool}: a {verdict.statement} statement needs the {verdict.needs} permission; {who} holds: {held}",
            rule="permission",
        )
    if verdict.approval:
        ctx.require_approval(
            f"{tool}:{verdict.approval}",
            f"{tool}: {verdict.reason or verdict.statement} — needs a person's approval",
            {"tool": tool, "sql": sql, "dialect": dialect},
        )
    return verdict

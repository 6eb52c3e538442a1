"""Statements sqlglot does not model (it falls back to an opaque ``Command``): judged by their keyword
and object kind against an allow-list, and the statement inside an EXPLAIN, SHOW or DESCRIBE judged as a
statement of its own."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from dacrew.tools.sql.rules import (
    ACCESS_KINDS,
    CHECKABLE_KINDS,
    CODE_KINDS,
    COMMAND_KIND,
    COMMAND_NAME,
    DATA_REWRITE_WORDS,
    DESTRUCTIVE_WORDS,
    FILE_COMMANDS,
    READ_COMMANDS,
    RETENTION_WORDS,
    SESSION_COMMANDS,
)
from dacrew.tools.sql.targets import RELATION_KINDS
from dacrew.tools.sql.verdict import Created, Dialect, Exists, Verdict

Classify = Callable[[str], Verdict]
"""The guard's own judgement of an SQL string, with the caller's dialect and scope bound."""


def judge_command(
    stmt: object, dialect: Dialect, classify: Classify, exists: Exists | None, created: Created | None
) -> Verdict:
    """The verdict on a statement sqlglot parsed as a ``Command``."""
    from sqlglot import exp

    assert isinstance(stmt, exp.Command)
    keyword = str(stmt.this).upper()
    rest = stmt.expression.name if isinstance(stmt.expression, exp.Expr) else str(stmt.expression or "")
    if keyword == "EXPLAIN":
        return _judge_explain(rest, dialect, classify)
    if keyword in READ_COMMANDS:
        return _judge_show(keyword, rest, dialect, classify)
    if keyword in SESSION_COMMANDS:
        return Verdict(keyword, refused="session", reason=f"{keyword} changes the session and is refused")
    if keyword in FILE_COMMANDS:
        return Verdict(keyword, refused="file_io", reason=f"{keyword} moves files or extensions and is refused")
    if keyword in {"CALL", "EXECUTE"}:
        return Verdict(
            keyword, needs="write", approval="procedure", reason=f"{keyword} runs code the guard cannot inspect"
        )
    if keyword in {"GRANT", "REVOKE"}:
        return Verdict(keyword, needs="ddl", approval="privilege", reason=f"{keyword} changes who may do what")
    if keyword in {"CREATE", "ALTER", "COMMENT"}:
        return _judge_object_command(keyword, rest, exists, created)
    return Verdict(keyword, refused="unrecognised", reason=f"the guard does not recognise a {keyword} statement")


def _judge_object_command(keyword: str, rest: str, exists: Exists | None, created: Created | None) -> Verdict:
    """CREATE / ALTER / COMMENT of an object kind sqlglot does not model. Only relation kinds (tables,
    views, schemas…) can be in a run's write scope; every other kind — shares, masking and row access
    policies, warehouses, resource monitors, network policies, integrations, roles — needs approval."""
    if keyword == "ALTER" and re.match(r"\s*SESSION\b", rest, re.IGNORECASE):
        return Verdict("ALTER", refused="session", reason="ALTER SESSION changes the session and is refused")
    found = COMMAND_KIND.match(rest)
    kind = " ".join(found["kind"].upper().split()) if found else ""
    if kind.endswith("INTEGRATION"):
        kind = "INTEGRATION"
    if kind in ACCESS_KINDS:
        return Verdict(keyword, needs="ddl", approval="privilege", reason=f"{keyword} {kind} changes who may do what")
    if kind in CODE_KINDS or (keyword == "CREATE" and re.search(r"\bAS\b", rest, re.IGNORECASE)):
        return Verdict(
            keyword, needs="write", approval="procedure", reason=f"{keyword} {kind} runs code the guard cannot see"
        )
    if kind not in RELATION_KINDS:
        return Verdict(
            keyword,
            needs="ddl",
            approval="governance",
            reason=f"{keyword} {kind or 'of an unknown kind'}: an account or governance object",
        )
    named = COMMAND_NAME.match(rest, found.end()) if found else None
    name = named["name"].replace('"', "") if named else ""
    destructive = DESTRUCTIVE_WORDS.search(rest) or RETENTION_WORDS.search(rest)
    rewrites = DATA_REWRITE_WORDS.search(rest)
    replace = re.match(r"\s*OR\s+REPLACE\b", rest, re.IGNORECASE)
    notes: list[str] = [f"it rewrites or renames data ({rewrites.group(0).upper()})"] if rewrites else []
    outside = keyword != "CREATE" or bool(replace)
    if outside and name and created is not None and created(name):
        outside = False
    elif outside and name and exists is not None and kind in CHECKABLE_KINDS:
        outside = exists(kind, name)
    if outside:
        notes.append(f"it changes {name or 'an object'}, which existed before this run")
    if destructive:
        approval, reason = "destructive", f"{keyword} … {destructive.group(1).upper()}"
    elif replace and outside:
        approval, reason = "replace_existing", f"CREATE OR REPLACE of an existing {kind} {name}".rstrip()
    elif outside:
        approval, reason = "existing_object", f"{keyword} {kind} of a relation this run did not create"
    else:
        approval, reason = "", ""
    return Verdict(
        keyword,
        needs="ddl",
        approval=approval,
        reason=reason,
        objects=(name,) if name else (),
        notes=tuple(notes),
        creates=(name,) if keyword == "CREATE" and name and not replace else (),
        rewrites=bool(rewrites),
    )


def _tokens(text: str, dialect: Dialect) -> list[Any] | None:
    """The tokens of ``text`` (comments dropped), or None when it does not tokenize."""
    from sqlglot.dialects.dialect import Dialect as SqlglotDialect
    from sqlglot.errors import SqlglotError

    try:
        return list(SqlglotDialect.get_or_raise(dialect).tokenize(text))
    except SqlglotError:
        return None


def _judge_explain(body: str, dialect: Dialect, classify: Classify) -> Verdict:
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
    verdict = classify(inner)
    if verdict.refused or not verdict.is_read:
        return dataclasses.replace(verdict, statement=f"EXPLAIN {verdict.statement}")
    return Verdict("EXPLAIN")


def _judge_show(keyword: str, body: str, dialect: Dialect, classify: Classify) -> Verdict:
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
    verdict = classify(body[start:])
    if verdict.refused or not verdict.is_read:
        return verdict
    return Verdict(keyword)

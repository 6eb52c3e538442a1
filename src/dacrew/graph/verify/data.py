"""Business rules as checks, read from the warehouse through the read-only query tools.

* ``sql: <query>`` — the first value of the first row is true (not NULL, false, 0 or empty).
* ``sql: <query> = <value>`` — the first value equals ``<value>`` (a number, ``'text'``, ``null``,
  ``true``/``false``); numbers within ``within <tolerance>`` or ``within <n>%`` (default 1e-6). Used
  when the whole argument is not itself a query: ``where status = 1`` stays part of the query, and a
  query ending in a comparison of its own is put in parentheses (``(select … where x = 1) = 5``).
* ``sql: <query> returns rows`` / ``returns no rows``.
* Any of these may end ``under <n> ms``: the query also ran within the time.
* Without a warehouse (no dbt project, profile or target to connect with) these are unverified.
* ``table: <relation> matches <file.csv> [ordered] [within <tolerance>]`` — the relation's rows equal the
  CSV's, by :mod:`dacrew.graph.compare`'s rules; the file is relative to the project.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dacrew.findings.format import CheckResult
from dacrew.graph.compare import DEFAULT_LIMIT, ExpectedTable, Tolerance, compare_table, read_expected_csv
from dacrew.graph.verify.common import call_tool, failed, passed, unverified, verdict
from dacrew.plan.model import TABLE_CHECK
from dacrew.tools.base import ToolContext

TABLE_ROWS = 10_000
"""The most rows a ``table`` check reads (the query tool's own limit)."""

_UNDER = re.compile(r"\s+under\s+(\d+(?:\.\d+)?)\s*ms\s*$", re.IGNORECASE)
_RETURNS = re.compile(r"\s+returns\s+(no\s+)?rows\s*$", re.IGNORECASE)
_WITHIN = r"(?:\s+within\s+(?P<tolerance>\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?P<percent>%)?)?"
_EQUALS = re.compile(
    r"^(?P<query>.+?)\s*=\s*(?P<value>'(?:[^']|'')*'|[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|null|true|false)"
    + _WITHIN
    + r"\s*$",
    re.IGNORECASE | re.DOTALL,
)
_OPTION_WITHIN = re.compile(r"within\s+(\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(%)?", re.IGNORECASE)


def _tolerance(amount: str | None, percent: str | None) -> Tolerance:
    if amount is None:
        return Tolerance()
    value = float(amount)
    return Tolerance(absolute=0.0, relative=value / 100) if percent else Tolerance(absolute=value, relative=0.0)


def _is_query(text: str) -> bool:
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    for dialect in (None, "duckdb", "snowflake"):
        try:
            parsed = sqlglot.parse(text, read=dialect)
        except SqlglotError:
            continue
        if len(parsed) == 1 and isinstance(parsed[0], exp.Query):
            return True
    return False


def _expected_value(text: str) -> str | None:
    if text.lower() == "null":
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return text


def _no_warehouse(ctx: ToolContext) -> str | None:
    """Why no warehouse can be reached (no dbt project, no profile or target), or None."""
    from dacrew.errors import UserError
    from dacrew.tools.profiles import load_target, locate

    try:
        load_target(locate(ctx))
    except UserError as exc:
        return f"no warehouse configured: {exc}"
    return None


def check_sql(ctx: ToolContext, argument: str) -> CheckResult:
    missing = _no_warehouse(ctx)
    if missing:
        return unverified("sql", argument, missing)
    text, limit_ms = argument.strip(), None
    under = _UNDER.search(text)
    if under:
        text, limit_ms = text[: under.start()].strip(), float(under.group(1))
    returns = _RETURNS.search(text)
    equals = None if returns or _is_query(text) else _EQUALS.match(text)
    sql = text[: returns.start()].strip() if returns else equals.group("query").strip() if equals else text
    if limit_ms is not None:
        timed = call_tool(ctx, "warehouse_timed_query", {"sql": sql})
        rows, elapsed = list(timed.sample), float(timed.elapsed_ms)
    else:
        result = call_tool(ctx, "warehouse_query", {"sql": sql, "limit": 10})
        rows, elapsed = list(result.rows), None
    timing = f"; {elapsed:.0f} ms (limit {limit_ms:.0f} ms)" if elapsed is not None and limit_ms is not None else ""
    in_time = limit_ms is None or (elapsed is not None and elapsed <= limit_ms)
    if returns:
        want_rows = returns.group(1) is None
        shown = f"the query returned {'rows' if rows else 'no rows'}{timing}"
        return verdict("sql", argument, bool(rows) == want_rows and in_time, shown)
    if not rows:
        return failed("sql", argument, "the query returned no rows" + timing)
    first: Any = rows[0][0] if rows[0] else None
    if equals:
        wanted = _expected_value(equals.group("value"))
        tolerance = _tolerance(equals.group("tolerance"), equals.group("percent"))
        same = compare_table(["value"], [(first,)], ExpectedTable(("value",), ((wanted,),)), tolerance=tolerance)
        shown = f"value: {first!r}, expected {equals.group('value')}{timing}"
        return verdict("sql", argument, same.matched and in_time, shown)
    truthy = first not in (None, False, 0, "0", "false", "False", "")
    return verdict("sql", argument, truthy and in_time, f"first value: {first!r}{timing}")


def check_table(ctx: ToolContext, argument: str) -> CheckResult:
    m = TABLE_CHECK.match(argument.strip())
    if not m:
        return failed("table", argument, "expected '<relation> matches <file.csv> [ordered] [within <tolerance>]'")
    options = m.group("options") or ""
    ordered = bool(re.search(r"\bordered\b", options, re.IGNORECASE))
    within = _OPTION_WITHIN.search(options)
    tolerance = _tolerance(within.group(1), within.group(2)) if within else Tolerance()
    relative = m.group("file")
    path = (ctx.project_dir / relative).resolve()
    if Path(relative).is_absolute() or not path.is_relative_to(ctx.project_dir.resolve()):
        return failed("table", argument, f"{relative} is outside the project")
    if not path.is_file():
        return unverified("table", argument, f"nothing to compare with: {relative} does not exist")
    missing = _no_warehouse(ctx)
    if missing:
        return unverified("table", argument, missing)
    try:
        expected = read_expected_csv(path)
    except (ValueError, UnicodeDecodeError) as exc:
        return unverified("table", argument, f"nothing to compare with: {str(exc).replace(str(path), relative)}")
    result = call_tool(ctx, "warehouse_query", {"sql": f"select * from {m.group('relation')}", "limit": TABLE_ROWS})
    if result.truncated:
        return unverified(
            "table", argument, f"{m.group('relation')} has more than {TABLE_ROWS} rows; compare an aggregate"
        )
    comparison = compare_table(
        [c.name for c in result.columns],
        result.rows,
        expected,
        tolerance=tolerance,
        ordered=ordered,
        limit=DEFAULT_LIMIT,
    )
    return (passed if comparison.matched else failed)("table", argument, comparison.message)

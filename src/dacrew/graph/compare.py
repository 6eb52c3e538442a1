"""Compare a table with an expected CSV, as analytics benchmarks do (``table: <relation> matches <file.csv>``).

The rules, in full:

* **Columns** are matched by name, case-insensitively. The expected table's columns must all be in the
  actual table; the actual table may have more (they are ignored). A column named twice (ignoring case)
  on either side is an error.
* **Cells** are compared by value, not by type: a cell is NULL, a number, or text.
  NULL is ``None`` or the empty string — a CSV cannot tell the two apart, so neither side does; NULL
  equals NULL and nothing else. Numbers are ``int``/``float``/``Decimal`` values and text that reads as a
  decimal number (``"12"``, ``"-0.5"``, ``"1e3"``, ``"inf"``, ``"NaN"``); two numbers match when
  ``math.isclose(a, b, rel_tol=relative, abs_tol=absolute)``; NaN matches NaN. Booleans are the text
  ``true``/``false`` (any case). Dates and timestamps are their ISO text, the time separated by a space
  (``2024-01-31``, ``2024-01-31 12:00:00``), and text that reads as one is written the same way. Any other
  text matches only the same text, case and spaces included.
* **Rows** are a multiset: order is ignored and duplicates count, unless ``ordered=True``, when row *i* is
  compared with row *i*. Unordered rows are paired by a maximum matching, so tolerance never depends on
  which of two near-equal rows came first.
* **The result** reports the symmetric difference: the rows only in the expected table and the rows only
  in the actual one (projected on the expected columns), each list capped at ``limit`` rows, with the
  full counts beside it.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

DEFAULT_LIMIT = 10

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}.*)?$")


@dataclass(frozen=True)
class Tolerance:
    """How far apart two numbers may be and still match: ``absolute`` (same unit as the values) or
    ``relative`` (a fraction of the larger magnitude), whichever allows more."""

    absolute: float = 1e-6
    relative: float = 1e-9

    def __post_init__(self) -> None:
        if self.absolute < 0 or self.relative < 0 or math.isnan(self.absolute) or math.isnan(self.relative):
            raise ValueError("a tolerance is a non-negative number")


@dataclass(frozen=True)
class ExpectedTable:
    """Column names and rows of the expected table; cells as text (``None`` or ``""`` for NULL) or values."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class TableComparison:
    """What :func:`compare_table` found.

    ``rows_only_in_expected`` / ``rows_only_in_actual`` hold at most ``limit`` rows each, in the expected
    table's column order (expected rows as written, actual rows as read); ``only_in_expected_count`` and
    ``only_in_actual_count`` count them all. ``message`` is one readable paragraph.
    """

    matched: bool
    columns: tuple[str, ...]
    missing_columns: tuple[str, ...]
    expected_count: int
    actual_count: int
    rows_only_in_expected: tuple[tuple[Any, ...], ...] = ()
    rows_only_in_actual: tuple[tuple[Any, ...], ...] = ()
    only_in_expected_count: int = 0
    only_in_actual_count: int = 0
    ordered: bool = False
    message: str = ""


def read_expected_csv(path: str | os.PathLike[str]) -> ExpectedTable:
    """Read a CSV with a header row (UTF-8, a BOM allowed). Raises ``ValueError`` naming the file and line
    for an empty file, a blank or repeated column name, or a row with the wrong number of fields;
    ``OSError`` if it cannot be read."""
    source = Path(path)
    with source.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{source}: the file is empty; the first line must name the columns")
        if any(not name.strip() for name in header):
            raise ValueError(f"{source}:1: a column has no name")
        rows: list[tuple[str, ...]] = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise ValueError(f"{source}:{reader.line_num}: {len(row)} fields where the header names {len(header)}")
            rows.append(tuple(row))
    table = ExpectedTable(tuple(name.strip() for name in header), tuple(rows))
    _column_index(table.columns, f"{source}: the expected table")
    return table


def compare_table(
    actual_columns: Sequence[str],
    actual_rows: Iterable[Sequence[Any]],
    expected: ExpectedTable | str | os.PathLike[str],
    *,
    tolerance: Tolerance | float = Tolerance(),
    ordered: bool = False,
    limit: int = DEFAULT_LIMIT,
) -> TableComparison:
    """Compare an actual table (its column names and rows) with the expected one (a CSV path or an
    :class:`ExpectedTable`). ``tolerance`` is a :class:`Tolerance` or an absolute tolerance as a float.
    Raises ``ValueError`` for a bad expected file, a column named twice or a row of the wrong width."""
    if not isinstance(tolerance, Tolerance):
        tolerance = Tolerance(absolute=float(tolerance), relative=0.0)
    table = expected if isinstance(expected, ExpectedTable) else read_expected_csv(expected)
    expected_index = _column_index(table.columns, "the expected table")
    actual_index = _column_index(actual_columns, "the actual table")
    missing = tuple(name for name in table.columns if name.casefold() not in actual_index)
    materialised = [tuple(row) for row in actual_rows]
    for number, row in enumerate(materialised, 1):
        if len(row) != len(actual_columns):
            raise ValueError(f"actual row {number} has {len(row)} values for {len(actual_columns)} columns")
    if missing:
        names = ", ".join(missing)
        return TableComparison(
            matched=False,
            columns=table.columns,
            missing_columns=missing,
            expected_count=len(table.rows),
            actual_count=len(materialised),
            ordered=ordered,
            message=f"columns missing from the actual table: {names} (it has {', '.join(actual_columns) or 'none'})",
        )
    positions = [actual_index[name.casefold()] for name in table.columns]
    projected = [tuple(row[p] for p in positions) for row in materialised]
    for number, row in enumerate(table.rows, 1):
        if len(row) != len(expected_index):
            raise ValueError(f"expected row {number} has {len(row)} values for {len(expected_index)} columns")
    expected_cells = [tuple(_cell(value) for value in row) for row in table.rows]
    actual_cells = [tuple(_cell(value) for value in row) for row in projected]
    if ordered:
        only_expected, only_actual = _ordered_difference(expected_cells, actual_cells, tolerance)
    else:
        only_expected, only_actual = _unordered_difference(expected_cells, actual_cells, tolerance)
    matched = not only_expected and not only_actual
    result = TableComparison(
        matched=matched,
        columns=table.columns,
        missing_columns=(),
        expected_count=len(table.rows),
        actual_count=len(projected),
        rows_only_in_expected=tuple(table.rows[i] for i in only_expected[:limit]),
        rows_only_in_actual=tuple(projected[i] for i in only_actual[:limit]),
        only_in_expected_count=len(only_expected),
        only_in_actual_count=len(only_actual),
        ordered=ordered,
    )
    return _with_message(result)


# A cell reduced to what comparison sees: None (NULL), ("n", float) or ("t", str).
_Cell = tuple[str, Any] | None


def _column_index(columns: Sequence[str], where: str) -> dict[str, int]:
    index: dict[str, int] = {}
    for position, name in enumerate(columns):
        key = str(name).casefold()
        if key in index:
            raise ValueError(f"{where} names the column {name!r} twice")
        index[key] = position
    return index


def _cell(value: Any) -> _Cell:
    if value is None:
        return None
    if isinstance(value, bool):
        return ("t", "true" if value else "false")
    if isinstance(value, int | float | Decimal):
        return ("n", float(value))
    if isinstance(value, datetime):
        return ("t", value.isoformat(sep=" "))
    if isinstance(value, date | time):
        return ("t", value.isoformat())
    text = value if isinstance(value, str) else str(value)
    if text == "":
        return None
    stripped = text.strip()
    if _NUMBER.match(stripped) or stripped.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        return ("n", float(stripped))
    if stripped.lower() in ("true", "false"):
        return ("t", stripped.lower())
    if _DATE_LIKE.match(stripped):
        try:
            parsed = datetime.fromisoformat(stripped)
        except ValueError:
            return ("t", text)
        if len(stripped) == 10:
            return ("t", parsed.date().isoformat())
        return ("t", parsed.isoformat(sep=" "))
    return ("t", text)


def _cells_match(left: _Cell, right: _Cell, tolerance: Tolerance) -> bool:
    if left is None or right is None:
        return left is right
    if left[0] != right[0]:
        return False
    if left[0] == "t":
        return left[1] == right[1]
    a, b = float(left[1]), float(right[1])
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or math.isclose(a, b, rel_tol=tolerance.relative, abs_tol=tolerance.absolute)


def _rows_match(left: tuple[_Cell, ...], right: tuple[_Cell, ...], tolerance: Tolerance) -> bool:
    return all(_cells_match(a, b, tolerance) for a, b in zip(left, right, strict=True))


def _ordered_difference(
    expected: list[tuple[_Cell, ...]], actual: list[tuple[_Cell, ...]], tolerance: Tolerance
) -> tuple[list[int], list[int]]:
    common = min(len(expected), len(actual))
    differing = [i for i in range(common) if not _rows_match(expected[i], actual[i], tolerance)]
    return differing + list(range(common, len(expected))), differing + list(range(common, len(actual)))


def _exact_key(row: tuple[_Cell, ...]) -> tuple[Any, ...]:
    # NaN != NaN, so it gets a key of its own; -0.0 == 0.0 already hashes alike.
    return tuple(("nan",) if c is not None and c[0] == "n" and math.isnan(c[1]) else c for c in row)


def _shape_key(row: tuple[_Cell, ...]) -> tuple[Any, ...]:
    # Rows can only match when their NULLs and texts are equal and their numbers sit in the same columns.
    return tuple(("n",) if c is not None and c[0] == "n" else c for c in row)


def _unordered_difference(
    expected: list[tuple[_Cell, ...]], actual: list[tuple[_Cell, ...]], tolerance: Tolerance
) -> tuple[list[int], list[int]]:
    buckets: dict[tuple[Any, ...], tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for i, row in enumerate(expected):
        buckets[_shape_key(row)][0].append(i)
    for j, row in enumerate(actual):
        buckets[_shape_key(row)][1].append(j)
    only_expected: list[int] = []
    only_actual: list[int] = []
    for expected_ids, actual_ids in buckets.values():
        pairs = _match_bucket(expected_ids, actual_ids, expected, actual, tolerance)
        only_expected.extend(i for i in expected_ids if i not in pairs)
        paired = set(pairs.values())
        only_actual.extend(j for j in actual_ids if j not in paired)
    return sorted(only_expected), sorted(only_actual)


def _match_bucket(
    expected_ids: list[int],
    actual_ids: list[int],
    expected: list[tuple[_Cell, ...]],
    actual: list[tuple[_Cell, ...]],
    tolerance: Tolerance,
) -> dict[int, int]:
    """A maximum matching expected → actual: exact pairs first, then augmenting paths (Kuhn's
    algorithm) that may re-route them, so the result is maximal whatever the tolerance."""
    if not expected_ids or not actual_ids:
        return {}
    by_key: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for j in reversed(actual_ids):
        by_key[_exact_key(actual[j])].append(j)
    pairs: dict[int, int] = {}
    owner: dict[int, int] = {}
    for i in expected_ids:
        candidates = by_key.get(_exact_key(expected[i]))
        if candidates:
            j = candidates.pop()
            pairs[i], owner[j] = j, i
    if len(pairs) == min(len(expected_ids), len(actual_ids)):
        return pairs
    neighbours: dict[int, list[int]] = {}

    def near(i: int) -> list[int]:
        if i not in neighbours:
            neighbours[i] = [j for j in actual_ids if _rows_match(expected[i], actual[j], tolerance)]
        return neighbours[i]

    def augment(i: int, seen: set[int]) -> bool:
        for j in near(i):
            if j in seen:
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                pairs[i], owner[j] = j, i
                return True
        return False

    for i in expected_ids:
        if i not in pairs:
            augment(i, set())
    return pairs


def _with_message(result: TableComparison) -> TableComparison:
    order = "in order" if result.ordered else "in any order"
    if result.matched:
        message = (
            f"{result.actual_count} rows match the expected {result.expected_count} {order} "
            f"on {len(result.columns)} columns ({', '.join(result.columns)})"
        )
    else:
        parts = [
            f"{result.only_in_expected_count} of {result.expected_count} expected rows not found, "
            f"{result.only_in_actual_count} of {result.actual_count} actual rows not expected ({order}; "
            f"columns {', '.join(result.columns)})"
        ]
        if result.rows_only_in_expected:
            parts.append("only in expected: " + "; ".join(_show(row) for row in result.rows_only_in_expected))
        if result.rows_only_in_actual:
            parts.append("only in actual: " + "; ".join(_show(row) for row in result.rows_only_in_actual))
        hidden = (result.only_in_expected_count - len(result.rows_only_in_expected)) + (
            result.only_in_actual_count - len(result.rows_only_in_actual)
        )
        if hidden:
            parts.append(f"and {hidden} more")
        message = "\n".join(parts)
    return replace(result, message=message)


def _show(row: tuple[Any, ...]) -> str:
    return "(" + ", ".join("NULL" if v is None or v == "" else str(v) for v in row) + ")"

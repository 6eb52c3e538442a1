"""`table: <relation> matches <file.csv>` — the comparison module, by example and by property."""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dacrew.graph.compare import ExpectedTable, Tolerance, compare_table, read_expected_csv


def write_csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "expected.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_csv_matches_typed_rows_in_any_order_with_extra_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "Tier,customers,avg_ltv\nhigh,5,212.5\nlow,20,10\nmedium,19,\n")
    result = compare_table(
        ["customer_tier", "TIER", "CUSTOMERS", "avg_ltv"],
        [("x", "low", 20, Decimal("10.000")), ("y", "medium", 19, None), ("z", "high", 5, 212.5000001)],
        path,
    )
    assert result.matched, result.message
    assert result.columns == ("Tier", "customers", "avg_ltv")
    assert result.message == "3 rows match the expected 3 in any order on 3 columns (Tier, customers, avg_ltv)"


def test_the_differing_rows_are_reported_both_ways(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "tier,customers\nhigh,5\nmedium,19\nlow,20\n")
    result = compare_table(["tier", "customers"], [("high", 44), ("medium", 0), ("low", 0)], path)
    assert not result.matched
    assert result.rows_only_in_expected == (("high", "5"), ("medium", "19"), ("low", "20"))
    assert result.rows_only_in_actual == (("high", 44), ("medium", 0), ("low", 0))
    assert (result.only_in_expected_count, result.only_in_actual_count) == (3, 3)
    assert result.message.splitlines() == [
        "3 of 3 expected rows not found, 3 of 3 actual rows not expected (in any order; columns tier, customers)",
        "only in expected: (high, 5); (medium, 19); (low, 20)",
        "only in actual: (high, 44); (medium, 0); (low, 0)",
    ]


def test_missing_columns_fail_and_are_named(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "tier,customers,threshold\nhigh,5,150\n")
    result = compare_table(["tier", "customers"], [("high", 5)], path)
    assert not result.matched
    assert result.missing_columns == ("threshold",)
    assert result.message == "columns missing from the actual table: threshold (it has tier, customers)"


def test_null_and_empty_are_the_same_and_match_nothing_else() -> None:
    expected = ExpectedTable(("a",), (("",), (None,)))
    assert compare_table(["a"], [(None,), ("",)], expected).matched
    zero = compare_table(["a"], [(0,), ("NULL",)], expected)
    assert (zero.matched, zero.only_in_expected_count, zero.only_in_actual_count) == (False, 2, 2)


def test_values_compare_by_value_not_type() -> None:
    expected = ExpectedTable(
        ("n", "flag", "day", "at", "name"),
        (("1e3", "TRUE", "2024-01-31", "2024-01-31T12:00:00", " spaced "),),
    )
    actual = [(Decimal("1000.00"), True, date(2024, 1, 31), datetime(2024, 1, 31, 12), " spaced ")]
    assert compare_table(list(expected.columns), actual, expected).matched
    other = [(1000, True, date(2024, 1, 31), datetime(2024, 1, 31, 12), "spaced")]
    assert not compare_table(list(expected.columns), other, expected).matched


def test_tolerance_is_absolute_or_relative() -> None:
    expected = ExpectedTable(("v",), (("100",),))
    assert compare_table(["v"], [(100.4,)], expected, tolerance=0.5).matched
    assert not compare_table(["v"], [(100.6,)], expected, tolerance=0.5).matched
    assert compare_table(["v"], [(101,)], expected, tolerance=Tolerance(absolute=0, relative=0.01)).matched
    assert not compare_table(["v"], [(102,)], expected, tolerance=Tolerance(absolute=0, relative=0.01)).matched
    with pytest.raises(ValueError, match="non-negative"):
        Tolerance(absolute=-1)


def test_nan_matches_nan_and_infinity_matches_infinity() -> None:
    expected = ExpectedTable(("v",), (("NaN",), ("inf",)))
    assert compare_table(["v"], [(math.inf,), (math.nan,)], expected).matched


def test_order_counts_only_when_asked() -> None:
    expected = ExpectedTable(("v",), (("1",), ("2",), ("3",)))
    assert compare_table(["v"], [(3,), (1,), (2,)], expected).matched
    result = compare_table(["v"], [(1,), (3,), (2,), (4,)], expected, ordered=True)
    assert not result.matched
    assert result.rows_only_in_expected == (("2",), ("3",))
    assert result.rows_only_in_actual == ((3,), (2,), (4,))
    assert "in order" in result.message


def test_duplicates_count() -> None:
    expected = ExpectedTable(("v",), (("1",), ("1",)))
    result = compare_table(["v"], [(1,)], expected)
    assert (result.matched, result.rows_only_in_expected) == (False, (("1",),))


def test_matching_is_maximal_whatever_the_tolerance() -> None:
    # Pairing the exact 0 with 0 would strand 1 and -1; a maximum matching pairs 0~1 and -1~0 instead.
    expected = ExpectedTable(("v",), (("0",), ("1",)))
    assert compare_table(["v"], [(0,), (-1,)], expected, tolerance=1.0).matched


def test_the_difference_is_capped_but_counted() -> None:
    expected = ExpectedTable(("v",), tuple((str(i),) for i in range(30)))
    result = compare_table(["v"], [], expected, limit=4)
    assert len(result.rows_only_in_expected) == 4
    assert result.only_in_expected_count == 30
    assert result.message.endswith("and 26 more")


def test_bad_expected_files_say_where(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"expected\.csv:3: 1 fields where the header names 2"):
        compare_table(["a", "b"], [], write_csv(tmp_path, "a,b\n1,2\n3\n"))
    with pytest.raises(ValueError, match="the file is empty"):
        read_expected_csv(write_csv(tmp_path, ""))
    with pytest.raises(ValueError, match="names the column 'A' twice"):
        read_expected_csv(write_csv(tmp_path, "a,A\n1,2\n"))
    with pytest.raises(ValueError, match="actual table names the column"):
        compare_table(["x", "X"], [], ExpectedTable(("x",), ()))


def test_a_bom_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufeffa,b\r\n1,x\r\n\r\n".encode())
    assert read_expected_csv(path) == ExpectedTable(("a", "b"), (("1", "x"),))


# --- properties -------------------------------------------------------------------------------------

cells = st.one_of(
    st.none(),
    st.integers(-1000, 1000),
    st.floats(-1e6, 1e6, allow_nan=False),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6),
    st.booleans(),
    st.dates(),
)
rows_strategy = st.integers(1, 4).flatmap(
    lambda width: st.tuples(st.just(width), st.lists(st.tuples(*[cells] * width), max_size=12))
)


def as_text(value: Any) -> str:
    """A value as a CSV writer would write it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


@settings(max_examples=150, deadline=None)
@given(rows_strategy, st.randoms(use_true_random=False))
def test_a_table_matches_its_own_csv_shuffled(data: tuple[int, list[tuple[Any, ...]]], rng: Any) -> None:
    width, rows = data
    columns = [f"c{i}" for i in range(width)]
    expected = ExpectedTable(tuple(c.upper() for c in columns), tuple(tuple(as_text(v) for v in r) for r in rows))
    shuffled = list(rows)
    rng.shuffle(shuffled)
    result = compare_table([*columns, "extra"], [(*r, "noise") for r in shuffled], expected)
    assert result.matched, result.message
    assert result.expected_count == result.actual_count == len(rows)


@settings(max_examples=150, deadline=None)
@given(rows_strategy, st.data())
def test_a_removed_row_is_reported_exactly(data: tuple[int, list[tuple[Any, ...]]], draw: st.DataObject) -> None:
    width, rows = data
    if not rows:
        return
    index = draw.draw(st.integers(0, len(rows) - 1))
    columns = [f"c{i}" for i in range(width)]
    expected = ExpectedTable(tuple(columns), tuple(rows))
    fewer = rows[:index] + rows[index + 1 :]
    result = compare_table(columns, fewer, expected)
    assert not result.matched
    assert (result.only_in_expected_count, result.only_in_actual_count) == (1, 0)
    swapped = compare_table(columns, rows, ExpectedTable(tuple(columns), tuple(fewer)))
    assert (swapped.only_in_expected_count, swapped.only_in_actual_count) == (0, 1)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.integers(-100_000, 100_000), min_size=1, max_size=10, unique=True),
    st.floats(0.0, 0.49),
    st.floats(0.51, 10.0),
)
def test_numbers_within_tolerance_match_and_beyond_do_not(steps: list[int], inside: float, outside: float) -> None:
    # Values 100 apart: a value moved by up to 10 can only ever match its own expected value.
    values = [step * 100.25 for step in steps]
    expected = ExpectedTable(("v",), tuple((repr(v),) for v in values))
    near = [(v + inside,) for v in values]
    assert compare_table(["v"], near, expected, tolerance=0.5).matched
    far = [(values[0] + outside,), *[(v,) for v in values[1:]]]
    result = compare_table(["v"], far, expected, tolerance=0.5)
    assert not result.matched
    assert result.only_in_expected_count == result.only_in_actual_count >= 1


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), max_size=10), st.integers(0, 5))
def test_counts_and_caps_are_consistent(rows: list[tuple[int, int]], limit: int) -> None:
    expected = ExpectedTable(("a", "b"), tuple((str(a), str(b)) for a, b in rows[: len(rows) // 2]))
    result = compare_table(["a", "b"], rows, expected, limit=limit)
    assert len(result.rows_only_in_expected) == min(limit, result.only_in_expected_count)
    assert len(result.rows_only_in_actual) == min(limit, result.only_in_actual_count)
    assert result.actual_count - result.only_in_actual_count == result.expected_count - result.only_in_expected_count
    assert result.matched == (result.only_in_expected_count == result.only_in_actual_count == 0)

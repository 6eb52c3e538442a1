"""Database values as JSON: what warehouse rows, profiles and dbt previews carry to the model and the
findings — exactly, so that a value read back from the JSON is the value the database returned.

The encoding (results carry each column's database type beside the rows, which says how to read it):

============================  ==============================================================
database value                JSON
============================  ==============================================================
NULL                          ``null`` (and only NULL)
boolean, integer (any size)   ``true``/``false``, an integer number (HUGEINT included, digit for digit)
finite float                  a number (the shortest text that reads back as the same double)
NaN, +∞, -∞ (float/decimal)   the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``
decimal with a fraction       a string holding the exact decimal, scale kept: ``"12345678901234567890.1234567890"``
whole decimal (scale 0)       an integer number
date, time, timestamp         ISO 8601 text; a timestamp with time zone keeps its offset
interval                      seconds as a number
binary                        hexadecimal text
UUID                          its canonical text
list, struct, map             a JSON array or object of the values above
============================  ==============================================================

So ``"NaN"`` in a DOUBLE column is NaN (in a VARCHAR column, the text), and ``"1.50"`` in a
DECIMAL(10,2) column is the decimal 1.50.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from typing import Any, cast


def _float(value: float) -> float | str:
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def _decimal(value: decimal.Decimal) -> int | str:
    if not value.is_finite():
        return "NaN" if value.is_nan() else ("Infinity" if value > 0 else "-Infinity")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= 0:
        return int(value)
    return format(value, "f")


def json_value(value: Any) -> Any:
    """``value`` as the JSON encoding above says (``json.dumps`` of the result is exact and strict)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, decimal.Decimal):
        return _decimal(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(cast(bytes, value)).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return str(value)

"""Warehouse column types (DuckDB, Snowflake) as Hyper and Tableau hold them.

Each type maps to the Hyper type that keeps its values (``NUMERIC(p,s)`` for decimals and HUGEINT,
``TIMESTAMP_TZ`` for a timestamp with time zone — the same instant —, ``TIME``, ``INTERVAL``…) and to
Tableau's datatype in the ``.tds`` (integer, real, string, boolean, date, datetime). A type Hyper has
no equivalent for (UUID, lists, structs, maps, unions, bit strings, Snowflake's VARIANT/OBJECT/ARRAY,
geometry) is stored as its text and carries a ``note`` saying so: the build reports it and
``tableau_check_fields`` does not call such a data source a match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

TableauType = Literal["integer", "real", "string", "boolean", "date", "datetime"]

INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "BYTEINT", "UTINYINT", "USMALLINT", "UINTEGER"}
FLOAT_TYPES = {"FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL"}
DECIMAL_TYPES = {"NUMBER", "NUMERIC", "DECIMAL", "FIXED"}
TEXT_TYPES = {"VARCHAR", "TEXT", "STRING", "CHAR", "CHARACTER", "BPCHAR", "NVARCHAR", "JSON", "ENUM"}
TIMESTAMP_TZ_TYPES = {"TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ", "TIMESTAMP_TZ", "TIMESTAMP_LTZ"}
NO_HYPER_EQUIVALENT = ("UUID", "STRUCT", "MAP", "UNION", "BIT", "VARIANT", "OBJECT", "ARRAY", "GEOMETRY", "GEOGRAPHY")
HYPER_MAX_PRECISION = 38


@dataclass(frozen=True)
class HyperType:
    hyper: str
    """The Hyper column type: ``BIG_INT``, ``NUMERIC(38,10)``, ``TIMESTAMP_TZ``, ``TEXT``…"""
    datatype: TableauType
    cast: str | None = None
    """The DuckDB type to cast the column to when reading it for the extract (None: as it is)."""
    note: str = ""
    """Why the column is not kept as it is (no Hyper equivalent); empty when it is."""


def _numeric(precision: int, scale: int, cast: str | None = None, *, wider_than_int64: bool = False) -> HyperType:
    # Whole decimals are integers to Tableau (Snowflake's INT is NUMBER(38,0)); HUGEINT and UBIGINT
    # values pass 64 bits, which Tableau's integer does not hold.
    whole = scale == 0 and not wider_than_int64
    return HyperType(f"NUMERIC({precision},{scale})", "integer" if whole else "real", cast)


def hyper_type_of(source_type: str) -> HyperType:
    """The Hyper type and Tableau datatype for a DuckDB or Snowflake column type."""
    t = " ".join(source_type.upper().split())
    base = t.split("(")[0].strip()
    if t.endswith("]") or base.startswith(NO_HYPER_EQUIVALENT) or base in {"LIST"}:
        return HyperType(
            "TEXT", "string", "VARCHAR", f"Hyper has no {source_type} type: the values are stored as their text"
        )
    if base in {"BOOLEAN", "BOOL"}:
        return HyperType("BOOL", "boolean")
    if base in INTEGER_TYPES:
        return HyperType("BIG_INT", "integer", "BIGINT")
    if base == "UBIGINT":
        return _numeric(20, 0, "DECIMAL(20,0)", wider_than_int64=True)
    if base == "HUGEINT":
        # 38 digits: every HUGEINT but those beyond ±10^38, which the extract refuses rather than rounds.
        return _numeric(HYPER_MAX_PRECISION, 0, "DECIMAL(38,0)", wider_than_int64=True)
    if base in DECIMAL_TYPES:
        args = [int(a) for a in re.findall(r"\d+", t)]
        if not args:
            # DuckDB's DECIMAL is DECIMAL(18,3); Snowflake's NUMBER is NUMBER(38,0).
            precision, scale = (38, 0) if base in {"NUMBER", "FIXED"} else (18, 3)
        else:
            precision, scale = args[0], (args[1] if len(args) > 1 else 0)
        return _numeric(min(precision, HYPER_MAX_PRECISION), scale)
    if base in FLOAT_TYPES:
        return HyperType("DOUBLE", "real", "DOUBLE")
    if base == "DATE":
        return HyperType("DATE", "date")
    if t in TIMESTAMP_TZ_TYPES or base in TIMESTAMP_TZ_TYPES:
        return HyperType("TIMESTAMP_TZ", "datetime")
    if base.startswith("TIMESTAMP") or base == "DATETIME":
        return HyperType("TIMESTAMP", "datetime", "TIMESTAMP")
    if base.startswith("TIME"):
        return HyperType("TIME", "datetime")
    if base == "INTERVAL":
        return HyperType("INTERVAL", "string")
    if base in {"BLOB", "BYTEA", "BINARY", "VARBINARY"}:
        return HyperType("BYTES", "string")
    if base in TEXT_TYPES:
        return HyperType("TEXT", "string", "VARCHAR")
    return HyperType(
        "TEXT", "string", "VARCHAR", f"Hyper has no {source_type} type: the values are stored as their text"
    )

"""Local Tableau artifacts, no server needed: a ``.tds`` data source per mart (columns, types, captions,
calculated fields for the feature's metrics, a connection to its extract) and the ``.hyper`` extract
written with tableauhyperapi from the warehouse table; and a check that a ``.tds`` matches its mart.

The table is read with DuckDB straight from the dbt profile's DuckDB path (:func:`open_table`), which
keeps this toolset independent of the warehouse toolset; that one function is the seam to swap.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.docs import readable_file, writable_file, write_atomic
from dacrew.tools.tableau.columns import TABLE_RE, dbt_target, open_table, table_shape
from dacrew.tools.tableau.hyper import extract_of, hyper_row_count, write_hyper
from dacrew.tools.tableau.tds import (
    FIELD_REF_RE,
    Metric,
    calc_name,
    caption,
    extract_source,
    field_role,
    snowflake_source,
    tds_document,
)

DATASOURCE_DIR = "tableau/datasources"
_NAME_RE = re.compile(r"^[A-Za-z0-9][\w\-]*$")


# -- tools ------------------------------------------------------------------------------------------
class BuildArgs(ToolArgs):
    table: str = Field(description="The mart to publish, e.g. analytics.fct_customer_ltv (schema.table).")
    name: str | None = Field(default=None, description="Data source name (default: the table's name).")
    metrics: list[Metric] = Field(
        default_factory=list[Metric], description="Calculated fields for the feature's metrics."
    )
    connection: Literal["extract", "live"] | None = Field(
        default=None,
        description="extract: a .hyper beside the .tds (the default on DuckDB); live: the Snowflake table "
        "itself, no extract (the default on Snowflake).",
    )


class FieldInfo(BaseModel):
    name: str
    caption: str
    datatype: str
    role: str
    source_type: str = ""
    """The warehouse column's type."""
    hyper_type: str | None = None
    """The extract's column type (``NUMERIC(38,10)``, ``TIMESTAMP_TZ``…); null for a live connection."""
    note: str = ""
    """Set when the values are not kept as they are: the type has no Hyper equivalent."""


class BuildResult(ToolResult):
    tds: str
    hyper: str | None = Field(description="The extract, or null for a live connection.")
    connection: Literal["extract", "live"]
    table: str
    rows: int
    fields: list[FieldInfo]
    calculated_fields: list[str]
    not_faithful: list[str] = Field(
        default_factory=list[str],
        description="Columns whose type has no Hyper equivalent, stored as text ('column: why'); "
        "tableau_check_fields fails while there are any.",
    )


@tool("tableau", read_only=False, idempotent=True)
def tableau_build_datasource(ctx: ToolContext, args: BuildArgs) -> BuildResult:
    """Write tableau/datasources/<name>.tds (and its .hyper extract) for a warehouse table, with no server.

    The .tds lists every column with its Tableau type, role and a readable caption, and adds one
    calculated field per metric (formulas refer to columns as [column_name], or to another metric by its
    name). On DuckDB it connects to a .hyper extract holding every row of the table; on Snowflake it is
    a live connection to the table (Tableau asks for the credentials; none are written).
    """
    if not TABLE_RE.match(args.table):
        raise ToolError(f"{args.table!r} is not a table name: use table, schema.table or database.schema.table")
    name = args.name or args.table.split(".")[-1]
    if not _NAME_RE.match(name):
        raise ToolError(f"{name!r}: a data source name is letters, digits, _ and - only")
    output, _, target = dbt_target(ctx)
    kind = str(output.get("type"))
    mode = args.connection or ("live" if kind == "snowflake" else "extract")
    if mode == "live" and kind != "snowflake":
        raise ToolError(f"a live connection needs a Snowflake target ({target!r} is {kind}): use an extract")
    if mode == "extract" and kind != "duckdb":
        raise ToolError(
            f"extracts are written from a DuckDB target ({target!r} is {kind}): build a live data source and "
            "let Tableau schedule the extract on the server"
        )
    rel_tds, rel_hyper = f"{DATASOURCE_DIR}/{name}.tds", f"{DATASOURCE_DIR}/{name}.hyper"
    tds_path = writable_file(ctx, rel_tds, tool_name="tableau_build_datasource")
    hyper_path = writable_file(ctx, rel_hyper, tool_name="tableau_build_datasource") if mode == "extract" else None
    out_dir = tds_path.parent
    if hyper_path is not None and hyper_path.parent != out_dir:
        raise GuardRefused(f"{rel_hyper} does not lie beside {rel_tds} (a symlink)", rule="symlink_escape")
    out_dir.mkdir(parents=True, exist_ok=True)
    if mode == "live":
        columns, rows = table_shape(ctx, args.table)
        tree = tds_document(name, snowflake_source(output, args.table), columns, args.metrics)
    else:
        with open_table(ctx, args.table) as (con, columns, quoted):
            tree = tds_document(name, extract_source(f"{name}.hyper"), columns, args.metrics)
            assert hyper_path is not None
            rows = write_hyper(hyper_path, con, quoted, columns)
    document = io.BytesIO()
    tree.write(document, encoding="utf-8", xml_declaration=True)
    write_atomic(tds_path, document.getvalue())
    fields = [
        FieldInfo(
            name=c.name,
            caption=caption(c.name),
            datatype=c.datatype,
            role=field_role(c)[0],
            source_type=c.source_type,
            hyper_type=c.hyper if mode == "extract" else None,
            note=c.note,
        )
        for c in columns
    ]
    return BuildResult(
        tds=rel_tds,
        hyper=rel_hyper if mode == "extract" else None,
        connection=mode,
        table=args.table,
        rows=rows,
        fields=fields,
        calculated_fields=[m.name for m in args.metrics],
        not_faithful=[f"{c.name}: {c.note}" for c in columns if c.note],
    )


class CheckFieldsArgs(ToolArgs):
    tds: str = Field(description="The .tds file, relative to the project.")
    table: str = Field(description="The warehouse table it should describe (schema.table).")


class CheckFieldsResult(ToolResult):
    matches: bool
    missing_in_tds: list[str] = Field(description="Columns of the table the .tds lacks.")
    unknown_in_tds: list[str] = Field(description="Fields of the .tds the table lacks.")
    type_mismatches: list[str]
    broken_calculations: list[str]
    not_faithful: list[str] = Field(
        default_factory=list[str], description="Columns whose type Hyper and Tableau cannot hold as it is."
    )
    table_rows: int
    hyper_rows: int | None = None
    message: str


def _tds_fields(path: Path) -> tuple[dict[str, str], dict[str, str], str | None]:
    """Plain fields (name → datatype), calculated fields (caption → formula) and the extract's dbname."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise ToolError(f"{path.name} is not valid XML: {exc}") from None
    plain: dict[str, str] = {}
    calcs: dict[str, str] = {}
    for col in root.findall("column"):
        field = col.get("name", "").strip("[]")
        calc = col.find("calculation")
        if calc is not None:
            calcs[col.get("caption") or field] = calc.get("formula", "")
        else:
            plain[field] = col.get("datatype", "")
    for rec in root.iter("metadata-record"):
        local = (rec.findtext("local-name") or "").strip("[]")
        if local and local not in plain:
            plain[local] = rec.findtext("local-type") or ""
    hyper = root.find(".//connection[@class='hyper']")
    return plain, calcs, hyper.get("dbname") if hyper is not None else None


@tool("tableau")
def tableau_check_fields(ctx: ToolContext, args: CheckFieldsArgs) -> CheckFieldsResult:
    """Check that a .tds matches its warehouse table: columns, types, calculations and extract rows.

    Every column present with the right type, no unknown field, every calculated field referring to
    existing fields, and (when the .tds has its .hyper extract beside it) as many rows as the table.

    This only reads: ok is true; `matches` says whether everything agrees.
    """
    path, _ = readable_file(ctx, args.tds, tool_name="tableau_check_fields")
    if not path.is_file():
        raise ToolError(f"{args.tds}: no such .tds file in the project")
    plain, calcs, dbname = _tds_fields(path)
    columns, table_rows = table_shape(ctx, args.table)
    # Warehouses fold unquoted names (Snowflake to upper case): compare names case-insensitively.
    expected = {c.name.casefold(): c for c in columns}
    in_tds = {n.casefold(): n for n in plain}
    missing = sorted(expected[k].name for k in set(expected) - set(in_tds))
    unknown = sorted(in_tds[k] for k in set(in_tds) - set(expected))
    mismatches = sorted(
        f"{in_tds[k]}: .tds says {plain[in_tds[k]]}, the table's {expected[k].source_type} is {expected[k].datatype}"
        for k in set(in_tds) & set(expected)
        if plain[in_tds[k]] != expected[k].datatype
    )
    known = set(plain) | {calc_name(c).strip("[]") for c in calcs}
    broken = sorted(
        f"{cap}: [{ref}]" for cap, formula in calcs.items() for ref in FIELD_REF_RE.findall(formula) if ref not in known
    )
    hyper_rows = None
    hyper_path = extract_of(ctx.project_dir, path, dbname)
    if hyper_path is not None:
        hyper_rows = hyper_row_count(hyper_path)
    rows_ok = hyper_rows is None or hyper_rows == table_rows
    not_faithful = sorted(f"{c.name}: {c.note}" for c in columns if c.note)
    matches = not (missing or unknown or mismatches or broken or not_faithful) and rows_ok
    problems = len(missing) + len(unknown) + len(mismatches) + len(broken) + len(not_faithful) + (0 if rows_ok else 1)
    message = (
        f"{args.tds} matches {args.table} ({len(expected)} columns, {len(calcs)} calculated fields)"
        if matches
        else f"{args.tds} does not match {args.table}: {problems} problem(s)"
        + ("" if rows_ok else f"; the extract has {hyper_rows} rows, the table {table_rows}")
    )
    return CheckFieldsResult(
        matches=matches,
        missing_in_tds=missing,
        unknown_in_tds=unknown,
        type_mismatches=mismatches,
        broken_calculations=broken,
        not_faithful=not_faithful,
        table_rows=table_rows,
        hyper_rows=hyper_rows,
        message=message,
    )

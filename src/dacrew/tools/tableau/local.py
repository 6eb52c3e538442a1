"""Local Tableau artifacts, no server needed: a ``.tds`` data source per mart (columns, types, captions,
calculated fields for the feature's metrics, a connection to its extract) and the ``.hyper`` extract
written with tableauhyperapi from the warehouse table; and a check that a ``.tds`` matches its mart.

The table is read with DuckDB straight from the dbt profile's DuckDB path (:func:`open_table`), which
keeps this toolset independent of the warehouse toolset; that one function is the seam to swap.
"""

from __future__ import annotations

import importlib
import io
import os
import re
import shutil
import tempfile
import uuid
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, Field

from dacrew.errors import GuardRefused, ToolError, UserError
from dacrew.tools.base import ToolArgs, ToolContext, ToolResult, tool
from dacrew.tools.docs import readable_file, writable_file, write_atomic
from dacrew.tools.files import is_secret

DATASOURCE_DIR = "tableau/datasources"
_TABLE_RE = re.compile(r"^[A-Za-z_][\w$]*(\.[A-Za-z_][\w$]*){0,2}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][\w\-]*$")
_ENV_VAR_RE = re.compile(r"\{\{\s*env_var\(\s*['\"](\w+)['\"]\s*(?:,\s*['\"]([^'\"]*)['\"]\s*)?\)\s*\}\}")
_FIELD_REF_RE = re.compile(r"\[([^\[\]]+)\]")
TableauType = Literal["integer", "real", "string", "boolean", "date", "datetime"]


# -- reading the warehouse table -------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    name: str
    source_type: str
    datatype: str
    """Tableau's datatype: integer, real, string, boolean, date or datetime."""
    select: str
    """The SELECT expression that yields a value Hyper accepts for this column."""


def _hyperapi() -> Any:
    """tableauhyperapi, imported on first use (it is heavy) and untyped for the checker."""
    return importlib.import_module("tableauhyperapi")


def _yaml_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError:
        raise UserError("cannot read the file", path=str(path)) from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {exc}", path=str(path)) from None
    return cast(dict[str, Any], data) if isinstance(data, dict) else {}


def _render_env(value: str) -> str:
    def sub(m: re.Match[str]) -> str:
        found = os.environ.get(m[1], m[2] or "")
        if m[1] not in os.environ and m[2] is None:
            raise UserError(f"the dbt profile needs the environment variable {m[1]}")
        return found

    return _ENV_VAR_RE.sub(sub, value)


def dbt_target(ctx: ToolContext) -> tuple[dict[str, Any], Path, str]:
    """The dbt profile's target as written (env_var() rendered), the dbt project folder, the target name."""
    cfg = ctx.config.dbt
    dbt_dir = (ctx.project_dir / (cfg.project_dir or ".")).resolve()
    profile = cfg.profile or _yaml_file(dbt_dir / "dbt_project.yml").get("profile")
    candidates = [
        Path(cfg.profiles_dir) if cfg.profiles_dir else None,
        Path(os.environ["DBT_PROFILES_DIR"]) if os.environ.get("DBT_PROFILES_DIR") else None,
        dbt_dir,
        ctx.project_dir,
        Path.home() / ".dbt",
    ]
    profiles_file = next(
        (
            (ctx.project_dir / d / "profiles.yml")
            for d in candidates
            if d is not None and (ctx.project_dir / d / "profiles.yml").is_file()
        ),
        None,
    )
    if profiles_file is None or not isinstance(profile, str):
        raise UserError("no dbt profile found (profiles.yml and `profile:` in dbt_project.yml)")
    entry: Any = _yaml_file(profiles_file).get(profile)
    if not isinstance(entry, dict):
        raise UserError(f"profile {profile!r} is not in the file", path=str(profiles_file))
    profile_entry = cast(dict[str, Any], entry)
    target = str(cfg.target or profile_entry.get("target"))
    outputs: Any = profile_entry.get("outputs") or {}
    output: Any = cast(dict[str, Any], outputs).get(target) if isinstance(outputs, dict) else None
    if not isinstance(output, dict):
        raise UserError(f"profile {profile!r} has no output {target!r}", path=str(profiles_file))
    rendered = {k: _render_env(v) if isinstance(v, str) else v for k, v in cast(dict[str, Any], output).items()}
    return rendered, dbt_dir, target


def duckdb_path(ctx: ToolContext) -> Path:
    """The DuckDB file of the dbt profile's target (dbt.project_dir, dbt.profiles_dir, dbt.target)."""
    output, dbt_dir, target = dbt_target(ctx)
    if output.get("type") != "duckdb":
        raise ToolError(f"target {target!r} is {output.get('type')}, not DuckDB: there is no local file to read")
    raw = str(output.get("path", ":memory:"))
    if raw.startswith(":memory:") or raw.startswith("md:"):
        raise ToolError(f"target {target!r} has no DuckDB file (path {raw!r}) to read the table from")
    path = Path(raw).expanduser()
    return path if path.is_absolute() else dbt_dir / path


_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "INT", "BIGINT", "BYTEINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_REAL_TYPES = {"FLOAT", "FLOAT4", "FLOAT8", "DOUBLE", "DOUBLE PRECISION", "REAL", "HUGEINT", "UBIGINT"}


def tableau_type(source_type: str) -> TableauType:
    """Tableau's datatype for a DuckDB or Snowflake column type."""
    t = source_type.upper().strip()
    base = t.split("(")[0].strip()
    if base in {"BOOLEAN", "BOOL"}:
        return "boolean"
    if base in _INTEGER_TYPES:
        return "integer"
    if base in {"NUMBER", "NUMERIC", "DECIMAL"}:
        args = re.findall(r"\d+", t)
        # Snowflake's NUMBER(p,0) holds whole numbers; money has a scale, and so does DuckDB's default DECIMAL.
        whole = (len(args) == 2 and args[1] == "0") or (not args and base == "NUMBER")
        return "integer" if whole else "real"
    if base in _REAL_TYPES:
        return "real"
    if base == "DATE":
        return "date"
    if base.startswith("TIMESTAMP") or base == "DATETIME":
        return "datetime"
    return "string"


def _column(name: str, source_type: str) -> Column:
    quoted = '"' + name.replace('"', '""') + '"'
    datatype = tableau_type(source_type)
    cast_to = {"integer": "BIGINT", "real": "DOUBLE", "datetime": "TIMESTAMP", "string": "VARCHAR"}.get(datatype)
    # Hyper takes BIGINT, DOUBLE, TIMESTAMP and text; its NUMERIC is narrower than DuckDB's DECIMAL.
    return Column(name, source_type, datatype, f"CAST({quoted} AS {cast_to})" if cast_to else quoted)


@contextmanager
def open_table(ctx: ToolContext, table: str) -> Generator[tuple[Any, list[Column], str]]:
    """A DuckDB connection, the table's columns and its quoted name; closed on exit.

    The connection is held under the process lock that dbt and the warehouse toolset take around their
    own use of the file: DuckDB refuses a second configuration of an open file in one process, so
    tasks running side by side take turns rather than fail.
    """
    import duckdb

    from dacrew.tools.base import WAREHOUSE_FILE_LOCK

    if not _TABLE_RE.match(table):
        raise ToolError(f"{table!r} is not a table name: use table, schema.table or database.schema.table")
    path = duckdb_path(ctx)
    if not path.is_file():
        raise ToolError(f"the warehouse file {path.name} does not exist yet: build the models first (dbt_build)")
    with WAREHOUSE_FILE_LOCK:
        try:
            con = duckdb.connect(str(path), read_only=True)
        except duckdb.ConnectionException:
            # Another connection in this process holds the file read-write: share its configuration.
            con = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            raise ToolError(f"cannot open the warehouse file {path.name}: {exc}") from None
        quoted = ".".join('"' + part + '"' for part in table.split("."))
        try:
            try:
                described = con.execute(f"DESCRIBE {quoted}").fetchall()
            except duckdb.CatalogException:
                raise ToolError(f"no table {table} in the warehouse; build it first or check the schema") from None
            yield con, [_column(str(r[0]), str(r[1])) for r in described], quoted
        finally:
            con.close()


def _warehouse_tool(ctx: ToolContext, name: str, args: dict[str, Any]) -> Any:
    """A call to the warehouse toolset (looked up when needed): it holds the Snowflake connection."""
    from dacrew.tools.registry import load_all

    found = load_all().get(name)
    if found is None:
        raise ToolError(f"reading a Snowflake table needs the warehouse toolset's {name}, which is not installed")
    return found.call(ctx, args)


def table_shape(ctx: ToolContext, table: str) -> tuple[list[Column], int]:
    """The table's columns and row count, from DuckDB directly or from Snowflake through the warehouse."""
    if not _TABLE_RE.match(table):
        raise ToolError(f"{table!r} is not a table name: use table, schema.table or database.schema.table")
    output, _, _ = dbt_target(ctx)
    if output.get("type") == "snowflake":
        parts = [p.upper() for p in table.split(".")]
        database = parts[-3] if len(parts) == 3 else str(output.get("database", "")).upper()
        schema = parts[-2] if len(parts) >= 2 else str(output.get("schema", "")).upper()
        # information_schema keeps NUMBER's scale, which tells whole numbers from money.
        described = _warehouse_tool(
            ctx,
            "warehouse_query",
            {
                "sql": "select column_name, data_type, numeric_precision, numeric_scale "
                f"from {database}.information_schema.columns where table_schema = '{schema}' "
                f"and table_name = '{parts[-1]}' order by ordinal_position"
            },
        )
        if not described.rows:
            raise ToolError(f"no table {table} in the warehouse; build it first or check the schema")
        columns = [
            _column(str(name), f"{kind}({precision},{scale})" if scale is not None else str(kind))
            for name, kind, precision, scale in described.rows
        ]
        counted = _warehouse_tool(ctx, "warehouse_query", {"sql": f"select count(*) from {table}"})
        return columns, int(counted.rows[0][0])
    with open_table(ctx, table) as (con, columns, quoted):
        return columns, int(con.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()[0])


# -- the .tds document ------------------------------------------------------------------------------
class Metric(BaseModel):
    """A feature metric, as a Tableau calculated field."""

    name: str = Field(description="The caption people see, e.g. 'Average Order Value'.")
    formula: str = Field(
        description="Tableau formula over the table's columns, e.g. SUM([amount]) / COUNTD([order_id])."
    )
    datatype: TableauType = "real"
    description: str = ""


def caption(name: str) -> str:
    return " ".join(w.upper() if w.lower() in {"id", "ltv", "aov", "usd"} else w.capitalize() for w in name.split("_"))


def _role(col: Column) -> tuple[str, str]:
    is_key = col.name.lower() == "id" or col.name.lower().endswith("_id")
    if col.datatype in {"integer", "real"} and not is_key:
        return "measure", "quantitative"
    if col.datatype in {"date", "datetime"} or is_key:
        return "dimension", "ordinal"
    return "dimension", "nominal"


def calc_name(metric: str) -> str:
    return "[Calculation_" + re.sub(r"\W+", "_", metric.strip()).strip("_").lower() + "]"


def _metric_formula(metric: Metric, columns: set[str], metrics: dict[str, str]) -> str:
    """The formula with references to other metrics by caption turned into their field names."""
    if metric.formula.count("(") != metric.formula.count(")"):
        raise ToolError(f"metric {metric.name!r}: unbalanced parentheses in {metric.formula!r}")

    def sub(m: re.Match[str]) -> str:
        ref = m[1]
        if ref in columns:
            return m[0]
        if ref in metrics and ref != metric.name:
            return metrics[ref]
        known = ", ".join(sorted(columns))
        raise ToolError(f"metric {metric.name!r} refers to [{ref}], which is not a column of the table ({known})")

    return _FIELD_REF_RE.sub(sub, metric.formula)


# Tableau's remote-type codes (OLE DB type numbers) for each datatype, as in the files Tableau writes.
_REMOTE_TYPE = {"integer": 20, "real": 5, "string": 129, "boolean": 11, "date": 133, "datetime": 135}


@dataclass(frozen=True)
class Source:
    """Where a data source's rows are: its local .hyper extract, or the warehouse table itself (live)."""

    connection: dict[str, str]
    """The attributes of the inner <connection> (class hyper or snowflake; never a password)."""
    table: str
    """The relation, e.g. [Extract].[Extract] or [MARTS].[CUSTOMER_LTV]."""
    relation_name: str


def extract_source(hyper_file: str) -> Source:
    return Source(
        {
            "authentication": "auth-none",
            "author-locale": "en_US",
            "class": "hyper",
            "dbname": hyper_file,
            "default-settings": "yes",
            "schema": "Extract",
            "sslmode": "",
            "tablename": "Extract",
            "username": "tableau_internal_user",
        },
        "[Extract].[Extract]",
        "Extract",
    )


def snowflake_source(output: dict[str, Any], table: str) -> Source:
    """A live connection to ``table`` on the target's account (Tableau asks for the password itself)."""
    parts = [p.upper() for p in table.split(".")]
    database = parts[-3] if len(parts) == 3 else str(output.get("database", "")).upper()
    schema = parts[-2] if len(parts) >= 2 else str(output.get("schema", "")).upper()
    return Source(
        {
            "authentication": "Username Password",
            "class": "snowflake",
            "dbname": database,
            "schema": schema,
            "server": f"{output.get('account', '')}.snowflakecomputing.com",
            "service": str(output.get("role") or ""),
            "username": str(output.get("user") or ""),
            "warehouse": str(output.get("warehouse") or ""),
        },
        f"[{schema}].[{parts[-1]}]",
        parts[-1],
    )


def tds_document(name: str, source: Source, columns: list[Column], metrics: list[Metric]) -> ET.ElementTree:
    kind = source.connection["class"]
    conn_name = f"{kind}.{uuid.uuid5(uuid.NAMESPACE_URL, name).hex[:28]}"
    root = ET.Element(
        "datasource",
        {
            "formatted-name": name,
            "inline": "true",
            "version": "18.1",
            "xmlns:user": "http://www.tableausoftware.com/xml/user",
        },
    )
    federated = ET.SubElement(root, "connection", {"class": "federated"})
    named = ET.SubElement(
        ET.SubElement(federated, "named-connections"), "named-connection", {"caption": name, "name": conn_name}
    )
    ET.SubElement(named, "connection", source.connection)
    ET.SubElement(
        federated,
        "relation",
        {"connection": conn_name, "name": source.relation_name, "table": source.table, "type": "table"},
    )
    records = ET.SubElement(federated, "metadata-records")
    for ordinal, col in enumerate(columns, start=1):
        rec = ET.SubElement(records, "metadata-record", {"class": "column"})
        role, _ = _role(col)
        for tag, text in (
            ("remote-name", col.name),
            ("remote-type", str(_REMOTE_TYPE[col.datatype])),
            ("local-name", f"[{col.name}]"),
            ("parent-name", f"[{source.relation_name}]"),
            ("remote-alias", col.name),
            ("ordinal", str(ordinal)),
            ("local-type", col.datatype),
            ("aggregation", "Sum" if role == "measure" else "Count"),
            ("contains-null", "true"),
        ):
            ET.SubElement(rec, tag).text = text
        attrs = ET.SubElement(rec, "attributes")
        debug = ET.SubElement(attrs, "attribute", {"datatype": "string", "name": "DebugRemoteType"})
        debug.text = f'"{col.source_type}"'
    ET.SubElement(root, "aliases", {"enabled": "yes"})
    for col in columns:
        role, kind = _role(col)
        ET.SubElement(
            root,
            "column",
            {
                "caption": caption(col.name),
                "datatype": col.datatype,
                "name": f"[{col.name}]",
                "role": role,
                "type": kind,
            },
        )
    by_caption = {m.name: calc_name(m.name) for m in metrics}
    column_names = {c.name for c in columns}
    for metric in metrics:
        el = ET.SubElement(
            root,
            "column",
            {
                "caption": metric.name,
                "datatype": metric.datatype,
                "name": calc_name(metric.name),
                "role": "measure" if metric.datatype in {"integer", "real"} else "dimension",
                "type": "quantitative" if metric.datatype in {"integer", "real"} else "nominal",
            },
        )
        ET.SubElement(
            el, "calculation", {"class": "tableau", "formula": _metric_formula(metric, column_names, by_caption)}
        )
        if metric.description:
            run = ET.SubElement(ET.SubElement(ET.SubElement(el, "desc"), "formatted-text"), "run")
            run.text = metric.description
    ET.SubElement(
        root, "layout", {"dim-ordering": "alphabetic", "measure-ordering": "alphabetic", "show-structure": "true"}
    )
    tree = ET.ElementTree(root)
    ET.indent(tree)
    return tree


# -- the .hyper extract -----------------------------------------------------------------------------
def _hyper_type(col: Column) -> Any:
    SqlType = _hyperapi().SqlType

    return {
        "boolean": SqlType.bool,
        "integer": SqlType.big_int,
        "real": SqlType.double,
        "date": SqlType.date,
        "datetime": SqlType.timestamp,
    }.get(col.datatype, SqlType.text)()


@contextmanager
def hyper_process() -> Generator[Any]:
    """A Hyper process with telemetry off, its log files in a temporary folder (never the project)."""
    hapi = _hyperapi()
    telemetry = hapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU
    with (
        tempfile.TemporaryDirectory(prefix="dacrew-hyper-") as logs,
        hapi.HyperProcess(telemetry, parameters={"log_dir": logs}) as hyper,
    ):
        yield hyper


def write_hyper(target: Path, con: Any, quoted_table: str, columns: list[Column]) -> int:
    """Write ``Extract.Extract`` from the DuckDB table into ``target`` (atomically); the rows written."""
    hapi = _hyperapi()
    TableDefinition, TableName = hapi.TableDefinition, hapi.TableName
    definition = TableDefinition(
        TableName("Extract", "Extract"), [TableDefinition.Column(c.name, _hyper_type(c)) for c in columns]
    )
    rows = 0
    with tempfile.TemporaryDirectory(prefix="dacrew-extract-") as tmp:
        staged = Path(tmp) / target.name
        with (
            hyper_process() as hyper,
            hapi.Connection(hyper.endpoint, staged, hapi.CreateMode.CREATE_AND_REPLACE) as hconn,
        ):
            hconn.catalog.create_schema("Extract")
            hconn.catalog.create_table(definition)
            cursor = con.execute(f"SELECT {', '.join(c.select for c in columns)} FROM {quoted_table}")
            with hapi.Inserter(hconn, definition) as inserter:
                while batch := cursor.fetchmany(10_000):
                    inserter.add_rows(batch)
                    rows += len(batch)
                inserter.execute()
        shutil.move(str(staged), target)
    return rows


def hyper_row_count(path: Path) -> int:
    hapi = _hyperapi()
    with hyper_process() as hyper, hapi.Connection(hyper.endpoint, path) as hconn:
        return int(hconn.execute_scalar_query(f"SELECT COUNT(*) FROM {hapi.TableName('Extract', 'Extract')}"))


def extract_of(root: Path, tds: Path, dbname: str | None) -> Path | None:
    """The .hyper extract a .tds points at (``dbname``, relative to the .tds), or None if there is none.

    The .tds is a file anyone could have edited: an extract outside the project (an absolute path, ``..``
    or a symlink), a secrets file or anything but a .hyper is refused, never read or sent.
    """
    if not dbname:
        return None
    root = root.resolve()
    path = (tds.parent / dbname).resolve()
    if not path.is_relative_to(root):
        raise GuardRefused(f"{tds.name}: its extract {dbname!r} is outside the project", rule="symlink_escape")
    if is_secret(path.relative_to(root).as_posix()) or path.suffix.lower() != ".hyper":
        raise GuardRefused(f"{tds.name}: its extract {dbname!r} is not a .hyper file", rule="secret")
    return path if path.is_file() else None


def package_tdsx(tds: Path, out_dir: Path, *, root: Path) -> Path | None:
    """A .tdsx bundling ``tds`` with the .hyper extract it points at, or None if it has no local extract.

    A .tds alone carries no data to a server: Tableau expects the extract inside the packaged file, at
    ``Data/Extracts/<file>.hyper``, which is where the bundled .tds points. The extract must lie inside
    the project ``root`` (:func:`extract_of`).
    """
    try:
        tree = ET.parse(tds)
    except ET.ParseError as exc:
        raise ToolError(f"{tds.name} is not valid XML: {exc}") from None
    hyper_conn = tree.getroot().find(".//connection[@class='hyper']")
    if hyper_conn is None:
        return None
    extract = extract_of(root, tds, hyper_conn.get("dbname"))
    if extract is None:
        return None
    inner = f"Data/Extracts/{extract.name}"
    hyper_conn.set("dbname", inner)
    target = out_dir / f"{tds.stem}.tdsx"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(tds.name, ET.tostring(tree.getroot(), encoding="utf-8", xml_declaration=True))
        bundle.write(extract, inner)
    return target


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


class BuildResult(ToolResult):
    tds: str
    hyper: str | None = Field(description="The extract, or null for a live connection.")
    connection: Literal["extract", "live"]
    table: str
    rows: int
    fields: list[FieldInfo]
    calculated_fields: list[str]


@tool("tableau", read_only=False)
def tableau_build_datasource(ctx: ToolContext, args: BuildArgs) -> BuildResult:
    """Write tableau/datasources/<name>.tds (and its .hyper extract) for a warehouse table, with no server.

    The .tds lists every column with its Tableau type, role and a readable caption, and adds one
    calculated field per metric (formulas refer to columns as [column_name], or to another metric by its
    name). On DuckDB it connects to a .hyper extract holding every row of the table; on Snowflake it is
    a live connection to the table (Tableau asks for the credentials; none are written).
    """
    if not _TABLE_RE.match(args.table):
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
    fields = [FieldInfo(name=c.name, caption=caption(c.name), datatype=c.datatype, role=_role(c)[0]) for c in columns]
    return BuildResult(
        tds=rel_tds,
        hyper=rel_hyper if mode == "extract" else None,
        connection=mode,
        table=args.table,
        rows=rows,
        fields=fields,
        calculated_fields=[m.name for m in args.metrics],
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
        f"{cap}: [{ref}]"
        for cap, formula in calcs.items()
        for ref in _FIELD_REF_RE.findall(formula)
        if ref not in known
    )
    hyper_rows = None
    hyper_path = extract_of(ctx.project_dir, path, dbname)
    if hyper_path is not None:
        hyper_rows = hyper_row_count(hyper_path)
    rows_ok = hyper_rows is None or hyper_rows == table_rows
    matches = not (missing or unknown or mismatches or broken) and rows_ok
    problems = len(missing) + len(unknown) + len(mismatches) + len(broken) + (0 if rows_ok else 1)
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
        table_rows=table_rows,
        hyper_rows=hyper_rows,
        message=message,
    )

"""The .tds document: a Tableau datasource over an extract or a live Snowflake table, with captions, roles and calculated metrics."""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from dacrew.errors import ToolError
from dacrew.tools.tableau.columns import Column, TableauType

FIELD_REF_RE = re.compile(r"\[([^\[\]]+)\]")


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


def field_role(col: Column) -> tuple[str, str]:
    is_key = col.name.lower() == "id" or col.name.lower().endswith("_id")
    if col.datatype in {"integer", "real"} and not is_key:
        return "measure", "quantitative"
    if col.datatype in {"date", "datetime"} or is_key:
        return "dimension", "ordinal"
    return "dimension", "nominal"


def calc_name(metric: str) -> str:
    return "[Calculation_" + re.sub(r"\W+", "_", metric.strip()).strip("_").lower() + "]"


def metric_formula(metric: Metric, columns: set[str], metrics: dict[str, str]) -> str:
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

    return FIELD_REF_RE.sub(sub, metric.formula)


# Tableau's remote-type codes (OLE DB type numbers) for each datatype, as in the files Tableau writes.
REMOTE_TYPE = {"integer": 20, "real": 5, "string": 129, "boolean": 11, "date": 133, "datetime": 135}


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
        role, _ = field_role(col)
        for tag, text in (
            ("remote-name", col.name),
            ("remote-type", str(REMOTE_TYPE[col.datatype])),
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
        role, kind = field_role(col)
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
            el, "calculation", {"class": "tableau", "formula": metric_formula(metric, column_names, by_caption)}
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

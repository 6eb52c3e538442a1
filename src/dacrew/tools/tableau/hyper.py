"""The .hyper extract (tableauhyperapi) and the packaged .tdsx."""

from __future__ import annotations

import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable, Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.files import is_secret
from dacrew.tools.tableau.columns import Column, hyperapi


# -- the .hyper extract -----------------------------------------------------------------------------
def hyper_type(col: Column) -> Any:
    """The tableauhyperapi SqlType of ``col.hyper`` (``NUMERIC(38,10)``, ``TIMESTAMP_TZ``…)."""
    SqlType = hyperapi().SqlType
    numeric = re.fullmatch(r"NUMERIC\((\d+),(\d+)\)", col.hyper)
    if numeric:
        return SqlType.numeric(int(numeric[1]), int(numeric[2]))
    return {
        "BOOL": SqlType.bool,
        "BIG_INT": SqlType.big_int,
        "DOUBLE": SqlType.double,
        "DATE": SqlType.date,
        "TIMESTAMP": SqlType.timestamp,
        "TIMESTAMP_TZ": SqlType.timestamp_tz,
        "TIME": SqlType.time,
        "INTERVAL": SqlType.interval,
        "BYTES": SqlType.bytes,
    }.get(col.hyper, SqlType.text)()


def _row_converter(columns: list[Column]) -> Callable[[tuple[Any, ...]], Any] | None:
    """What turns a DuckDB row into one the Inserter takes, when a column needs it (intervals)."""
    intervals = [i for i, c in enumerate(columns) if c.hyper == "INTERVAL"]
    if not intervals:
        return None
    Interval = hyperapi().Interval

    def convert(row: tuple[Any, ...]) -> list[Any]:
        values = list(row)
        for i in intervals:
            if values[i] is not None:
                months, days, micros = values[i]
                values[i] = Interval(int(months), int(days), int(micros))
        return values

    return convert


@contextmanager
def hyper_process() -> Generator[Any]:
    """A Hyper process with telemetry off, its log files in a temporary folder (never the project)."""
    hapi = hyperapi()
    telemetry = hapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU
    with (
        tempfile.TemporaryDirectory(prefix="dacrew-hyper-") as logs,
        # Database format 3 holds 128-bit NUMERIC (precision above 18); Tableau reads it since 2022.4.
        hapi.HyperProcess(telemetry, parameters={"log_dir": logs, "default_database_version": "3"}) as hyper,
    ):
        yield hyper


def write_hyper(target: Path, con: Any, quoted_table: str, columns: list[Column]) -> int:
    """Write ``Extract.Extract`` from the DuckDB table into ``target`` (atomically); the rows written."""
    hapi = hyperapi()
    TableDefinition, TableName = hapi.TableDefinition, hapi.TableName
    definition = TableDefinition(
        TableName("Extract", "Extract"), [TableDefinition.Column(c.name, hyper_type(c)) for c in columns]
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
            convert = _row_converter(columns)
            with hapi.Inserter(hconn, definition) as inserter:
                while batch := cursor.fetchmany(10_000):
                    inserter.add_rows(batch if convert is None else [convert(row) for row in batch])
                    rows += len(batch)
                inserter.execute()
        shutil.move(str(staged), target)
    return rows


def hyper_row_count(path: Path) -> int:
    hapi = hyperapi()
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

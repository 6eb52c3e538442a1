"""dbt checks: ``dbt: build|run|test|compile [--select SELECTION]``, run so that they change nothing.

A check never builds into the target and never writes in the project. dbt runs against a throwaway copy
of the target's DuckDB file, with its profiles, ``target/`` and logs in a temporary folder:

* every kind fails when the selection matches no node (``test``: no test);
* ``test`` and ``compile`` pass when every selected node passes in the copy (a copy also keeps
  ``store_failures`` tables out of the target);
* ``build`` and ``run`` prove that the task built its selection: the selection builds (and, for
  ``build``, its tests pass) in the copy; every selected seed, model and snapshot exists in the target
  and holds what its code builds now (same columns, same rows, numbers within 1e-9); and the target's
  database file was written after the task started. A task whose agent built nothing fails, whatever
  the code says.

Targets other than a DuckDB file (Snowflake, MotherDuck, ``:memory:``) give ``unverified``: there is no
throwaway copy to build into, and a check does not build into the target.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dacrew.errors import ApprovalRequired, GuardRefused
from dacrew.findings.format import CheckResult
from dacrew.graph.compare import ExpectedTable, TableComparison, Tolerance, compare_table
from dacrew.graph.verify.common import failed, passed, unverified
from dacrew.tools.base import ToolContext

if TYPE_CHECKING:
    from dacrew.tools.profiles import DbtLocation

_DBT = re.compile(r"^(build|test|run|compile)\b(?:\s+(?:--select|-s)\s+(.+))?$", re.IGNORECASE)
_OK = frozenset({"success", "pass", "warn", "skipped"})
_BUILT = frozenset({"model", "seed", "snapshot"})
COMPARED_ROWS = 10_000
"""Relations with more rows are compared by their row count only."""
_SAME = Tolerance(absolute=1e-9, relative=1e-9)


def check_dbt(ctx: ToolContext, argument: str, started: str | None = None) -> CheckResult:
    """Run one dbt check; ``started`` is when the task started (ISO-8601), for ``build`` and ``run``."""
    from dacrew.tools.profiles import load_target, locate

    m = _DBT.match(argument.strip())
    if not m:
        return failed("dbt", argument, "expected e.g. 'build --select staging' (build, run, test or compile)")
    command, select = m.group(1).lower(), (m.group(2) or "").strip() or None
    loc = locate(ctx)
    settings = load_target(loc)
    path = str(settings.get("path") or "")
    remote = path in ("", ":memory:") or "://" in path or path.startswith(("md:", "motherduck:"))
    if settings.get("type") != "duckdb" or remote:
        return unverified(
            "dbt",
            argument,
            f"the target {loc.target!r} is not a DuckDB file: a check builds only into a throwaway copy of the "
            "target, never the target itself",
        )
    with tempfile.TemporaryDirectory(prefix="dacrew-check-") as folder:
        return _in_copy(ctx, argument, command, select, loc, settings, Path(path), Path(folder), started)


def _in_copy(
    ctx: ToolContext,
    argument: str,
    command: str,
    select: str | None,
    loc: DbtLocation,
    settings: dict[str, Any],
    database: Path,
    scratch: Path,
    started: str | None,
) -> CheckResult:
    from dacrew.tools.dbt.guard import guard_invocation
    from dacrew.tools.dbt.runner import forget_manifest, invoke, node_results, parsed_manifest
    from dacrew.tools.dbt.selection import validate_selector

    copy = _copy_database(database, scratch / "warehouse")
    shadow = _shadow_location(loc, settings, copy, scratch)
    extra = ["--select", *validate_selector(select)] if select else []
    detail = {"command": command, "select": select, "target": loc.target, "check": True}
    try:
        guard_invocation(ctx, shadow, command, extra, detail)
    except ApprovalRequired as exc:
        return unverified("dbt", argument, f"the selection needs a person's approval to run: {exc.message}")
    except GuardRefused as exc:
        return failed("dbt", argument, f"refused by the dbt guard: {exc.message}")
    try:
        invocation = invoke(shadow, [command], extra)
        nodes = node_results(invocation.result)
        manifest = parsed_manifest(shadow) if command in ("build", "run") and nodes else None
    finally:
        forget_manifest(shadow)
    shown = select or "(everything)"
    if not invocation.success and not nodes:
        return failed("dbt", argument, invocation.error or "dbt failed")
    if command == "test" and not any(n.resource_type in ("test", "unit_test") for n in nodes):
        return failed("dbt", argument, f"the selection {shown} matches no test: nothing was verified")
    if not nodes:
        return failed("dbt", argument, f"the selection {shown} matches no node: nothing was verified")
    bad = [n for n in nodes if n.status not in _OK]
    if bad or not invocation.success:
        lines = [f"{n.name}: {n.status} {n.message or ''}".strip() for n in bad[:10]]
        return failed("dbt", argument, "\n".join(lines) or invocation.error or "dbt failed")
    if command not in ("build", "run"):
        return passed("dbt", argument, f"{len(nodes)} nodes passed (in a throwaway copy of the target)")
    relations = _relations(manifest, [n.unique_id for n in nodes if n.resource_type in _BUILT])
    problems = _stale(database, started) + _differences(database, copy, relations)
    if problems:
        return failed("dbt", argument, "the task did not build its selection in the target:\n" + "\n".join(problems))
    return passed(
        "dbt",
        argument,
        f"{len(nodes)} nodes passed in a throwaway copy of the target; the target holds what the code of "
        f"{len(relations)} relations builds",
    )


def _relations(manifest: Any, unique_ids: list[str]) -> list[str]:
    """The warehouse relations (``"db"."schema"."name"``) of these nodes; ephemeral models have none."""
    found: list[str] = []
    for unique_id in unique_ids:
        node = manifest.nodes.get(unique_id) if manifest is not None else None
        relation = getattr(node, "relation_name", None)
        if relation:
            found.append(str(relation))
    return found


def _copy_database(database: Path, folder: Path) -> Path:
    """Copy the DuckDB file (and its write-ahead log) under the warehouse lock; keep its name, which is
    the catalog name the project's views refer to."""
    from dacrew.tools.base import WAREHOUSE_FILE_LOCK

    folder.mkdir(parents=True)
    copy = folder / database.name
    with WAREHOUSE_FILE_LOCK:
        for source in (database, database.with_name(database.name + ".wal")):
            if source.is_file():
                shutil.copy2(source, folder / source.name)
    return copy


def _shadow_location(loc: DbtLocation, settings: dict[str, Any], copy: Path, scratch: Path) -> DbtLocation:
    import yaml

    folder = scratch / "profiles"
    folder.mkdir(mode=0o700)
    target = {**settings, "path": str(copy)}
    document = {loc.profile: {"target": loc.target, "outputs": {loc.target: target}}}
    profiles = folder / "profiles.yml"
    profiles.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    profiles.chmod(0o600)
    return replace(loc, profiles_dir=folder, default_target=loc.target, profile_target=loc.target, scratch=scratch)


def _stale(database: Path, started: str | None) -> list[str]:
    if started is None:
        return []
    begun = datetime.fromisoformat(started).timestamp()
    stamps = [p.stat().st_mtime for p in (database, database.with_name(database.name + ".wal")) if p.is_file()]
    if not stamps:
        return [f"the target database {database.name} does not exist"]
    if max(stamps) < begun:
        return [f"the target database {database.name} was last written before the task started ({started})"]
    return []


def _differences(database: Path, copy: Path, relations: list[str]) -> list[str]:
    problems: list[str] = []
    for relation in relations:
        target = _read(database, relation)
        if target is None:
            problems.append(f"{relation} does not exist in the target")
            continue
        built = _read(copy, relation)
        if built is None:
            problems.append(f"{relation} was not built from its code")
            continue
        if [c.lower() for c in target[0]] != [c.lower() for c in built[0]]:
            problems.append(f"{relation} has columns {', '.join(target[0])}; its code builds {', '.join(built[0])}")
            continue
        if len(target[1]) > COMPARED_ROWS or len(built[1]) > COMPARED_ROWS:
            if len(target[1]) != len(built[1]):
                problems.append(f"{relation} has {len(target[1])} rows; its code builds {len(built[1])}")
            continue
        comparison = compare_table(
            target[0], target[1], ExpectedTable(tuple(built[0]), tuple(built[1])), tolerance=_SAME
        )
        if not comparison.matched:
            problems.append(f"{relation} differs from what its code builds now: {_difference(comparison)}")
    return problems


def _difference(comparison: TableComparison) -> str:
    def rows(found: tuple[tuple[Any, ...], ...], count: int) -> str:
        shown = "; ".join("(" + ", ".join("NULL" if v is None else str(v) for v in row) + ")" for row in found)
        return shown + (f" and {count - len(found)} more" if count > len(found) else "")

    parts = []
    if comparison.only_in_actual_count:
        parts.append(f"only in the target: {rows(comparison.rows_only_in_actual, comparison.only_in_actual_count)}")
    if comparison.only_in_expected_count:
        built = rows(comparison.rows_only_in_expected, comparison.only_in_expected_count)
        parts.append(f"only in what the code builds: {built}")
    return "; ".join(parts)


def _read(database: Path, relation: str) -> tuple[list[str], list[tuple[Any, ...]]] | None:
    """Columns and up to COMPARED_ROWS + 1 rows of a relation, read-only and sandboxed; None if absent."""
    import duckdb

    from dacrew.tools.base import WAREHOUSE_FILE_LOCK
    from dacrew.tools.warehouse.duckdb_backend import SANDBOX_CONFIG

    if not database.is_file():
        return None
    with WAREHOUSE_FILE_LOCK:
        connection = duckdb.connect(str(database), read_only=True, config=dict(SANDBOX_CONFIG))
        try:
            cursor = connection.execute(f"select * from {relation}")
            columns = [str(d[0]) for d in cursor.description or []]
            return columns, cursor.fetchmany(COMPARED_ROWS + 1)
        except duckdb.CatalogException:
            return None
        finally:
            connection.close()

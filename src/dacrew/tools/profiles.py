"""Where the dbt project and its profile live, and the warehouse target they describe.

The dbt project is ``dbt.project_dir`` (relative to the dacrew project folder, default: the folder
itself). ``profiles.yml`` is found in ``dbt.profiles_dir``, else ``DBT_PROFILES_DIR``, else the dbt
project or the dacrew project folder when either holds one, else ``~/.dbt``. ``env_var()`` is rendered
like dbt does; a DuckDB ``path`` is resolved against the dbt project, never the working directory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from dacrew.errors import UserError
from dacrew.tools.base import ToolContext

PROFILES_FILE = "profiles.yml"
PROJECT_FILE = "dbt_project.yml"


@dataclass(frozen=True)
class DbtLocation:
    """The dbt project, its profiles folder, and the profile and target a call uses."""

    project_dir: Path
    profiles_dir: Path
    profile: str
    target: str
    default_target: str
    """The target a call uses when it names none: ``dbt.target`` in dacrew.yml, else the profile's."""
    profile_target: str = ""
    """The profile's own ``target:`` in profiles.yml — the development sandbox the dbt tools may build
    into without approval (dacrew.yml cannot move it)."""
    scratch: Path | None = None
    """A folder outside the project for everything dbt writes besides the warehouse (generated profiles,
    ``target/``, logs): the parent's checks run dbt there so that they leave the project untouched."""

    @property
    def profiles_file(self) -> Path:
        return self.profiles_dir / PROFILES_FILE


def dbt_project_dir(ctx: ToolContext) -> Path:
    """The dbt project folder; a :class:`UserError` when it holds no dbt_project.yml."""
    sub = ctx.config.dbt.project_dir
    root = (ctx.project_dir / sub).resolve() if sub else ctx.project_dir.resolve()
    if not (root / PROJECT_FILE).is_file():
        hint = "set dbt.project_dir in dacrew.yml" if not sub else "check dbt.project_dir in dacrew.yml"
        raise UserError(f"no {PROJECT_FILE} here ({hint})", path=str(root))
    return root


def profiles_dir(ctx: ToolContext, project_dir: Path) -> Path:
    configured = ctx.config.dbt.profiles_dir
    if configured:
        return (ctx.project_dir / Path(configured).expanduser()).resolve()
    env = os.environ.get("DBT_PROFILES_DIR")
    if env:
        return Path(env).expanduser().resolve()
    for candidate in (project_dir, ctx.project_dir.resolve()):
        if (candidate / PROFILES_FILE).is_file():
            return candidate
    return (Path.home() / ".dbt").resolve()


def locate(ctx: ToolContext, target: str | None = None) -> DbtLocation:
    """Find the project, the profiles folder, the profile and the target (``target`` overrides)."""
    project = dbt_project_dir(ctx)
    prof_dir = profiles_dir(ctx, project)
    project_yaml, _ = _load_yaml(project / PROJECT_FILE)
    profile = ctx.config.dbt.profile or str(project_yaml.get("profile") or "")
    if not profile:
        raise UserError("dbt_project.yml names no profile: add `profile: <name>`", path=str(project / PROJECT_FILE))
    profiles, node = _load_yaml(prof_dir / PROFILES_FILE)
    entry = profiles.get(profile)
    if not isinstance(entry, dict):
        raise UserError(f"no profile {profile!r} in profiles.yml", path=str(prof_dir / PROFILES_FILE))
    entry_map = cast(dict[str, Any], entry)
    own = str(_render(entry_map.get("target") or "default", prof_dir, node, (profile,)))
    default = ctx.config.dbt.target or own
    return DbtLocation(project, prof_dir, profile, str(target or default), str(default), own)


def load_target(loc: DbtLocation) -> dict[str, Any]:
    """The target's connection settings, ``env_var()`` rendered, DuckDB paths made absolute."""
    profiles, node = _load_yaml(loc.profiles_file)
    outputs: Any = cast(dict[str, Any], profiles[loc.profile]).get("outputs") or {}
    if not isinstance(outputs, dict) or loc.target not in outputs:
        known = ", ".join(sorted(str(k) for k in cast(dict[str, Any], outputs))) if isinstance(outputs, dict) else ""
        raise UserError(
            f"profile {loc.profile!r} has no target {loc.target!r} (targets: {known or 'none'})",
            path=str(loc.profiles_file),
            line=_line_of(node, (loc.profile, "outputs")),
        )
    raw: Any = cast(dict[str, Any], outputs)[loc.target]
    if not isinstance(raw, dict):
        raise UserError(f"target {loc.target!r} must be a mapping", path=str(loc.profiles_file))
    where = (loc.profile, "outputs", loc.target)
    settings = {
        str(k): _render(v, loc.profiles_dir, node, (*where, str(k))) for k, v in cast(dict[Any, Any], raw).items()
    }
    kind = str(settings.get("type") or "")
    if not kind:
        raise UserError(f"target {loc.target!r} has no type", path=str(loc.profiles_file), line=_line_of(node, where))
    if kind == "duckdb":
        settings["path"] = resolve_duckdb_path(str(settings.get("path") or ":memory:"), loc.project_dir)
    for key in ("port", "threads"):
        if isinstance(settings.get(key), str) and str(settings[key]).isdigit():
            settings[key] = int(settings[key])
    return settings


def is_production_target(target: str, names: list[str]) -> bool:
    """True when the target is named like a production one: ``prod``, ``prod_eu``, ``eu-production``…"""
    import re

    production = {n.lower() for n in names}
    return target.lower() in production or bool(set(re.split(r"[^a-z0-9]+", target.lower())) & production)


SANDBOX_PLUGIN = "dacrew.tools.warehouse.sandbox"


def sandboxed_profiles_dir(loc: DbtLocation) -> Path:
    """The profiles folder dbt is given. For a DuckDB target, a generated copy of the profile (in the
    dbt project's ``.dacrew/dbt-profiles/``) whose target loads the :mod:`dacrew.tools.warehouse.sandbox`
    plugin: external access off, only seed folders and attached databases readable. Other targets use
    ``profiles.yml`` as it is."""
    import hashlib

    profiles, _ = _load_yaml(loc.profiles_file)
    entry = profiles.get(loc.profile)
    outputs = cast(dict[str, Any], entry).get("outputs") if isinstance(entry, dict) else None
    raw = cast(dict[str, Any], outputs).get(loc.target) if isinstance(outputs, dict) else None
    if not isinstance(raw, dict) or str(load_target(loc).get("type")) != "duckdb":
        return loc.profiles_dir
    target = dict(cast(dict[str, Any], raw))
    allowed = [str(d) + "/" for d in _seed_dirs(loc.project_dir)]
    attached = [cast(dict[str, Any], a) for a in cast(list[Any], target.get("attach") or []) if isinstance(a, dict)]
    paths = [resolve_duckdb_path(str(a["path"]), loc.project_dir) for a in attached if a.get("path")]
    plugin = {"module": SANDBOX_PLUGIN, "config": {"allowed_directories": allowed, "allowed_paths": paths}}
    target["plugins"] = [*cast(list[Any], target.get("plugins") or []), plugin]
    doc: dict[str, Any] = {loc.profile: {"target": loc.target, "outputs": {loc.target: target}}}
    if "config" in profiles:
        doc["config"] = profiles["config"]
    text = str(yaml.safe_dump(doc, sort_keys=False))  # pyright: ignore[reportUnknownMemberType]
    key = hashlib.sha256(f"{loc.profiles_file}:{loc.profile}:{loc.target}".encode()).hexdigest()[:16]
    folder = loc.scratch / "sandboxed-profiles" if loc.scratch else loc.project_dir / ".dacrew" / "dbt-profiles" / key
    out = folder / PROFILES_FILE
    if not out.is_file() or out.read_text(encoding="utf-8") != text:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        out.write_text(text, encoding="utf-8")
        out.chmod(0o600)
    return folder


def _seed_dirs(project_dir: Path) -> list[Path]:
    """The folders dbt loads seeds from: the project's ``seed-paths`` and installed packages."""
    project, _ = _load_yaml(project_dir / PROJECT_FILE)
    seeds: Any = project.get("seed-paths") or project.get("data-paths") or ["seeds"]
    names = [str(s) for s in cast(list[Any], seeds)] if isinstance(seeds, list) else ["seeds"]
    packages = str(project.get("packages-install-path") or "dbt_packages")
    return [(project_dir / n).resolve() for n in [*names, packages]]


def resolve_duckdb_path(path: str, project_dir: Path) -> str:
    if path == ":memory:" or "://" in path or path.startswith(("md:", "motherduck:")):
        return path
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (project_dir / p).resolve())


def _load_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    if not path.is_file():
        raise UserError("file not found", path=str(path))
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise UserError(
            f"invalid YAML: {exc.problem or exc}", path=str(path), line=mark.line + 1 if mark else None
        ) from None
    if data is None:
        return {}, node
    if not isinstance(data, dict):
        raise UserError("must be a YAML mapping", path=str(path), line=1)
    return {str(k): v for k, v in cast(dict[Any, Any], data).items()}, node


def _line_of(node: yaml.Node | None, loc: tuple[str, ...]) -> int | None:
    line: int | None = None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        found: yaml.Node | None = None
        for key_node, value_node in node.value:
            if str(key_node.value) == key:
                line, found = key_node.start_mark.line + 1, value_node
                break
        if found is None:
            break
        node = found
    return line


def _render(value: Any, prof_dir: Path, node: yaml.Node | None, where: tuple[str, ...]) -> Any:
    """Render dbt's ``{{ env_var('X', 'default') }}`` (and its as_number/as_bool filters) in one value."""
    if not isinstance(value, str) or ("{{" not in value and "{%" not in value):
        return value
    import jinja2
    import jinja2.sandbox

    missing: list[str] = []

    def env_var(name: str, default: str | None = None) -> str:
        if name in os.environ:
            return os.environ[name]
        if default is not None:
            return default
        missing.append(name)
        return ""

    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    env.filters.update(as_number=_as_number, as_bool=_as_bool, as_text=str, as_native=_as_native)  # pyright: ignore[reportUnknownMemberType]
    shown = str(prof_dir / PROFILES_FILE)
    try:
        rendered = env.from_string(value).render(env_var=env_var)
    except jinja2.TemplateError as exc:
        raise UserError(f"cannot render {'.'.join(where)}: {exc}", path=shown, line=_line_of(node, where)) from None
    if missing:
        raise UserError(
            f"env var {missing[0]} is not set (used by {'.'.join(where)})", path=shown, line=_line_of(node, where)
        )
    return rendered


def _as_number(value: Any) -> Any:
    text = str(value)
    try:
        return int(text)
    except ValueError:
        return float(text)


def _as_native(value: Any) -> Any:
    return value


def _as_bool(value: Any) -> bool:
    return str(value).strip().lower() in {"true", "1", "yes", "on"}

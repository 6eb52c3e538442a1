"""The dbt project's code read from disk, before dbt parses anything (dbt's parse renders every model):
models, tests, snapshots, analyses and macros (``.sql``), the Jinja in their YAML and in
``dbt_project.yml``, each parsed with Jinja and held to the allow-list (:mod:`dacrew.tools.dbt.jinja_check`).
Installed packages (``dbt_packages/``) are read for the macros the project's code calls.

``profiles.yml`` and ``packages.yml`` are not project code: they are where dbt allows ``env_var`` (and
its ``DBT_ENV_SECRET_`` variables), and they hold no model logic.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dacrew.tools.dbt.jinja_check import Checker, Finding, MacroTable, macro_name, macros_of, parse

_DEFAULT_PATHS = {
    "model-paths": ["models"],
    "test-paths": ["tests"],
    "snapshot-paths": ["snapshots"],
    "analysis-paths": ["analyses"],
    "macro-paths": ["macros"],
}
_YAML = (".yml", ".yaml")


@dataclass
class CodeReview:
    """What the Jinja check found, with the sha256 of every file it read (an approval names them)."""

    findings: list[Finding] = field(default_factory=lambda: list[Finding]())
    files: dict[str, str] = field(default_factory=lambda: dict[str, str]())

    @property
    def refused(self) -> list[Finding]:
        return [f for f in self.findings if f.refused]

    def digest_items(self) -> list[tuple[str, str, str]]:
        """``(file, sha256 prefix, what)`` per finding: the part of an approval's digest that names code."""
        return sorted({(f.path, self.files.get(f.path, ""), f.what) for f in self.findings})


def _project_yaml(root: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load((root / "dbt_project.yml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}  # pyright: ignore[reportUnknownVariableType]


def _paths(root: Path, config: dict[str, Any], key: str) -> list[Path]:
    values: Any = config.get(key) or _DEFAULT_PATHS[key]
    listed: list[Any] = values if isinstance(values, list) else [values]  # pyright: ignore[reportUnknownVariableType]
    return [root / str(v) for v in listed]


def _files(folders: list[Path], suffixes: tuple[str, ...]) -> Iterator[Path]:
    for folder in folders:
        if folder.is_dir():
            yield from sorted(p for p in folder.rglob("*") if p.is_file() and p.name.endswith(suffixes))


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        if "{{" in data or "{%" in data:
            yield data
    elif isinstance(data, dict):
        for key, value in data.items():  # pyright: ignore[reportUnknownVariableType]
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:  # pyright: ignore[reportUnknownVariableType]
            yield from _strings(value)


def macro_table(root: Path) -> MacroTable:
    """The macros of the project (by name) and of its installed packages (``package.name``)."""
    table = MacroTable()
    config = _project_yaml(root)
    for path in _files(_paths(root, config, "macro-paths") + _paths(root, config, "test-paths"), (".sql",)):
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(root).as_posix()
        tree, _ = parse(text, rel)
        if tree is None:
            continue
        for macro in macros_of(tree):
            table.bodies[macro_name(macro)] = (rel, macro)
    packages = root / "dbt_packages"
    for package_dir in sorted(p for p in packages.iterdir() if p.is_dir()) if packages.is_dir() else []:
        package_config = _project_yaml(package_dir)
        name = str(package_config.get("name") or package_dir.name)
        table.packages.add(name)
        for path in _files(_paths(package_dir, package_config, "macro-paths"), (".sql",)):
            rel = path.relative_to(root).as_posix()
            tree, _ = parse(path.read_text(encoding="utf-8", errors="replace"), rel)
            if tree is None:
                continue
            for macro in macros_of(tree):
                table.bodies[f"{name}.{macro_name(macro)}"] = (rel, macro)
    return table


def review_code(root: Path, permissions: frozenset[str]) -> CodeReview:
    """Every Jinja template of the project checked against the allow-list for ``permissions``."""
    import yaml

    config = _project_yaml(root)
    table = macro_table(root)
    checker = Checker(table, permissions)
    review = CodeReview()
    code_dirs = [
        *_paths(root, config, "model-paths"),
        *_paths(root, config, "test-paths"),
        *_paths(root, config, "snapshot-paths"),
        *_paths(root, config, "analysis-paths"),
        *_paths(root, config, "macro-paths"),
    ]
    sources: list[tuple[str, list[str]]] = []
    for path in _files(code_dirs, (".sql", *_YAML)):
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(root).as_posix()
        review.files[rel] = hashlib.sha256(text.encode()).hexdigest()[:16]
        if path.name.endswith(_YAML):
            try:
                sources.append((rel, list(_strings(yaml.safe_load(text)))))
            except yaml.YAMLError:
                continue  # dbt reports the YAML error itself
        else:
            sources.append((rel, [text]))
    project_file = root / "dbt_project.yml"
    if project_file.is_file():
        text = project_file.read_text(encoding="utf-8", errors="replace")
        review.files["dbt_project.yml"] = hashlib.sha256(text.encode()).hexdigest()[:16]
        sources.append(("dbt_project.yml", list(_strings(config))))
    for rel, texts in sources:
        for text in texts:
            tree, error = parse(text, rel)
            if error is not None:
                review.findings.append(error)
            if tree is not None:
                review.findings.extend(checker.template(tree, rel))
    return review

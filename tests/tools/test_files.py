"""The files sandbox: reads inside the project, writes inside the task's Files, no escapes, no secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dacrew.errors import GuardRefused, ToolError
from dacrew.tools.base import ToolContext
from dacrew.tools.files import ListArgs, PathArgs, WriteArgs, files_list, files_read, files_write


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / "models" / "staging").mkdir(parents=True)
    (root / "models" / "staging" / "stg_orders.sql").write_text("select 1\n")
    (root / "profiles.yml").write_text("secret: hunter2\n")
    (root / ".env").write_text("TOKEN=x\n")
    (root / "keys").mkdir()
    (root / "keys" / "deploy.pem").write_text("-----BEGIN-----\n")
    (tmp_path / "outside.txt").write_text("outside\n")
    return root


def _ctx(root: Path, files: tuple[str, ...] = ("models/staging/",)) -> ToolContext:
    return ToolContext(project_dir=root, agent="dbt-expert", task_id="T004", files=files)


def test_read_and_list_inside_the_project(project: Path) -> None:
    ctx = _ctx(project)
    assert files_read(ctx, PathArgs(path="models/staging/stg_orders.sql")).content == "select 1\n"
    listed = {e.path for e in files_list(ctx, ListArgs()).entries}
    assert "models/staging/stg_orders.sql" in listed
    assert not listed & {"profiles.yml", ".env", "keys/deploy.pem"}


@pytest.mark.parametrize("path", ["profiles.yml", ".env", "keys/deploy.pem", "./profiles.yml", ".env.production"])
def test_secrets_are_unreadable(project: Path, path: str) -> None:
    (project / ".env.production").write_text("X=1\n")
    with pytest.raises(GuardRefused) as info:
        files_read(_ctx(project), PathArgs(path=path))
    assert info.value.rule == "secret"


@pytest.mark.parametrize(
    ("path", "rule"),
    [("../outside.txt", "parent_path"), ("models/../../outside.txt", "parent_path"), ("/etc/passwd", "absolute_path")],
)
def test_escapes_are_refused(project: Path, path: str, rule: str) -> None:
    with pytest.raises(GuardRefused) as info:
        files_read(_ctx(project), PathArgs(path=path))
    assert info.value.rule == rule


def test_symlink_escapes_are_refused(project: Path, tmp_path: Path) -> None:
    os.symlink(tmp_path / "outside.txt", project / "models" / "link.txt")
    os.symlink(tmp_path, project / "models" / "staging" / "up")
    ctx = _ctx(project)
    with pytest.raises(GuardRefused, match="symlink"):
        files_read(ctx, PathArgs(path="models/link.txt"))
    with pytest.raises(GuardRefused, match="symlink"):
        files_write(ctx, WriteArgs(path="models/staging/up/evil.sql", content="x"))
    assert not (tmp_path / "evil.sql").exists()


def test_writes_only_inside_the_task_files(project: Path) -> None:
    ctx = _ctx(project, ("models/staging/", "models/marts/fct_orders.sql"))
    out = files_write(ctx, WriteArgs(path="models/staging/stg_payments.sql", content="select 2\n"))
    assert (out.created, out.bytes_written) == (True, 9)
    assert (project / "models/staging/stg_payments.sql").read_text() == "select 2\n"
    files_write(ctx, WriteArgs(path="models/marts/fct_orders.sql", content="select 3\n"))
    assert (project / "models/marts/fct_orders.sql").read_text() == "select 3\n"
    with pytest.raises(GuardRefused) as info:
        files_write(ctx, WriteArgs(path="models/marts/dim_customers.sql", content="x"))
    assert info.value.rule == "outside_task_files"
    with pytest.raises(GuardRefused, match="secrets"):
        files_write(_ctx(project, ("repository root",)), WriteArgs(path="profiles.yml", content="x"))
    assert (project / "profiles.yml").read_text() == "secret: hunter2\n"


@pytest.mark.parametrize(
    "path",
    [
        ".git/hooks/pre-commit",
        ".dacrew/state.json",
        "findings/T001.md",
        "prompts/dbt-expert.md",
        "dbt_packages/dbt_utils/macros/x.sql",
        "target/compiled/x.sql",
        "dacrew.yml",
        "dbt_project.yml",
        "packages.yml",
        "sub/dbt_project.yml",
        "tasks.md",
    ],
)
def test_protected_folders_and_configuration_are_never_written(project: Path, path: str) -> None:
    """Review: an agent wrote `dbt: {target: prod}` to dacrew.yml; prompts/ would grant it permissions."""
    with pytest.raises(GuardRefused) as info:
        files_write(_ctx(project, ("repository root",)), WriteArgs(path=path, content="x"))
    assert info.value.rule in {"protected", "secret"}
    assert not (project / path).exists()


def test_configuration_is_written_only_by_a_task_whose_files_name_it(project: Path) -> None:
    ctx = _ctx(project, ("dacrew.yml", "models/", "*.yml"))
    files_write(ctx, WriteArgs(path="dacrew.yml", content="gates: phases\n"))
    assert (project / "dacrew.yml").read_text() == "gates: phases\n"
    with pytest.raises(GuardRefused) as info:
        files_write(ctx, WriteArgs(path="dbt_project.yml", content="x"))  # only through the glob
    assert info.value.rule == "protected"


@pytest.mark.parametrize(
    "path",
    [
        "rsa_key.p8",
        "keys/store.jks",
        "cert.p12",
        ".envrc",
        ".git/config",
        "secrets.yml",
        "config/client_secret.json",
        "gcp-credentials.json",
        ".netrc",
        ".dacrew/runs/r1/journal.jsonl",
        "target/compiled/shop/models/orders.sql",
        "target/run/shop/models/orders.sql",
        "target/run_results.json",
        "target/manifest.json",
        "logs/dbt.log",
        "dbt/build_output/run_results.json",
    ],
)
def test_more_secrets_are_unreadable_and_unlisted(project: Path, path: str) -> None:
    """Review: files_read returned rsa_key.p8, .envrc, .git/config and secrets.yml."""
    full = project / path
    full.parent.mkdir(parents=True, exist_ok=True)
    full.write_text("hunter2\n")
    (project / "dbt_project.yml").write_text("name: shop\n")
    (project / "dbt").mkdir(exist_ok=True)
    (project / "dbt" / "dbt_project.yml").write_text("name: inner\ntarget-path: build_output\n")
    with pytest.raises(GuardRefused) as info:
        files_read(_ctx(project), PathArgs(path=path))
    assert info.value.rule == "secret"
    listed = {e.path for e in files_list(_ctx(project), ListArgs()).entries}
    assert path not in listed
    assert "models/staging/stg_orders.sql" in listed


def test_without_a_task_nothing_is_written(project: Path) -> None:
    ctx = ToolContext(project_dir=project)
    with pytest.raises(GuardRefused) as info:
        files_write(ctx, WriteArgs(path="models/staging/x.sql", content="x"))
    assert info.value.rule == "no_task"
    assert not (project / "models/staging/x.sql").exists()


def test_missing_file_is_a_tool_error(project: Path) -> None:
    with pytest.raises(ToolError, match="files_list"):
        files_read(_ctx(project), PathArgs(path="models/nope.sql"))


# One glob meaning, from both sides: what the files sandbox lets a task write is what the plan's
# overlap rule says that task's Files name. (pattern, path, covered). The scheduler may only err
# towards overlap: a literal path could also be a folder (`…/deep/schema.yml/` would hold a match).
MAY_BE_A_FOLDER = {
    ("models/*/schema.yml", "models/marts/deep/schema.yml"),
    ("models/{staging,marts}/*.sql", "models/intermediate/x.sql"),
}
GLOB_CASES = [
    ("models/staging/stg_*.sql", "models/staging/stg_orders.sql", True),
    ("models/staging/stg_*.sql", "models/staging/stg_deep/nested/x.sql", False),
    ("models/staging/stg_*.sql", "models/staging/stg_.sql", True),
    ("models/staging/*.sql", "models/staging/sub/x.sql", False),
    ("models/**/*.sql", "models/staging/sub/x.sql", True),
    ("models/**", "models/a/b/c.yml", True),
    ("models/*/schema.yml", "models/marts/schema.yml", True),
    ("models/*/schema.yml", "models/marts/deep/schema.yml", False),
    ("models/marts/", "models/marts/fct_orders.sql", True),
    ("models/marts", "models/marts/fct_orders.sql", True),
    ("models/marts", "models/marts_old/x.sql", False),
    ("models/stg_?.sql", "models/stg_a.sql", True),
    ("models/stg_?.sql", "models/stg_/.sql", False),
    ("models/{staging,marts}/*.sql", "models/marts/x.sql", True),
    ("models/{staging,marts}/*.sql", "models/intermediate/x.sql", False),
    ("Repository root", "anything/at/all.txt", True),
]


@pytest.mark.parametrize(("pattern", "path", "covered"), GLOB_CASES)
def test_one_glob_meaning_for_the_sandbox_and_the_scheduler(
    project: Path, pattern: str, path: str, covered: bool
) -> None:
    from dacrew.plan.globs import files_overlap

    # The scheduler's side: a task writing exactly `path` overlaps a task holding `pattern`.
    assert files_overlap([pattern], [path]) is (covered or (pattern, path) in MAY_BE_A_FOLDER)
    # The sandbox's side: a task holding `pattern` may write `path`.
    if covered:
        assert files_write(_ctx(project, (pattern,)), WriteArgs(path=path, content="x\n")).path == path
    else:
        with pytest.raises(GuardRefused) as info:
            files_write(_ctx(project, (pattern,)), WriteArgs(path=path, content="x\n"))
        assert info.value.rule == "outside_task_files"
        assert not (project / path).exists()

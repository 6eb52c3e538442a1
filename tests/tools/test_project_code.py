"""The dbt project's code as the Jinja check reads it from disk: every code folder and its YAML,
dbt_project.yml, macros of installed packages followed through calls and dispatch; profiles.yml and
packages.yml left to dbt (the only places env_var may be)."""

from __future__ import annotations

from pathlib import Path

from dacrew.tools.dbt.project_code import review_code

READ = frozenset({"read"})


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


BASE = {
    "dbt_project.yml": "name: shop\nprofile: shop\nmodel-paths: [models, more_models]\n",
    "profiles.yml": "shop:\n  outputs:\n    dev: {type: duckdb, path: \"{{ env_var('DB_PATH', 'x.duckdb') }}\"}\n",
    "packages.yml": "packages:\n  - git: \"https://{{ env_var('DBT_ENV_SECRET_GIT_TOKEN') }}@example.com/x.git\"\n",
    "models/a.sql": "select * from {{ ref('b') }}\n",
}


def test_a_clean_project_has_no_findings_and_profiles_and_packages_are_not_project_code(tmp_path: Path) -> None:
    review = review_code(_write(tmp_path, BASE), READ)
    assert review.findings == []
    assert set(review.files) == {"models/a.sql", "dbt_project.yml"}


def test_every_code_folder_and_its_yaml_is_read(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            **BASE,
            "more_models/x.sql": "{% do run_query('delete from t') %}select 1",
            "snapshots/s.sql": "{% snapshot s %}select '{{ env_var('X') }}'{% endsnapshot %}",
            "snapshots/clean.sql": "{% snapshot c %}{{ config(strategy='check') }}select 1{% endsnapshot %}",
            "analyses/q.sql": "{{ adapter.execute('drop table t') }}",
            "models/schema.yml": "models:\n  - name: a\n    description: \"{{ env_var('API_KEY') }}\"\n",
        },
    )
    found = {(f.path, f.refused) for f in review_code(root, READ).findings}
    assert ("more_models/x.sql", False) in found
    assert ("analyses/q.sql", False) in found
    assert ("models/schema.yml", True) in found
    assert ("snapshots/s.sql", True) in found
    assert not any(path == "snapshots/clean.sql" for path, _ in found)  # a snapshot block parses


def test_env_var_in_dbt_project_yml_is_refused(tmp_path: Path) -> None:
    root = _write(
        tmp_path, {**BASE, "dbt_project.yml": BASE["dbt_project.yml"] + "vars:\n  k: \"{{ env_var('K') }}\"\n"}
    )
    (finding,) = review_code(root, READ).findings
    assert (finding.path, finding.refused) == ("dbt_project.yml", True)


def test_package_macros_are_followed_through_calls_and_dispatch(tmp_path: Path) -> None:
    root = _write(
        tmp_path,
        {
            **BASE,
            "dbt_packages/helpers/dbt_project.yml": "name: helpers\n",
            "dbt_packages/helpers/macros/m.sql": (
                "{% macro pure(x) %}{{ x | upper }}{% endmacro %}"
                "{% macro wipe() %}{{ adapter.dispatch('wipe', 'helpers')() }}{% endmacro %}"
                "{% macro default__wipe() %}{% do run_query('delete from t') %}{% endmacro %}"
            ),
            "models/ok.sql": "select '{{ helpers.pure('a') }}'",
            "models/bad.sql": "select 1 {{ helpers.wipe() }}",
        },
    )
    findings = review_code(root, READ).findings
    assert [f.path for f in findings] == ["models/bad.sql"]
    assert "helpers.wipe" in findings[0].what
    assert "default__wipe" in findings[0].what

"""Project configuration: ``dacrew.yml`` in the project folder, overridden by ``DACREW_<SECTION>__<KEY>``.

Secrets come only from the environment (``ANTHROPIC_API_KEY``, ``DACREW_TABLEAU__TOKEN_SECRET``,
``DACREW_ORCHESTRA__API_KEY``); a secret written into ``dacrew.yml`` is an error, so it never lands in
a repository. Warehouse connections are not configured here: they come from the dbt profile.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from dacrew.errors import UserError

CONFIG_FILE = "dacrew.yml"
DEFAULT_MODEL = "anthropic:claude-sonnet-5-5"
ORCHESTRA_BASE_URL = "https://app.getorchestra.io/api/engine/public"
SECRET_KEYS = {("tableau", "token_secret"), ("orchestra", "api_key")}


class DbtSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    project_dir: str | None = None
    """The dbt project, relative to the dacrew project folder (default: the folder itself)."""
    profiles_dir: str | None = None
    """Where profiles.yml lives (default: ``DBT_PROFILES_DIR``, then the project folder, then ~/.dbt)."""
    target: str | None = None
    """The profile target (default: the profile's own ``target``)."""
    profile: str | None = None
    """The profile name (default: ``profile:`` in dbt_project.yml)."""
    production_targets: list[str] = Field(default_factory=lambda: ["prod", "production"])
    """Targets the dbt tools build into only with a person's approval (names compared case-insensitively)."""


class TableauSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    server_url: str | None = None
    site: str = ""
    """The site's content URL ("" is the default site)."""
    token_name: str | None = None
    project: str = "default"
    token_secret: SecretStr | None = None
    """Only from ``DACREW_TABLEAU__TOKEN_SECRET``."""
    poll_interval_s: float = Field(default=2.0, gt=0)
    """Seconds between polls of a job we wait for (publish, extract refresh)."""
    job_timeout_s: float = Field(default=1800.0, gt=0)
    """How long a tool waits for a job before reporting it as still running."""
    http_timeout_s: float = Field(default=60.0, gt=0)


class OrchestraSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = ORCHESTRA_BASE_URL
    production_environments: list[str] = Field(default_factory=lambda: ["production", "prod"])
    timeout_s: float = 30.0
    api_key: SecretStr | None = None
    """Only from ``DACREW_ORCHESTRA__API_KEY``."""
    poll_interval_s: float = Field(default=10.0, gt=0)
    """Seconds between status polls of a run we wait for."""
    run_timeout_s: float = Field(default=3600.0, gt=0)
    """How long ``orchestra_start_pipeline`` waits for a run before reporting it as still running."""
    max_retries: int = Field(default=5, ge=0)
    """Retries of a request answered 429 or 5xx (or timed out), with exponential backoff."""
    backoff_s: float = Field(default=1.0, ge=0)
    """First backoff delay; doubles each retry unless the server sends Retry-After."""


class ModelSettings(BaseModel):
    """``default`` plus one optional key per agent (``dbt-expert: anthropic:…``)."""

    model_config = ConfigDict(extra="allow")

    default: str | None = None

    def for_agent(self, agent: str) -> str | None:
        extra = self.model_extra or {}
        value = extra.get(agent)
        return str(value) if value is not None else None


class RunSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_parallel: int = Field(default=4, ge=1, le=64)
    step_limit: int = Field(default=25, ge=1)
    budget_usd: float | None = None


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: float
    output: float
    cache_read: float = 0.0
    cache_write: float = 0.0


class ApprovalRule(BaseModel):
    """One line of the headless approval policy: the first rule whose ``action`` glob matches decides.

    Actions are what a guard names: ``dbt_build``, ``warehouse_execute:destructive``, ``tableau_overwrite``,
    ``orchestra_production_run``, ``gate:<phase>`` for phase gates.
    """

    model_config = ConfigDict(extra="forbid")

    action: str
    decision: Literal["approve", "deny"]


def policy_decision(rules: list[ApprovalRule], action: str) -> bool | None:
    """True (approve) or False (deny) by the first matching rule; None when no rule matches."""
    from fnmatch import fnmatchcase

    for rule in rules:
        if fnmatchcase(action, rule.action):
            return rule.decision == "approve"
    return None


class DacrewConfig(BaseSettings):
    """Everything in ``dacrew.yml``; every key can also come from ``DACREW_<SECTION>__<KEY>``."""

    model_config = SettingsConfigDict(
        env_prefix="DACREW_", env_nested_delimiter="__", extra="forbid", case_sensitive=False
    )

    dbt: DbtSettings = Field(default_factory=DbtSettings)
    tableau: TableauSettings = Field(default_factory=TableauSettings)
    orchestra: OrchestraSettings = Field(default_factory=OrchestraSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    run: RunSettings = Field(default_factory=RunSettings)
    gates: Literal["none", "phases"] = "none"
    checks: Literal["normal", "strict"] = "normal"
    """``strict``: an unverified check (no server configured, nothing to compare with) fails its task."""
    approvals: list[ApprovalRule] = Field(default_factory=list[ApprovalRule])
    """Headless runs only: decide approvals by rule instead of stopping (exit 3) for a person."""
    pricing: dict[str, ModelPrice] = Field(default_factory=dict)
    """USD per million tokens, by model name; merged over the built-in table."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment wins over the file: CI overrides what the repository says.
        return (env_settings, init_settings)


def _read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    shown = str(path)
    if path.is_dir():
        raise UserError("is a directory, not a dacrew.yml file", path=shown)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"not valid UTF-8 (byte {exc.start})", path=shown) from None
    except OSError as exc:
        raise UserError(f"cannot read: {exc.strerror}", path=shown) from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        raise UserError(f"invalid YAML: {exc.problem or exc}", path=shown, line=line) from None
    except yaml.YAMLError as exc:
        raise UserError(f"invalid YAML: {exc}", path=shown) from None
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        raise UserError("must be a mapping of sections (dbt:, tableau:, orchestra:, models:, run:)", path=shown, line=1)
    mapping = cast(dict[Any, Any], data)
    return {str(k): v for k, v in mapping.items()}, node


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the key at ``loc`` in the composed YAML, or of its nearest parent."""
    line: int | None = None
    for key in loc:
        if not isinstance(node, yaml.MappingNode):
            break
        found = None
        for key_node, value_node in node.value:
            if str(key_node.value).lower() == str(key).lower():
                line = key_node.start_mark.line + 1
                found = value_node
                break
        if found is None:
            break
        node = found
    return line


def load_config(project_dir: Path | str | None = None, *, path: Path | None = None) -> DacrewConfig:
    """Load ``dacrew.yml`` from ``project_dir`` (absent is fine) and the environment."""
    cfg_path = path or Path(project_dir or ".") / CONFIG_FILE
    data: dict[str, Any] = {}
    node: yaml.Node | None = None
    if cfg_path.exists() or path is not None:
        if not cfg_path.exists():
            raise UserError("config file not found", path=str(cfg_path))
        data, node = _read_yaml(cfg_path)
    for section, key in SECRET_KEYS:
        value = data.get(section)
        if isinstance(value, dict) and key in value:
            env = f"DACREW_{section.upper()}__{key.upper()}"
            raise UserError(
                f"{section}.{key} is a secret: set it in the environment as {env}, not in the file",
                path=str(cfg_path),
                line=_line_of(node, (section, key)),
            )
    try:
        return DacrewConfig(**data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        where = ".".join(str(p) for p in loc) or "(top level)"
        from_env = not _line_of(node, loc[:1]) and any(k.startswith("DACREW_") for k in os.environ)
        origin = " (from the environment)" if from_env else ""
        raise UserError(f"{where}: {err['msg']}{origin}", path=str(cfg_path), line=_line_of(node, loc)) from None

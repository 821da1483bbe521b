"""Configuration: which backend serves each role, and with what options.

Sources, highest precedence first: command-line flags (passed as keyword arguments), environment
variables (`STORYTELLER_LLM__BACKEND=openai`, `STORYTELLER_LLM__OPTIONS='{"model": "..."}'`),
a TOML file (`--config FILE`, else `$STORYTELLER_CONFIG`, else `./storyteller.toml`, else
`~/.config/storyteller/config.toml`), then the embedded defaults.

The roles are the registry's (storyteller.backends: the built-ins and the plugins' roles), not
fields here: each role is a table named after it (`[narrator]`), and a role the config does not
name gets its registered default backend. `Settings.check_roles(registry)` refuses a table, or a
`[ray.roles.X]`, for a role the registry does not have; the Toolbox calls it before anything starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

from storyteller.errors import ConfigError


class RoleConfig(BaseModel):
    # None: the role's default backend (its registration's `default`), filled in by Settings.role.
    backend: str | None = None
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _parse_env_values(cls, options: dict[str, Any]) -> dict[str, Any]:
        """`STORYTELLER_ILLUSTRATOR__OPTIONS__STEPS=2` arrives as the string "2": read such
        strings as JSON when they are JSON (numbers, booleans, lists), else keep them as text."""
        parsed = {}
        for key, value in options.items():
            if isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            parsed[key] = value
        return parsed


class RayRole(BaseModel):
    """How a role's backend is hosted when a batch runs on Ray (`storyteller batch --ray`): in an
    actor on each node that runs stories (loaded once there, shared by that node's tasks), with
    these resources reserved for it."""

    model_config = {"extra": "forbid"}
    actor: bool | None = Field(default=None, description=(
        "None: an actor, unless the backend is a client of a served model (then each task talks to the "
        "server itself); False: each task loads its own backend."))
    num_cpus: float = Field(default=0, ge=0, description="CPUs reserved for the actor (0: it shares the node's).")
    num_gpus: float = Field(default=0, ge=0, description="GPUs for the actor; only nodes that have them host it.")
    memory: int | None = Field(default=None, ge=0, description="Bytes of memory reserved for the actor.")
    resources: dict[str, float] = Field(default_factory=dict, description="Custom Ray resources the actor needs.")
    max_concurrency: int = Field(default=8, ge=1, description="Calls the actor takes at once (from several tasks).")


class RaySettings(BaseModel):
    """`storyteller batch --ray`: what each story task asks for, and how each role is hosted."""

    model_config = {"extra": "forbid"}
    task_cpus: float = Field(default=1, gt=0, description="CPUs one story task reserves.")
    max_retries: int = Field(default=3, ge=0, description="How often a story is started again when its worker dies.")
    # Keyed by role; Settings.check_roles refuses a role the registry does not have.
    roles: dict[str, RayRole] = Field(default_factory=dict)

    def role(self, role: str) -> RayRole:
        return self.roles.get(role) or RayRole()


class _RoleTablesFromEnv(PydanticBaseSettingsSource):
    """`STORYTELLER_<ROLE>__BACKEND` and `STORYTELLER_<ROLE>__OPTIONS[__KEY...]`, for any role: the
    roles are not fields, so pydantic-settings' own environment source does not read them."""

    def get_field_value(self, field, field_name):  # pragma: no cover - __call__ reads the environment itself
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        prefix = str(self.config.get("env_prefix", "")).lower()
        delimiter = str(self.config.get("env_nested_delimiter") or "__")
        tables: dict[str, dict[str, Any]] = {}
        for key, value in sorted(os.environ.items()):
            key = key.lower()
            if not key.startswith(prefix):
                continue
            role, *path = key[len(prefix):].split(delimiter)
            if role in self.settings_cls.model_fields or not path or path[0] not in ("backend", "options"):
                continue
            table = tables.setdefault(role, {})
            if path == ["backend"]:
                table["backend"] = value
            elif path[0] == "options":
                options = table.setdefault("options", {})
                if len(path) == 1:  # the whole table, as JSON
                    try:
                        parsed = json.loads(value)
                    except ValueError:
                        parsed = None
                    if not isinstance(parsed, dict):
                        raise ConfigError(f"{key.upper()} must be a JSON object of options, got {value!r}",
                                          fix=f"{key.upper()}='{{\"model\": \"...\"}}', or set one option as "
                                              f"{key.upper()}__NAME=VALUE")
                    options.update({**parsed, **options})
                else:  # one option (or a nested one), the string read as JSON by RoleConfig
                    for part in path[1:-1]:
                        options = options.setdefault(part, {})
                    options[path[-1]] = value
        return tables


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYTELLER_", env_nested_delimiter="__", extra="allow")
    # Every role's table ([llm], [narrator], a plugin's role) is an extra: the roles are the registry's.
    __pydantic_extra__: dict[str, RoleConfig] = Field(init=False)

    # Any LLM backend; None: `eval --judge` uses the story's own LLM and says so in the report.
    judge: RoleConfig | None = None
    ray: RaySettings = RaySettings()

    plan_attempts: int = Field(default=3, ge=1, le=10, description="How often the planner may re-ask the LLM.")
    page_candidates: int = Field(default=2, ge=1, le=8, description=(
        "At most this many drafts of a page: another is written only while the critic finds a fault; the best is kept."))
    image_width: int = Field(default=768, ge=64, le=2048)
    image_height: int = Field(default=512, ge=64, le=2048)
    gate_attempts: int = Field(default=3, ge=1, le=10, description="Illustration attempts the consistency gate may make.")
    gate_thresholds: dict[str, float] = Field(
        default_factory=dict, description="Override the gate's thresholds: character, style, text (0..1).")

    @model_validator(mode="before")
    @classmethod
    def _role_tables(cls, data: Any) -> Any:
        """Anything that is not a setting must be a role's table (backend and options)."""
        if isinstance(data, dict):
            for key, value in data.items():
                if key not in cls.model_fields and not isinstance(value, (dict, RoleConfig)):
                    raise ValueError(f"{key} = {value!r}: no such setting (settings: {', '.join(cls.model_fields)}; "
                                     "a role is a table, [ROLE] with backend and options)")
        return data

    @field_validator("judge")
    @classmethod
    def _judge_names_its_backend(cls, judge: RoleConfig | None) -> RoleConfig | None:
        if judge is not None and judge.backend is None:
            raise ValueError("judge.backend is required: the judge is any llm backend, and has no default")
        return judge

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML source reads model_config["toml_file"], which load_settings sets per call.
        return init_settings, env_settings, _RoleTablesFromEnv(settings_cls), TomlConfigSettingsSource(settings_cls)

    def role(self, role: str, registry=None) -> RoleConfig:
        """The config of `role`: as configured, with the role's default backend (from `registry`,
        else the process's) where it names none. It is kept, so a change to it is a change here."""
        roles = self.__pydantic_extra__
        config = roles.get(role)
        if isinstance(config, dict):  # assigned as a plain table
            config = roles[role] = RoleConfig(**config)
        if config is None or config.backend is None:
            from storyteller.backends import get_registry

            default = (registry or get_registry()).role(role).default  # ConfigError for an unknown role
            if config is None:
                config = roles.setdefault(role, RoleConfig(backend=default))
            else:
                config.backend = default
        return config

    def __getattr__(self, name: str) -> Any:
        # `settings.llm`, `settings.narrator`, a plugin's `settings.grader`: the role's config.
        if not name.startswith("_"):
            try:
                roles = object.__getattribute__(self, "__pydantic_extra__")
            except AttributeError:
                roles = None
            if roles is not None and (name in roles or _is_role(name)):
                return self.role(name)
        return super().__getattr__(name)

    def check_roles(self, registry) -> None:
        """Refuse a table, or a [ray.roles.X], for a role that `registry` does not have (a typo, or
        the role of a plugin that is not installed): a ConfigError that names the roles there are."""
        for where, names in (("", self.__pydantic_extra__), ("ray.roles.", self.ray.roles)):
            for name in names:
                try:
                    registry.role(name)
                except ConfigError as exc:
                    raise ConfigError(f"the configuration's [{where}{name}]: {exc.message}",
                                      fix=f"correct [{where}{name}], or install the plugin that adds the role "
                                          "(`storyteller doctor` lists the roles)") from None


def _is_role(name: str) -> bool:
    from storyteller.backends import get_registry

    return any(role.name == name for role in get_registry().roles())


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    env = os.environ.get("STORYTELLER_CONFIG")
    candidates = [Path(env).expanduser()] if env else [Path("storyteller.toml"), Path("~/.config/storyteller/config.toml").expanduser()]
    return next((p for p in candidates if p.is_file()), None)


def load_settings(config_file: str | Path | None = None, *, registry=None, **overrides: Any) -> Settings:
    """Settings from flags (overrides) > environment > TOML file > defaults. With a `registry`, a
    role it does not have is refused now (else when a Toolbox is made with its registry)."""
    path = find_config_file(config_file)
    settings_cls = type("Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": path}})
    where = f" (file {path})" if path else ""
    try:
        settings = settings_cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration{where}:\n{exc}") from exc
    except ValueError as exc:  # TOML syntax errors surface here
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from exc
    if registry is not None:
        try:
            settings.check_roles(registry)
        except ConfigError as exc:
            raise ConfigError(f"invalid configuration{where}: {exc.message}", fix=exc.fix) from None
    return settings

"""Configuration: which backend serves each role, and with what options.

Sources, highest precedence first: command-line flags (passed as keyword arguments), environment
variables (`STORYTELLER_LLM__BACKEND=openai`, `STORYTELLER_LLM__OPTIONS='{"model": "..."}'`),
a TOML file (`--config FILE`, else `$STORYTELLER_CONFIG`, else `./storyteller.toml`, else
`~/.config/storyteller/config.toml`), then the embedded defaults below.
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
    backend: str
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
    roles: dict[str, RayRole] = Field(default_factory=dict)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, roles: dict[str, RayRole]) -> dict[str, RayRole]:
        from storyteller.backends.base import ROLES

        unknown = sorted(set(roles) - set(ROLES))
        if unknown:
            raise ValueError(f"ray.roles.{unknown[0]}: no such role (roles: {', '.join(ROLES)})")
        return roles

    def role(self, role: str) -> RayRole:
        return self.roles.get(role) or RayRole()


# The embedded default: what runs with no configuration (see README).
DEFAULT_BACKENDS = {
    "llm": "llamacpp", "captioner": "classical", "vqa": "classical", "detector": "ssd-mobilenet", "illustrator": "storyboard",
    "narrator": "ensemble", "text_embedder": "sentence-transformers", "image_embedder": "classical",
    "transcriber": "faster-whisper",
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYTELLER_", env_nested_delimiter="__", extra="forbid")

    llm: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["llm"])
    captioner: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["captioner"])
    vqa: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["vqa"])
    detector: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["detector"])
    illustrator: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["illustrator"])
    narrator: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["narrator"])
    text_embedder: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["text_embedder"])
    image_embedder: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["image_embedder"])
    transcriber: RoleConfig = RoleConfig(backend=DEFAULT_BACKENDS["transcriber"])
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
    def _default_backend(cls, data: Any) -> Any:
        """Options given without a backend (e.g. only STORYTELLER_LLM__OPTIONS__N_CTX) apply to the
        role's default backend."""
        if isinstance(data, dict):
            for role, backend in DEFAULT_BACKENDS.items():
                if isinstance(data.get(role), dict) and "backend" not in data[role]:
                    data = {**data, role: {"backend": backend, **data[role]}}
        return data

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML source reads model_config["toml_file"], which load_settings sets per call.
        return init_settings, env_settings, TomlConfigSettingsSource(settings_cls)

    def role(self, role: str) -> RoleConfig:
        return getattr(self, role)


def find_config_file(explicit: str | Path | None = None) -> Path | None:
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    env = os.environ.get("STORYTELLER_CONFIG")
    candidates = [Path(env).expanduser()] if env else [Path("storyteller.toml"), Path("~/.config/storyteller/config.toml").expanduser()]
    return next((p for p in candidates if p.is_file()), None)


def load_settings(config_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Settings from flags (overrides) > environment > TOML file > defaults."""
    path = find_config_file(config_file)
    settings_cls = type("Settings", (Settings,), {"model_config": {**Settings.model_config, "toml_file": path}})
    try:
        return settings_cls(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        where = f" (file {path})" if path else ""
        raise ConfigError(f"invalid configuration{where}:\n{exc}") from exc
    except ValueError as exc:  # TOML syntax errors surface here
        raise ConfigError(f"cannot read configuration file {path}: {exc}") from exc

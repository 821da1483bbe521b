"""Configuration precedence: flags > environment > TOML file > embedded defaults."""

from __future__ import annotations

import pytest

from storyteller.config import load_settings
from storyteller.errors import ConfigError


@pytest.fixture
def toml(tmp_path):
    path = tmp_path / "storyteller.toml"
    path.write_text('plan_attempts = 5\n[llm]\nbackend = "openai"\noptions = { model = "m", base_url = "http://x" }\n')
    return path


def test_defaults_are_the_embedded_backends(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("STORYTELLER_CONFIG", raising=False)
    settings = load_settings()
    assert (settings.llm.backend, settings.illustrator.backend, settings.narrator.backend) == ("llamacpp", "storyboard", "ensemble")


def test_precedence_flags_then_env_then_file(toml, monkeypatch):
    assert load_settings(toml).plan_attempts == 5
    monkeypatch.setenv("STORYTELLER_PLAN_ATTEMPTS", "4")
    assert load_settings(toml).plan_attempts == 4
    assert load_settings(toml, plan_attempts=2).plan_attempts == 2
    assert load_settings(toml).llm.options == {"model": "m", "base_url": "http://x"}


def test_env_options_are_typed_and_keep_the_default_backend(monkeypatch):
    monkeypatch.setenv("STORYTELLER_ILLUSTRATOR__OPTIONS__STEPS", "2")
    monkeypatch.setenv("STORYTELLER_ILLUSTRATOR__OPTIONS__SCHEDULER", "euler_a")
    settings = load_settings()
    assert settings.illustrator.backend == "storyboard"
    assert settings.illustrator.options == {"steps": 2, "scheduler": "euler_a"}


def test_config_file_from_environment_variable(toml, monkeypatch):
    monkeypatch.setenv("STORYTELLER_CONFIG", str(toml))
    assert load_settings().llm.backend == "openai"


@pytest.mark.parametrize("text, message", [("x = [\n", "cannot read"), ("nonsense_key = 1\n", "invalid configuration")])
def test_bad_files_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(path)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.toml")

"""Configuration precedence: flags > environment > TOML file > embedded defaults."""

from __future__ import annotations

import re

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


def _builtin_registry():
    from storyteller.backends import Registry
    from storyteller.backends.builtin import register

    registry = Registry()
    register(registry)
    return registry


def _uses(entry):
    from storyteller.backends.classical_vision import HaarDetector

    return {role: HaarDetector() for role in entry.uses}


@pytest.mark.parametrize("key", [f"{e.role}:{e.name}" for e in _builtin_registry().backends()])
def test_every_backend_refuses_an_unknown_option(key):
    """Each built-in backend declares its options; a key it does not know is a ConfigError that
    names the role, the backend, the option and the ones it has, before anything loads."""
    role, name = key.split(":")
    registry = _builtin_registry()
    entry = registry.entry(role, name)
    with pytest.raises(ConfigError) as info:
        registry.backend(role, name, {"no_such_option": 1}, uses=_uses(entry))
    message = str(info.value)
    assert f"the {role} backend {name!r}" in message and "no_such_option: no such option (options:" in message
    assert f"{role}.options" in info.value.fix
    defaults = registry.backend(role, name, {}, uses=_uses(entry))
    assert set(type(defaults).Options.model_fields) == set(defaults.options.model_dump())


@pytest.mark.parametrize("role, name, options, message", [
    ("illustrator", "diffusers", {"steps": 0}, "steps = 0: Input should be greater than or equal to 1"),
    ("illustrator", "diffusers", {"layout": "depth"}, "layout = 'depth': Input should be 'edges' or 'scribble'"),
    ("illustrator", "diffusers", {"ip_adapter": "h94/IP-Adapter"}, "ip_adapter needs ip_adapter_weight_name"),
    ("illustrator", "storyboard", {"caption": "maybe"}, "caption = 'maybe': Input should be a valid boolean"),
    ("llm", "llamacpp", {"n_ctx": "big"}, "n_ctx = 'big': Input should be a valid integer"),
    ("detector", "ssd-mobilenet", {"min_score": 1.5}, "min_score must be between 0 and 1"),
    ("narrator", "ensemble", {"engines": ["piper", "nobody"]}, "engines are piper, hibari, kokoro, flite, espeak"),
    ("vqa", "qwen2-vl", {"max_pixels": 3}, "max_pixels must be at least 784"),
])
def test_a_bad_option_value_is_refused_with_what_is_allowed(role, name, options, message):
    registry = _builtin_registry()
    with pytest.raises(ConfigError, match=re.escape(message)):
        registry.backend(role, name, options, uses=_uses(registry.entry(role, name)))


def test_a_bad_option_reads_as_a_config_error_at_the_cli(tmp_path):
    """From the config file to the command line: what to correct and how, no traceback, nothing written."""
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "storyteller.toml").write_text('[illustrator]\nbackend = "diffusers"\noptions = { steps = 0 }\n')
    result = subprocess.run([str(Path(sys.executable).parent / "storyteller"), "new", "A fox", "--out", "fox",
                             "--pages", "1"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    output = " ".join((result.stdout + result.stderr).split())  # the console wraps long lines
    assert result.returncode == 1 and "Traceback" not in output
    assert "steps = 0: Input should be greater than or equal to 1" in output and "fix:" in output
    assert not (tmp_path / "fox").exists()

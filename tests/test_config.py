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
    # Each bound a backend's Options model declares, named with its role, backend and option.
    ("llm", "llamacpp", {"n_ctx": 0}, "llm backend 'llamacpp': n_ctx = 0: Input should be greater than or equal to 512"),
    ("llm", "llamacpp", {"model": "/models/my.gguf"},
     "llm backend 'llamacpp': model = '/models/my.gguf': model must be one of the embedded models (qwen2.5-coder-1.5b"),
    ("llm", "llamacpp", {"repeat_penalty": 0.5},
     "llm backend 'llamacpp': repeat_penalty = 0.5: Input should be greater than or equal to 1"),
    ("transcriber", "faster-whisper", {"beam_size": 0},
     "transcriber backend 'faster-whisper': beam_size = 0: Input should be greater than or equal to 1"),
    ("llm", "openai", {"timeout": -1}, "llm backend 'openai': timeout = -1: Input should be greater than 0"),
    ("llm", "openai", {"json_mode": "grammar"},
     "llm backend 'openai': json_mode = 'grammar': Input should be 'none', 'json_schema' or 'json_object'"),
    ("llm", "openai", {"base_url": "localhost:8000"},
     "llm backend 'openai': base_url = 'localhost:8000': base_url must be an http:// or https:// URL"),
    ("llm", "openai", {"api_key_env": "sk-abc123"},
     "llm backend 'openai': api_key_env = 'sk-abc123': api_key_env is the name of an environment variable"),
    ("vqa", "openai", {"temperature": -0.5}, "vqa backend 'openai': temperature = -0.5: Input should be greater than or equal to 0"),
    ("narrator", "openai", {"voices": "anna"},
     "narrator backend 'openai': voices = 'anna': voices must be a list of the server's voice names"),
    ("narrator", "openai", {"languages": ["Chinese please"]},
     "narrator backend 'openai': languages = ['Chinese please']: languages are BCP-47 tags"),
    ("llm", "transformers", {"device": "tpu"},
     "llm backend 'transformers': device = 'tpu': device must be cpu, cuda, cuda:N, mps or auto"),
    ("captioner", "blip", {"device": "cuda:first"}, "captioner backend 'blip': device = 'cuda:first': device must be cpu, cuda"),
    ("image_embedder", "clip", {"dtype": "int3"}, "image_embedder backend 'clip': dtype = 'int3': dtype must be one of auto, bf16"),
    ("vqa", "llava", {"max_tokens": 0}, "vqa backend 'llava': max_tokens = 0: Input should be greater than or equal to 1"),
    ("narrator", "transformers-tts", {"max_chars": 5},
     "narrator backend 'transformers-tts': max_chars = 5: Input should be greater than or equal to 20"),
    ("text_embedder", "sentence-transformers", {"device": "gpu"},
     "text_embedder backend 'sentence-transformers': device = 'gpu': device must be cpu, cuda, cuda:N, mps or auto"),
    ("narrator", "piper", {"model": "voice.bin"}, "narrator backend 'piper': model = 'voice.bin': model must be \"embedded\" or"),
    ("narrator", "ensemble", {"sample_rate": 100},
     "narrator backend 'ensemble': sample_rate = 100: Input should be greater than or equal to 8000"),
    ("narrator", "kokoro", {"espeak_voice": "en us"}, "narrator backend 'kokoro': espeak_voice = 'en us': espeak_voice must be"),
    ("narrator", "hibari", {"threads": 0}, "narrator backend 'hibari': threads = 0: Input should be greater than or equal to 1"),
    ("detector", "ssd-mobilenet", {"min_score": 0}, "detector backend 'ssd-mobilenet': min_score = 0: min_score must be"),
])
def test_a_bad_option_value_is_refused_with_what_is_allowed(role, name, options, message):
    registry = _builtin_registry()
    with pytest.raises(ConfigError, match=re.escape(message)):
        registry.backend(role, name, options, uses=_uses(registry.entry(role, name)))


@pytest.mark.parametrize("key", [f"{e.role}:{e.name}" for e in _builtin_registry().backends()])
def test_every_builtin_backend_declares_its_options(key):
    """An explicit `class Options` (bounds, choices, descriptions), not one read from a signature."""
    import importlib

    entry = _builtin_registry().entry(*key.split(":"))
    module, _, attr = entry.target.partition(":")
    options = getattr(importlib.import_module(module), attr).Options
    assert options.__qualname__.endswith(".Options"), f"{entry.target} derives its options from its signature"


@pytest.mark.parametrize("role, name, options", [
    ("llm", "transformers", {"device": "CUDA:1", "dtype": "BF16"}),  # as it was read before: any case
    ("captioner", "blip", {"device": "auto", "dtype": "auto"}),
    ("llm", "openai", {"base_url": "https://api.openai.com/v1/", "json_mode": "json_schema", "timeout": 0.5}),
    ("narrator", "openai", {"voices": ("zf_xiaobei", "zm_yunxi"), "languages": ["zh", "zh-CN"]}),
    ("llm", "llamacpp", {"n_ctx": 512, "n_gpu_layers": -1, "repeat_penalty": 1, "prompt_cache_mb": 0}),
])
def test_good_option_values_pass(role, name, options):
    _builtin_registry().check_options(role, name, options)


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

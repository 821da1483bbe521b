"""Roles and tools come from the registry, one declaration each: a plugin adds a role (with its
backend) and a tool without touching the package, and the config, the Toolbox and doctor take them
from there."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import BaseModel

from storyteller.backends.base import Backend, TranscriberBackend
from storyteller.errors import ConfigError

BUILTIN_ROLES = ["llm", "captioner", "vqa", "detector", "illustrator", "narrator", "image_embedder", "text_embedder",
                 "composer", "transcriber"]


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """tests/plugin_example as an installed distribution would be: the package and a dist-info that
    declares its `storyteller.plugins` entry point, on sys.path (the environment is untouched)."""
    import storyteller.backends as backends

    site = tmp_path / "site"
    shutil.copytree(Path(__file__).parent / "plugin_example" / "storyteller_plugin_example",
                    site / "storyteller_plugin_example", ignore=shutil.ignore_patterns("__pycache__"))
    dist = site / "storyteller_plugin_example-0.1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: storyteller-plugin-example\nVersion: 0.1.0\n")
    (dist / "entry_points.txt").write_text("[storyteller.plugins]\nexample = storyteller_plugin_example:register\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(backends, "_registry", None)  # a process registry made meanwhile is this test's only
    yield site
    for name in [m for m in sys.modules if m.startswith("storyteller_plugin_example")]:
        del sys.modules[name]


@pytest.fixture
def plugin_registry(installed_plugin):
    from fakes import register_fakes

    from storyteller.backends import Registry

    registry = Registry()
    registry.load_plugins()
    register_fakes(registry)
    return registry


def _settings(**roles):
    from storyteller.config import RoleConfig, Settings

    return Settings(llm=RoleConfig(backend="scripted"), illustrator=RoleConfig(backend="solid"),
                    narrator=RoleConfig(backend="tone"), text_embedder=RoleConfig(backend="hash"), **roles)


class SilentTranscriber(TranscriberBackend):
    """Stands in for Whisper in doctor's table: the role's interface, nothing to load."""

    name = "silent"
    kind = "procedural"
    model_id = "silence"

    def transcribe(self, path, *, language=None):
        raise NotImplementedError


# =============================================================================================
# the registry's roles
# =============================================================================================
def test_the_builtin_roles_are_declared_once_in_the_registry():
    """The roles are the built-in plugin's registrations (no tuple elsewhere), each with its
    interface, its default backend (a registered one), a summary and a real model's config."""
    import storyteller.backends.base as base
    from storyteller.backends import Registry
    from storyteller.backends.builtin import register

    assert not hasattr(base, "ROLES")
    registry = Registry()
    register(registry)
    registry.check_defaults()
    assert [r.name for r in registry.roles()] == BUILTIN_ROLES
    for role in registry.roles():
        assert role.plugin == "?" and role.summary and role.example.lstrip("# ").strip()
        assert registry.role_base(role.name).role == role.name
        assert registry.entry(role.name, role.default).role == role.name
    assert registry.role("illustrator").default == "storyboard"
    with pytest.raises(ConfigError, match=r"unknown role 'narator' \(did you mean narrator\?\); choose one of: llm, "):
        registry.role("narator")


class SketcherBackend(Backend):
    role: ClassVar[str] = "sketcher"


class PencilSketcher(SketcherBackend):
    name = "pencil"
    kind = "procedural"
    model_id = "pencil"

    def __init__(self, detector: Backend, hardness: int = 2):
        super().__init__(hardness=hardness)
        self.detector = detector


def test_a_role_is_checked_where_it_is_declared_and_where_it_is_used(registry):
    from storyteller.backends import Registry

    base = f"{__name__}:SketcherBackend"
    for name in ("Sketcher", "two words", "judge", "ray", "plan_attempts"):
        with pytest.raises(ConfigError, match="a role's name is a lower-case word that is not a setting"):
            registry.add_role(name, base=base, default="pencil", summary="draws")
    with pytest.raises(ConfigError, match=r"unknown role 'detectr' \(did you mean detector\?\)"):
        registry.add_role("sketcher", base=base, default="pencil", summary="draws", needs=("detectr",))
    with pytest.raises(ConfigError, match=r"unknown role 'sketchr'; choose one of: llm, captioner"):
        registry.add_backend("sketchr", "pencil", f"{__name__}:PencilSketcher")
    mislabelled = Registry()
    mislabelled.add_role("mislabelled", base="storyteller.backends.base:LLMBackend", default="x", summary="?")
    with pytest.raises(ConfigError, match=r"the mislabelled role's base .*:LLMBackend declares the role 'llm', not"):
        mislabelled.role_base("mislabelled")
    # A role's `needs` are handed to each of its backends, as a backend's own `uses` are.
    registry.add_role("sketcher", base=base, default="pencil", summary="sketches a page", needs=("detector",))
    with pytest.raises(ConfigError, match="registers the role 'sketcher', which plugin"):
        registry.add_role("sketcher", base=base, default="crayon", summary="another sketcher")
    registry.add_backend("sketcher", "pencil", f"{__name__}:PencilSketcher")
    assert registry.entry("sketcher", "pencil").uses == ("detector",)
    registry.check_defaults()
    detector = registry.backend("detector", "classical")
    sketcher = registry.backend("sketcher", "pencil", {"hardness": 3}, uses={"detector": detector})
    assert sketcher.detector is detector and sketcher.options.hardness == 3
    # A default nobody registered, a backend that is not the role's interface: refused, named.
    registry.add_role("inker", base=f"{__name__}:InkerBackend", default="quill", summary="inks")
    with pytest.raises(ConfigError, match=r"the inker role's default backend 'quill' is not registered \(inker backends: none\)"):
        registry.check_defaults()
    registry.add_backend("illustrator", "impostor", "fakes:ToneNarrator")
    with pytest.raises(ConfigError, match="'impostor' .* is not a IllustratorBackend, the interface of the illustrator role"):
        registry.backend("illustrator", "impostor")


def test_the_config_takes_a_table_for_any_registered_role_and_refuses_another(registry, tmp_path, monkeypatch):
    from storyteller.agent.toolbox import Toolbox
    from storyteller.config import RoleConfig, Settings, load_settings

    monkeypatch.delenv("STORYTELLER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    for role in registry.roles():  # no table: the role's registered default
        assert settings.role(role.name, registry).backend == role.default
    assert settings.illustrator.backend == "storyboard"  # roles read as attributes, as before
    toml = tmp_path / "typo.toml"
    toml.write_text('[narator]\nbackend = "tone"\n')
    with pytest.raises(ConfigError, match=r"the configuration's \[narator\]: unknown role 'narator' "
                                          r"\(did you mean narrator\?\)") as info:
        load_settings(toml, registry=registry)
    assert "storyteller doctor" in info.value.fix
    with pytest.raises(ConfigError, match=r"\[narator\]: unknown role"):
        Toolbox(load_settings(toml), registry)  # without a registry, the Toolbox refuses it
    toml.write_text('[ray.roles.ilustrator]\nnum_gpus = 1\n')
    with pytest.raises(ConfigError, match=r"\[ray.roles.ilustrator\]: unknown role 'ilustrator' \(did you mean illustrator\?\)"):
        load_settings(toml, registry=registry)
    with pytest.raises(ConfigError, match="nonsense = 1: no such setting"):
        load_settings(nonsense=1)
    with pytest.raises(ConfigError, match="judge.backend is required"):
        load_settings(judge={"options": {"model": "m"}})
    assert Settings(narrator=RoleConfig(backend="tone")).narrator.backend == "tone"


# =============================================================================================
# a plugin's role, backend and tool
# =============================================================================================
def test_a_plugin_adds_a_role_with_its_backend_and_a_tool(plugin_registry, tmp_path):
    from storyteller.langchain import tools

    from storyteller import Storyteller

    registry = plugin_registry
    grader = registry.role("grader")
    assert (grader.plugin, grader.default, grader.base) == ("example", "syllables", "storyteller_plugin_example:GraderBackend")
    assert [r.name for r in registry.roles()] == [*BUILTIN_ROLES, "grader"]
    assert [(e.name, e.plugin) for e in registry.backends("grader")] == [("syllables", "example")]
    assert "grade_reading" in {t.name for t in registry.tools()}
    assert registry.tool_role("grade_reading") == "grader" and registry.tool_role("caption") == "captioner"

    teller = Storyteller(_settings(), registry=registry)
    backend = teller.toolbox.backend("grader")  # the role's default, as the plugin declared it
    assert backend.name == "syllables" and backend.options.words_per_sentence == 12
    tool = teller.toolbox.tool("grade_reading")
    graded = tool.invoke({"text": "The fox found a lantern. It glowed all night."})
    assert isinstance(graded.grade, float) and graded.provenance.backend == "syllables"
    (for_agents,) = tools(teller, names=["grade_reading"], for_agents=True)
    assert for_agents.backend is backend
    # The built-in tools are built the same way, with the backend of the role their class names.
    assert teller.toolbox.illustrate.backend is teller.toolbox.backend("illustrator")
    assert teller.toolbox.narrate.backend.name == "tone" and teller.toolbox.caption.name == "caption"
    assert teller.toolbox.ask.backend is teller.toolbox.backend("vqa")


def test_the_config_takes_a_backend_for_the_plugins_role(plugin_registry, tmp_path, monkeypatch):
    from storyteller.agent.toolbox import Toolbox
    from storyteller.backends import Registry
    from storyteller.backends.builtin import register
    from storyteller.config import load_settings

    monkeypatch.delenv("STORYTELLER_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    toml = tmp_path / "grader.toml"
    toml.write_text('[grader]\nbackend = "syllables"\noptions = { words_per_sentence = 7 }\n[ray.roles.grader]\nnum_cpus = 1\n')
    settings = load_settings(toml, registry=plugin_registry)
    assert settings.role("grader", plugin_registry).options == {"words_per_sentence": 7}
    assert settings.ray.role("grader").num_cpus == 1
    toolbox = Toolbox(settings, plugin_registry)
    assert toolbox.backend("grader").options.words_per_sentence == 7
    # From the environment, as a built-in role's table: options without a backend keep the default.
    monkeypatch.setenv("STORYTELLER_GRADER__OPTIONS__WORDS_PER_SENTENCE", "5")
    from_env = load_settings(registry=plugin_registry)
    assert from_env.role("grader", plugin_registry).backend == "syllables"
    assert Toolbox(from_env, plugin_registry).backend("grader").options.words_per_sentence == 5
    monkeypatch.setenv("STORYTELLER_GRADER__OPTIONS__WORDS_PER_SENTENCE", "many")
    with pytest.raises(ConfigError, match="bad options for the grader backend 'syllables': words_per_sentence = 'many'"):
        Toolbox(load_settings(), plugin_registry)
    monkeypatch.delenv("STORYTELLER_GRADER__OPTIONS__WORDS_PER_SENTENCE")
    monkeypatch.setenv("STORYTELLER_GRADER__OPTIONS", "[1]")
    with pytest.raises(ConfigError, match="STORYTELLER_GRADER__OPTIONS must be a JSON object"):
        load_settings()
    monkeypatch.delenv("STORYTELLER_GRADER__OPTIONS")
    # Without the plugin the role does not exist: its table is refused, by name.
    builtin = Registry()
    register(builtin)
    with pytest.raises(ConfigError, match=r"\[grader\]: unknown role 'grader'; choose one of: llm, captioner"):
        load_settings(toml, registry=builtin)
    with pytest.raises(ConfigError, match=r"\[grader\]: unknown role 'grader'"):
        Toolbox(load_settings(toml), builtin)


def test_doctor_lists_the_plugins_role_and_tool(plugin_registry):
    from rich.console import Console

    from storyteller import Storyteller
    from storyteller.cli.doctor import run_doctor
    from storyteller.config import RoleConfig

    plugin_registry.add_backend("transcriber", "silent", f"{__name__}:SilentTranscriber")
    teller = Storyteller(_settings(detector=RoleConfig(backend="classical"), transcriber=RoleConfig(backend="silent"),
                                   grader=RoleConfig(backend="syllables", options={"words_per_sentence": 9})),
                         registry=plugin_registry)
    console = Console(record=True, width=300)
    run_doctor(teller, console)
    shown = console.export_text()
    rows = {cells[1]: cells for cells in ([c.strip() for c in line.split("│")] for line in shown.splitlines())
            if len(cells) > 4 and cells[1] in [*BUILTIN_ROLES, "grader"]}
    assert list(rows) == [*BUILTIN_ROLES, "grader"], shown
    assert rows["grader"][2] == "syllables" and rows["grader"][3].startswith("loads in"), rows["grader"]
    assert "grades how hard a text is to read aloud (a school grade) (plugin example)" in shown
    assert "words_per_sentence=9" in shown and "[grader]" in shown  # its options, and its config example
    assert "[illustrator]" in shown and "sdxl-turbo" in shown  # a built-in role's real-model example
    tools_rows = [line for line in shown.splitlines() if "grade_reading" in line]
    assert tools_rows and "grader" in tools_rows[0] and "example" in tools_rows[0], shown



# =============================================================================================
# the registry's tools
# =============================================================================================
class UnknownRoleTool(BaseModel):
    role: ClassVar[str] = "paintr"
    name: str = "odd"


def test_a_tool_is_checked_against_its_registration(registry):
    from storyteller.agent.toolbox import Toolbox

    registry.add_tool("odd", f"{__name__}:UnknownRoleTool")
    with pytest.raises(ConfigError, match=r"the tool 'odd' .* calls an unknown role 'paintr'"):
        registry.tool_class("odd")
    registry.add_tool("painting", f"{__name__}:UnknownRoleTool")
    with pytest.raises(ConfigError, match="registers the tool .* as 'painting', but it is called 'odd'"):
        registry.tool_class("painting")
    with pytest.raises(ConfigError, match=r"unknown tool 'ilustrate' \(did you mean illustrate\?\)"):
        Toolbox(_settings(), registry).tool("ilustrate")
    assert [t.target for t in registry.tools()][:4] == ["storyteller.tools:CaptionTool", "storyteller.tools:AskTool",
                                                        "storyteller.tools:IllustrateTool", "storyteller.tools:NarrateTool"]

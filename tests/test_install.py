"""Fix hints name a command that works for how storyteller was installed (storyteller.install).

Here: the checkout these tests run from (the setup script's editable install). The installed-wheel
modes (from an index, a folder, an archive, a VCS URL, beside storyteller-core) are checked on the
built wheel in test_packaging.py.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from storyteller.errors import BackendUnavailable
from storyteller.install import install_hint, installation, pip_hint

ROOT = Path(__file__).resolve().parents[1]
PIP = f"{shlex.quote(sys.executable)} -m pip install"


def test_a_checkout_is_found_and_its_hints_install_into_it():
    found = installation()
    assert found.how == "checkout" and found.source == str(ROOT)
    assert found.distribution  # the setup script's editable install, found by its built-in plugin
    assert install_hint("vision") == f"{PIP} -e '{ROOT}[vision]'"
    assert install_hint(None) == f"{PIP} -e {shlex.quote(str(ROOT))}"
    if Path(sys.prefix).resolve() == (ROOT / ".venv").resolve():  # the setup script's own .venv
        assert install_hint("embedded") == f"bash {ROOT}/scripts/setup.sh"
    else:
        assert install_hint("embedded") == f"{PIP} -e '{ROOT}[embedded]'"
    assert pip_hint("--force-reinstall imageio-ffmpeg") == f"{PIP} --force-reinstall imageio-ffmpeg"
    assert "storyteller[" not in install_hint("vision").replace(f"{ROOT}[", "")  # never the PyPI name


def test_every_hint_that_installs_an_extra_comes_from_install_hint():
    """No module spells a pip line of its own: one function builds them all."""
    sources = [p for folder in ("storyteller", "tools", "memory") for p in (ROOT / folder).rglob("*.py")]
    spelled = [f"{p.relative_to(ROOT)}:{n}" for p in sources if p.name != "install.py"
               for n, line in enumerate(p.read_text().splitlines(), 1) if "pip install" in line]
    assert spelled == []


def test_a_missing_extra_names_the_hint_for_this_installation(registry):
    registry.add_backend("captioner", "absent", "storyteller_no_such_module:Captioner", extra="vision")
    with pytest.raises(BackendUnavailable) as info:
        registry.backend("captioner", "absent")
    assert info.value.fix == install_hint("vision") == f"{PIP} -e '{ROOT}[vision]'"


def test_doctor_says_where_storyteller_comes_from_and_flags_a_clash(monkeypatch):
    from rich.console import Console

    import storyteller.install
    from storyteller.cli.doctor import _show_installation

    console = Console(record=True, width=200)
    assert _show_installation(console)
    assert f"installed from the checkout {ROOT} (distribution " in console.export_text()
    clash = storyteller.install.Installation("index", "picturebook-storyteller", None, ("storyteller-core",))
    monkeypatch.setattr(storyteller.install, "installation", lambda: clash)
    console = Console(record=True, width=200)
    assert not _show_installation(console)  # doctor exits non-zero
    shown = console.export_text()
    assert "installed from a package index (distribution picturebook-storyteller)" in shown
    assert "clash: storyteller-core also installs a top-level `storyteller` package" in shown
    assert f"fix: {shlex.quote(sys.executable)} -m pip uninstall storyteller-core" in shown


def test_doctor_lists_what_each_story_language_gets(registry):
    """Per language: its prompts, its voices (or why there are none, and the fix), its fonts."""
    from rich.console import Console

    from storyteller import Storyteller
    from storyteller.cli.doctor import language_table
    from storyteller.config import RoleConfig, Settings

    teller = Storyteller(Settings(
        llm=RoleConfig(backend="scripted"), illustrator=RoleConfig(backend="solid"), text_embedder=RoleConfig(backend="hash"),
        narrator=RoleConfig(backend="openai", options={"base_url": "http://127.0.0.1:9/v1", "voices": ["anna", "bo"],
                                                       "languages": ["en"]})), registry=registry)
    console = Console(record=True, width=250)
    console.print(language_table(teller))
    shown = " ".join(console.export_text().split())
    assert "English (en)" in shown and "Chinese (zh)" in shown and "prompts in Chinese" in shown
    assert "2 voices" in shown and "anna, bo" in shown
    assert "none: no voice of the narrator speaks Chinese (zh)" in shown and "fix: for Mandarin" in shown

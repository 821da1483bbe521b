"""The built wheel installs under the one import name `storyteller`, and imports stay lazy."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True)
    return next(out.glob("storyteller-*.whl"))


def test_wheel_has_one_top_level_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"storyteller", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}
    for part in ("tools", "memory", "prompts"):
        assert f"storyteller/{part}/__init__.py" in names
    assert "storyteller/prompts/plan_user.jinja" in names
    assert "storyteller/py.typed" in names
    assert any(n.startswith("storyteller/export/templates/") for n in names)
    # Every module of the source tree is in the wheel, under its storyteller.* name.
    mapping = {"storyteller": "storyteller", "tools": "storyteller/tools", "memory": "storyteller/memory",
               "prompts": "storyteller/prompts"}
    for top, inside in mapping.items():
        for source in (ROOT / top).rglob("*.py"):
            assert f"{inside}/{source.relative_to(ROOT / top).as_posix()}" in names, source


def test_wheel_installs_into_a_fresh_venv(wheel, tmp_path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    # Install the wheel alone (unpacked, as pip would), and let its dependencies come from this
    # test environment through a .pth line: the fresh venv sees the wheel's storyteller, never the
    # repository checkout (the checkout's editable finder is not activated from a .pth'd folder).
    zipfile.ZipFile(wheel).extractall(site)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    check = (
        "import storyteller, storyteller.tools, storyteller.memory, storyteller.prompts, sys;"
        "print(storyteller.__file__); print(storyteller.tools.__file__);"
        "import importlib.util as u; print(u.find_spec('tools'), u.find_spec('memory'))"
    )
    out = subprocess.run([python, "-c", check], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(str(site)) and lines[1] == str(site / "storyteller" / "tools" / "__init__.py")
    assert lines[2] == "None None"  # no stray top-level modules


def test_import_and_help_load_no_model_library():
    code = (
        "import sys, storyteller, storyteller.cli\n"
        "heavy = {'torch', 'transformers', 'diffusers', 'llama_cpp', 'langgraph', 'cv2', 'piper', 'faiss'}\n"
        "try:\n    storyteller.cli.app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"

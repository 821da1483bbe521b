"""The built wheel installs under the one import name `storyteller`, and imports stay lazy."""

from __future__ import annotations

import json
import shlex
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
    assert "storyteller/prompts/bible_user.jinja" in names
    assert "storyteller/py.typed" in names
    assert any(n.startswith("storyteller/export/templates/") for n in names)
    # Every module of the source tree is in the wheel, under its storyteller.* name.
    mapping = {"storyteller": "storyteller", "tools": "storyteller/tools", "memory": "storyteller/memory",
               "prompts": "storyteller/prompts"}
    for top, inside in mapping.items():
        for source in (ROOT / top).rglob("*.py"):
            assert f"{inside}/{source.relative_to(ROOT / top).as_posix()}" in names, source


def _venv_with(wheel: Path, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh venv with the wheel alone installed (unpacked, as pip would), its dependencies coming
    from this test environment through a .pth line: it sees the wheel's storyteller, never the
    repository checkout (the checkout's editable finder is not activated from a .pth'd folder).
    Returns its python and its site-packages."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    zipfile.ZipFile(wheel).extractall(site)
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python, site


def test_wheel_installs_into_a_fresh_venv(wheel, tmp_path):
    python, site = _venv_with(wheel, tmp_path)
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
        "heavy = {'torch', 'transformers', 'diffusers', 'llama_cpp', 'langgraph', 'cv2', 'piper', 'faiss', 'ray'}\n"
        "try:\n    storyteller.cli.app(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"


HINTS = "import json; from storyteller.install import installation as i, install_hint as h; " \
        "f = i(); print(json.dumps([f.how, f.distribution, f.source, list(f.others), h('vision')]))"


def test_hints_fit_how_the_wheel_was_installed(wheel, tmp_path):
    """The wheel installed as pip would from an index, a folder, an archive or a VCS URL (pip's
    direct_url.json, PEP 610), and beside storyteller-core (another project with a top-level
    `storyteller`): each install_hint is the command that adds the extra to that installation."""
    python, site = _venv_with(wheel, tmp_path)
    dist_info = next(site.glob("storyteller-*.dist-info"))
    name = json.loads(subprocess.check_output([python, "-c", "import json, importlib.metadata as m; "
                                               "print(json.dumps(m.distribution('storyteller').metadata['Name']))"], text=True))
    pip = f"{shlex.quote(str(python))} -m pip install"

    def hints(direct_url: dict | None) -> list:
        (dist_info / "direct_url.json").unlink(missing_ok=True)
        if direct_url is not None:
            (dist_info / "direct_url.json").write_text(json.dumps(direct_url))
        done = subprocess.run([python, "-c", HINTS], capture_output=True, text=True, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    # From an index (a published release): the distribution's own name, never a guess.
    assert hints(None) == ["index", name, None, [], f"{pip} '{name}[vision]'"]
    # From a folder that is still there (pip install /path/to/storyteller), and one that is gone.
    source = tmp_path / "source tree"
    source.mkdir()
    assert hints({"url": source.as_uri(), "dir_info": {}}) == \
        ["folder", name, str(source), [], f"{pip} '{source}[vision]'"]
    gone = hints({"url": (tmp_path / "gone").as_uri(), "dir_info": {}})
    assert gone[0] == "folder" and gone[4] == f"{pip} -e '/path/to/the/storyteller/checkout[vision]' (the checkout this copy came from)"
    # From a wheel file, on disk or at a URL.
    assert hints({"url": wheel.as_uri(), "archive_info": {}})[4] == f"{pip} '{wheel}[vision]'"
    url = "https://example.invalid/storyteller-0.1.0-py3-none-any.whl"
    assert hints({"url": url, "archive_info": {}})[4] == f"{pip} '{name}[vision] @ {url}'"
    # From a git repository, at the commit that was installed.
    vcs = hints({"url": "https://example.invalid/storyteller.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}})
    assert vcs[:3] == ["vcs", name, "git+https://example.invalid/storyteller.git@abc123"]
    assert vcs[4] == f"{pip} '{name}[vision] @ git+https://example.invalid/storyteller.git@abc123'"

    # storyteller-core beside it: reported as a clash, never taken for storyteller.
    core = site / "storyteller_core-0.0.4.dist-info"
    core.mkdir()
    (core / "METADATA").write_text("Metadata-Version: 2.1\nName: storyteller-core\nVersion: 0.0.4\n")
    (core / "top_level.txt").write_text("storyteller\n")
    (core / "RECORD").write_text("storyteller/__init__.py,,\n")
    assert hints(None) == ["index", name, None, ["storyteller-core"], f"{pip} '{name}[vision]'"]

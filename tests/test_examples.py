"""Every example under examples/ (the README's Python API section) runs as a script, unchanged.

The scripts use `Storyteller()` as a user would. They run in a subprocess whose configuration
(`STORYTELLER_CONFIG`) selects the scripted fakes of tests/fakes.py, made visible the way any
plugin is: a module on PYTHONPATH with a dist-info declaring a `storyteller.plugins` entry point.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fakes import fake_plugin_env, fakes_config

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

CONFIG = fakes_config("planning", "page_delay = 0.03", image_width=192, image_height=128)


@pytest.fixture(scope="module")
def example_env(tmp_path_factory) -> dict[str, str]:
    return fake_plugin_env(tmp_path_factory.mktemp("example-fakes"), CONFIG)


def run_script(name: str, cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(EXAMPLES / name), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)
    assert "Traceback" not in done.stderr, done.stderr
    return done


def run_example(name: str, cwd: Path, env: dict[str, str], *args: str) -> str:
    done = run_script(name, cwd, env, *args)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def story(folder: Path) -> dict:
    return json.loads((folder / "story.json").read_text())


def test_every_example_is_tested():
    tested = {n.removeprefix("test_").replace("_example", "") for n in globals() if n.startswith("test_") and n.endswith("_example")}
    assert {p.stem for p in EXAMPLES.glob("*.py")} == tested


def test_free_folder_picks_the_next_folder_not_in_use(tmp_path, monkeypatch):
    from storyteller import free_folder

    assert free_folder(tmp_path / "fox") == tmp_path / "fox"  # does not exist
    (tmp_path / "fox").mkdir()
    assert free_folder(tmp_path / "fox") == tmp_path / "fox"  # empty
    (tmp_path / "fox" / "story.json").write_text("{}")
    (tmp_path / "fox-2").write_text("a file, not a folder")
    (tmp_path / "fox-3").mkdir()
    (tmp_path / "fox-3" / "notes.txt").write_text("someone's notes")
    assert free_folder(tmp_path / "fox") == tmp_path / "fox-4"
    monkeypatch.chdir(tmp_path)
    assert free_folder("fox") == Path("fox-4")  # relative stays relative


def test_quickstart_example(tmp_path, example_env):
    for run, folder in enumerate(("fox", "fox-2")):  # run again, it picks a fresh folder and says so
        before = {p: p.read_bytes() for p in (tmp_path / "fox").rglob("*") if p.is_file()}
        out = run_example("quickstart.py", tmp_path, example_env)
        assert f"writing into {folder}/" in out
        assert "page 1: Scene" in out and "The Lantern: 3 pages" in out and "continued: now 4 pages" in out
        assert "[classical, classical]" in out and "page 2 redrawn: images/page-02-turn" in out
        assert "history: plan, page, page, page, continue, reillustrate, renarrate" in out
        assert (tmp_path / folder / "exports").is_dir() and any((tmp_path / folder / "exports").iterdir())
        if run:
            assert {p: p.read_bytes() for p in (tmp_path / "fox").rglob("*") if p.is_file()} == before


def test_continue_with_photo_example(tmp_path, example_env):
    from PIL import Image
    from skimage import data

    Image.fromarray(data.chelsea()).save(tmp_path / "cat.jpg")
    out = run_example("continue_with_photo.py", tmp_path, example_env, str(tmp_path / "cat.jpg"))
    assert "writing a new story into photo-story/" in out
    assert "photo copied to: images/page-03-photo.jpg" in out and "turn: continue [3]" in out
    # the detector role's cat, with the classical colour and light, labelled as such
    assert re.search(r"described as: An evenly lit landscape picture, mostly \w+ and \w+: 1 cat \(in the middle, close up\)\.", out)
    assert "colour and light by classical analysis; people and animals found by the ssd-mobilenet detector" in out
    assert (tmp_path / "photo-story/images/page-03-photo.jpg").read_bytes() == (tmp_path / "cat.jpg").read_bytes()

    out = run_example("continue_with_photo.py", tmp_path, example_env, "cat.jpg")  # again: one more page
    assert "going on with 'The Lantern' in photo-story/ (3 pages so far)" in out and "turn: continue [4]" in out
    assert len(story(tmp_path / "photo-story")["pages"]) == 4


def test_continue_with_photo_example_without_its_photo_prints_usage(tmp_path, example_env):
    for args, message in (((), "the following arguments are required: photo"), (("nope.jpg",), "nope.jpg is not a file")):
        done = run_script("continue_with_photo.py", tmp_path, example_env, *args)
        assert done.returncode == 2 and done.stderr.startswith("usage: continue_with_photo.py [-h] photo [folder]")
        assert message in done.stderr
    assert not any(tmp_path.iterdir())  # no story written for nothing
    (tmp_path / "notes.jpg").write_text("not a picture")
    done = run_script("continue_with_photo.py", tmp_path, example_env, "notes.jpg", "notes")
    assert done.returncode == 1 and "error: notes.jpg is not an image storyteller can read" in done.stderr


def test_events_async_example(tmp_path, example_env):
    for suffix in ("", "-2"):
        out = run_example("events_async.py", tmp_path, example_env)
        assert f"writing into fox{suffix}/, whale{suffix}/ and journey{suffix}/" in out
        for folder in (f"fox{suffix}", f"whale{suffix}"):
            assert f"[{folder}] plan_ready" in out and f"[{folder}] done" in out
            assert len(story(tmp_path / folder)["pages"]) == 3
        assert "journey stopped with" in out and "journey finished: True" in out
        stopped = int(out.split("journey stopped with ")[1].split()[0])
        assert stopped < 8 and story(tmp_path / f"journey{suffix}")["premise"] == "A long journey home"


def test_cancel_example(tmp_path, example_env):
    for folder in ("owl", "owl-2"):
        out = run_example("cancel.py", tmp_path, example_env)
        assert f"writing into {folder}/" in out
        assert "cancelled: cancelled by the caller" in out and "resumed; complete: True" in out
        kept = int(out.split("kept ")[1].split()[0])
        assert 1 <= kept < 6 and len(story(tmp_path / folder)["pages"]) == 6


def test_langgraph_subgraph_example(tmp_path, example_env):
    out = run_example("langgraph_subgraph.py", tmp_path, example_env)
    assert "page 1: Scene" in out and "Tonight's story for Mira: The Lantern, 3 pages in mira-story/" in out
    assert "already held" not in out
    written = story(tmp_path / "mira-story")
    assert len(written["pages"]) == 3

    out = run_example("langgraph_subgraph.py", tmp_path, example_env)  # again: the node resumes, redoes nothing
    assert "mira-story/ already held this story: the story node resumed it" in out and "page 1:" not in out
    assert "Tonight's story for Mira: The Lantern, 3 pages in mira-story/" in out
    assert story(tmp_path / "mira-story")["history"] == written["history"]


def test_runnable_example(tmp_path, example_env):
    for suffix in ("", "-2"):
        out = run_example("runnable.py", tmp_path, example_env)
        assert f"writing into snail{suffix}/, cloud{suffix}/, robot{suffix}/ and kite{suffix}/" in out
        assert "invoke: The Lantern" in out and "batch: ['A cloud who is shy', 'A robot who plants trees']" in out
        assert out.strip().splitlines()[-1] == "astream: done"
        for folder in ("snail", "cloud", "robot", "kite"):
            assert story(tmp_path / f"{folder}{suffix}")["history"][-1]["action"] == "page"


def test_langchain_tools_example(tmp_path, example_env):
    for _ in range(2):  # it writes no story: run again, it draws the same two pictures again
        out = run_example("langchain_tools.py", tmp_path, example_env)
        assert "illustrate: (768, 512) solid procedural" in out and "classical analysis" in out
        assert '"voice_id"' in out and "tool message: an image of 768x512 pixels" in out
        assert (tmp_path / "fox.png").is_file() and (tmp_path / "owl.png").is_file()


def test_plugin_example(tmp_path, example_env):
    for folder in ("chimes", "chimes-2"):
        out = run_example("plugin.py", tmp_path, example_env)
        assert f"writing into {folder}/" in out and "narrated by: chime (procedural) audio/page-01.wav" in out


CLI_SESSION = """
import json, sys
from typer.testing import CliRunner
from storyteller.cli import app

runner = CliRunner()
results = []
for args in json.loads(sys.argv[1]):
    result = runner.invoke(app, args)
    results.append({"args": args, "code": result.exit_code, "output": result.output, "error": repr(result.exception)})
print(json.dumps(results))
"""


def test_cli_has_the_api_page_commands(tmp_path, example_env):
    """continue/ask/reillustrate/renarrate are thin CLI layers over the same API calls."""
    from PIL import Image
    from skimage import data

    Image.fromarray(data.coffee()).save(tmp_path / "coffee.png")
    commands = [["new", "A fox who finds a lantern", "--out", "fox", "--pages", "2"],
                ["continue", "fox", "Owl brings a cup of cocoa", "--image", "coffee.png"],
                ["ask", "fox", "3", "Is the picture bright?"],
                ["reillustrate", "fox", "2", "--seed", "5"],
                ["renarrate", "fox", "1", "--voice", "b"]]
    done = subprocess.run([sys.executable, "-c", CLI_SESSION, json.dumps(commands)], cwd=tmp_path, env=example_env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["code"] for r in results] == [0] * 5, results
    assert "brightness" in results[2]["output"].lower()
    assert results[3]["output"].strip() == "images/page-02-turn5.png"
    assert results[4]["output"].strip() == "audio/page-01-turn6.wav"
    saved = story(tmp_path / "fox")
    assert [t["action"] for t in saved["history"]] == ["plan", "page", "page", "continue", "reillustrate", "renarrate"]
    assert saved["pages"][2]["text_provenance"]["parameters"]["photo"] == "images/page-03-photo.png"

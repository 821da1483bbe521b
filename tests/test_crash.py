"""kill -9 during a real multi-page run, and two processes on one story folder.

The real CLI (`storyteller new ... --pages 4`) runs in a subprocess on the scripted fakes of
tests/fakes.py (a plugin, see fake_plugin_env), slowed a little so that a run lasts a couple of
seconds. It is killed with SIGKILL at six points spread over the run: each point is a state seen
on disk (the folder exists, the plan is committed, k pages are committed) plus a seeded delay, so
the points are the same on every run while the assertions hold for whatever moment is hit.

After each kill: story.json (if it was written) loads; every asset it references exists with its
sha256; nothing it references is a temp file; the lock is free; and `storyteller resume` finishes
the story without changing any page written before the kill (only the page in progress is lost).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakes import fake_plugin_env

from storyteller.export._source import StorySource
from storyteller.session import STORY_FILE, StoryFolder, load_story

STORYTELLER = [sys.executable, "-c", "from storyteller.cli import main; main()"]
PAGES = 4
CONFIG = """
image_width = 64
image_height = 64

[llm]
backend = "planning"
options = { page_delay = 0.12 }

[illustrator]
backend = "solid"
options = { delay = 0.1 }

[narrator]
backend = "tone"
options = { delay = 0.08 }

[text_embedder]
backend = "hash"
"""
_rng = random.Random(9)
# (committed turns seen on disk before the kill clock starts; -1: the folder exists), seeded delay
KILL_POINTS = [(-1, 0.0), (1, 0.0), (1, _rng.uniform(0.05, 0.3)), (2, _rng.uniform(0.0, 0.3)),
               (3, _rng.uniform(0.0, 0.3)), (4, 0.0)]


@pytest.fixture(scope="module")
def env(tmp_path_factory) -> dict[str, str]:
    return fake_plugin_env(tmp_path_factory.mktemp("crash-fakes"), CONFIG)


def _cli(env, cwd, *args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run([*STORYTELLER, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _words(done: subprocess.CompletedProcess) -> str:
    """The process's output with the console's line wrapping undone."""
    return " ".join((done.stdout + done.stderr).split())


def _turns(folder: Path) -> int:
    try:
        return len(json.loads((folder / STORY_FILE).read_bytes())["history"])
    except (OSError, ValueError):  # not written yet (writes are atomic: never half a file)
        return 0


def _check_folder(folder: Path):
    """The invariants that must hold at any moment; returns the story, or None before story.json."""
    if not (folder / STORY_FILE).exists():
        return None
    story = load_story(folder)
    for asset in story.assets():
        assert not asset.path.endswith(".tmp") and not Path(asset.path).name.startswith(".")
    StorySource.open(folder)  # every referenced asset exists and matches its sha256
    with StoryFolder.open(folder):  # the dead process's lock is gone
        pass
    return story


@pytest.mark.parametrize("point", range(len(KILL_POINTS)))
def test_kill_9_then_resume_loses_at_most_the_page_in_progress(tmp_path, env, point):
    turns_before_kill, delay = KILL_POINTS[point]
    folder = tmp_path / "fox"
    run = subprocess.Popen([*STORYTELLER, "new", "A fox who finds a lantern", "--out", str(folder),
                            "--pages", str(PAGES)], cwd=tmp_path, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and run.poll() is None:
            seen = _turns(folder)
            if (folder.exists() if turns_before_kill < 0 else seen >= turns_before_kill):
                break
            time.sleep(0.005)
        time.sleep(delay)
        if point == 1 and run.poll() is None:
            # A second storyteller process on the same folder is refused with a clear message. (Should
            # a very slow machine let the run finish first, the resume simply succeeds; the lock
            # itself is checked deterministically in test_a_second_process_gets_a_clear_message.)
            second = _cli(env, tmp_path, "resume", str(folder))
            if second.returncode == 0:
                assert run.poll() is not None, "a second process opened a folder that was still in use"
            else:
                assert second.returncode == 1, _words(second)
                assert "open in another storyteller process" in _words(second) and "Traceback" not in _words(second)
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.kill()
        run.wait(timeout=10)

    killed = _check_folder(folder)
    if killed is None:  # killed before the story was saved: starting again in the same folder works
        again = _cli(env, tmp_path, "new", "A fox who finds a lantern", "--out", str(folder), "--pages", str(PAGES))
    else:
        assert len(killed.history) >= seen  # a commit seen on disk is never undone
        again = _cli(env, tmp_path, "resume", str(folder))
    assert again.returncode == 0, again.stdout + again.stderr

    final = _check_folder(folder)
    assert final.is_complete and len(final.pages) == PAGES
    for before in killed.pages if killed else []:
        after = final.pages[before.number - 1]
        assert after.text == before.text  # a page written before the kill keeps its text ...
        for slot in ("illustration", "narration"):  # ... and its finished pictures and sound
            if getattr(before, slot) is not None:
                assert getattr(after, slot).sha256 == getattr(before, slot).sha256


def test_a_second_process_gets_a_clear_message(tmp_path, env):
    done = _cli(env, tmp_path, "new", "A fox", "--out", "fox", "--pages", "1")
    assert done.returncode == 0, done.stdout + done.stderr
    with StoryFolder.open(tmp_path / "fox"):  # this test process holds the folder
        second = _cli(env, tmp_path, "resume", "fox")
    assert second.returncode == 1
    message = _words(second)
    assert "fox is open in another storyteller process fix: close the other session first" in message
    assert "Traceback" not in message
    with StoryFolder.open(tmp_path / "fox"):  # and the refused process took nothing
        pass

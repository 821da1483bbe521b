"""kill -9 during a real multi-page run, and two processes on one story folder.

The real CLI (`storyteller new ... --pages 4`) runs in a subprocess on the scripted fakes of
tests/fakes.py (a plugin, see fake_plugin_env), slowed a little so that a run lasts a couple of
seconds. It is killed with SIGKILL at six points spread over the run: each point is a state seen
on disk (the folder exists, the plan is committed, k pages are committed) plus a seeded delay, so
the points are the same on every run while the assertions hold for whatever moment is hit.

After each kill: story.json (if it was written) loads; every asset it references exists with its
sha256; nothing it references is a temp file; the lock is free; and `storyteller resume` finishes
the story without changing any page written before the kill (only the page in progress is lost).

`test_kill_9_at_random_moments_many_times` adds 20 kills at seeded random moments of a chain of
`new` and `resume` runs (forked from a warm zygote process so that each starts at once), with the
same checks after every kill, plus: stray temp files are gone once the folder is opened again, and
a copy of the folder in exactly the killed state resumes to completion.
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

from storyteller.export.source import StorySource
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


# =============================================================================================
# kill -9 at random moments, many times
# =============================================================================================
# A process that imports storyteller (and finds the fakes plugin) once, then forks one child per
# run: each child is a real `storyteller new`/`resume` process (the CLI's main(), its own memory, its
# own lock), but starts in milliseconds instead of the second and a half an interpreter needs to
# import everything. That is what lets 20 seeded random kills fit in well under a minute on 2
# cores. Nothing in the zygote runs a thread before it forks (only imports), so forking is safe.
ZYGOTE = r"""
import json, os, sys, threading
import storyteller.cli as cli
# What a run imports (measured with sys.modules): imported here once, each child starts warm.
import faiss, filelock, jinja2, numpy, PIL.Image, PIL.PngImagePlugin, rich.console, rich.progress  # noqa: F401
import langchain_core.tools, langgraph.graph, langgraph.types  # noqa: F401
import fakes, storyteller.agent.graph, storyteller.cli.progress, storyteller.export.source  # noqa: F401
import storyteller.memory, storyteller.backends.classical_image_embed, storyteller.tools  # noqa: F401
from storyteller.backends import get_registry
get_registry()  # the plugins (the fakes) are found once, before forking
# fork() copies only the calling thread: with another thread alive, a child could inherit a held lock.
print(json.dumps({"ready": threading.active_count() == 1, "threads": threading.active_count()}), flush=True)
for line in sys.stdin:
    request = json.loads(line)
    if "wait" in request:
        _, status = os.waitpid(request["wait"], 0)
        print(json.dumps({"status": status}), flush=True)
        continue
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(request["cwd"])
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, 1)
            os.dup2(null, 2)
            sys.argv = ["storyteller", *request["args"]]
            cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    print(json.dumps({"pid": pid}), flush=True)
"""
RANDOM_KILLS = 20
RANDOM_PAGES = 6
FAST_CONFIG = CONFIG.replace("page_delay = 0.12", "page_delay = 0.03").replace(
    "delay = 0.1 }", "delay = 0.02 }").replace("delay = 0.08 }", "delay = 0.02 }")


class Zygote:
    def __init__(self, env: dict[str, str], cwd: Path):
        self.process = subprocess.Popen([sys.executable, "-c", ZYGOTE], cwd=cwd, env=env, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ready = self._reply()
        assert ready["ready"], f"the zygote runs {ready['threads']} threads: forking it is not safe"

    def _reply(self) -> dict:
        line = self.process.stdout.readline()
        assert line, f"the zygote died (exit {self.process.poll()})"
        return json.loads(line)

    def start(self, cwd: Path, *args: str) -> int:
        self.process.stdin.write(json.dumps({"cwd": str(cwd), "args": list(args)}) + "\n")
        self.process.stdin.flush()
        return self._reply()["pid"]

    def wait(self, pid: int) -> int:
        """The child's wait status (the zygote is its parent and reaps it)."""
        self.process.stdin.write(json.dumps({"wait": pid}) + "\n")
        self.process.stdin.flush()
        return self._reply()["status"]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=10)


def _history(story) -> list[tuple]:
    return [(t.number, t.action, t.summary, tuple(t.pages)) for t in story.history]


def _assert_kept(before, after) -> None:
    """`after` (a later state of the same folder) lost nothing `before` had committed or written."""
    assert _history(after)[: len(before.history)] == _history(before)  # committed turns are never undone
    for page in before.pages:
        later = after.pages[page.number - 1]
        assert later.text == page.text
        for slot in ("illustration", "narration"):
            if getattr(page, slot) is not None:
                assert getattr(later, slot).sha256 == getattr(page, slot).sha256


def test_kill_9_at_random_moments_many_times(tmp_path, registry):
    """20 runs (`new`, then `resume` after each kill) killed with SIGKILL after seeded random delays,
    one folder after another (a folder that completes is followed by a fresh one). After every kill
    the folder loads, its assets match story.json, the lock is free and stray temp files are gone;
    no committed turn and no written page is lost; and a copy of the folder, resumed, completes."""
    import shutil

    from storyteller import Storyteller
    from storyteller.config import RoleConfig, Settings

    (tmp_path / "site").mkdir()
    env = fake_plugin_env(tmp_path / "site", FAST_CONFIG)
    # The copies are resumed in this process, on the same fakes without their delays.
    teller = Storyteller(Settings(llm=RoleConfig(backend="planning"), illustrator=RoleConfig(backend="solid"),
                                  narrator=RoleConfig(backend="tone"), text_embedder=RoleConfig(backend="hash"),
                                  image_width=64, image_height=64), registry=registry)
    rng = random.Random(20240609)
    zygote = Zygote(env, tmp_path)
    folders: list[Path] = []
    killed_mid_run = temp_files_seen = 0
    try:
        previous = None
        for kill in range(RANDOM_KILLS):
            if not folders or (previous is not None and previous.is_complete):
                folders.append(tmp_path / f"story-{len(folders) + 1}")
                previous = None
            folder = folders[-1]
            if (folder / STORY_FILE).exists():
                pid = zygote.start(tmp_path, "resume", str(folder))
            else:
                pid = zygote.start(tmp_path, "new", "A fox who finds a lantern", "--out", str(folder),
                                   "--pages", str(RANDOM_PAGES))
            time.sleep(rng.uniform(0.0, 0.9))
            seen = _turns(folder)  # committed turns on disk just before the kill
            os.kill(pid, signal.SIGKILL)
            status = zygote.wait(pid)
            killed_mid_run += os.WIFSIGNALED(status)
            if os.WIFEXITED(status):
                assert os.WEXITSTATUS(status) == 0, f"run {kill} failed before it was killed"

            temp_files_seen += any(folder.rglob("*.tmp"))
            story = _check_folder(folder)  # loads, assets match, lock free (opening removes stray temps)
            assert not list(folder.rglob(".*.tmp")), "a stray temp file survived opening the folder"
            if story is None:
                continue  # killed before story.json: the next run starts the story again
            assert len(story.history) >= seen
            if previous is not None:
                _assert_kept(previous, story)

            copy = tmp_path / f"copy-{kill}"
            shutil.copytree(folder, copy)
            resumed = teller.resume(copy)  # a resume from this exact state completes ...
            assert resumed.is_complete and len(resumed.pages) == RANDOM_PAGES
            _assert_kept(story, resumed)  # ... losing at most the turn that was in progress
            shutil.rmtree(copy)
            previous = story

        for folder in folders:  # and the real CLI finishes every folder the kills left
            args = ("resume", str(folder)) if (folder / STORY_FILE).exists() else (
                "new", "A fox who finds a lantern", "--out", str(folder), "--pages", str(RANDOM_PAGES))
            before = load_story(folder) if (folder / STORY_FILE).exists() else None
            status = zygote.wait(zygote.start(tmp_path, *args))
            assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
            final = _check_folder(folder)
            assert final.is_complete and len(final.pages) == RANDOM_PAGES
            if before is not None:
                _assert_kept(before, final)
    finally:
        zygote.close()
    # The delays must land mid-run, not after the runs ended: most kills interrupt a live process (about
    # 16 of 20 here; a run that finished before its kill is followed by a fresh folder).
    assert killed_mid_run >= RANDOM_KILLS // 2, (killed_mid_run, temp_files_seen)

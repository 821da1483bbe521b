"""`storyteller play`, the interactive session, driven for real in a pseudo-terminal (pexpect), and
the API calls it stands on (undo, branch, switch).

The sessions run the installed `storyteller` program. Its configuration (`STORYTELLER_CONFIG`)
selects scripted fakes made visible as a plugin on PYTHONPATH (as in test_examples.py), with an LLM
that streams its page word by word (`word_delay`), slowly enough to press Ctrl-C in the middle of a
page. Assertions read both the screen (escape codes removed) and the story folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest
from fakes import fake_plugin_env, fakes_config, plan_json

from storyteller.errors import InvalidInput
from storyteller.session import StoryFolder, load_story

pexpect = pytest.importorskip("pexpect")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).with_name("storyteller")

CONFIG = fakes_config("planning", "word_delay = 0.0", image_width=160, image_height=112, gate_attempts=1)

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[@-Z\\-_=>]")
PROMPT = re.compile(r"(\S+) · page (\d+) ›\s*$")


def clean(raw: str) -> str:
    return ANSI.sub("", raw).replace("\r", "").replace("\x08", "")


class Terminal:
    """The program in a pseudo-terminal, and what it has shown so far (escape codes removed)."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str]):
        program, argv = (str(SCRIPT), args) if SCRIPT.is_file() else (sys.executable, ["-c", "from storyteller.cli import main; main()", *args])
        self.child = pexpect.spawn(program, argv, cwd=str(cwd), env=env, dimensions=(50, 220), encoding="utf-8",
                                   codec_errors="replace")
        self.raw = ""
        self.pos = 0  # what was matched before this point is not matched again

    @property
    def screen(self) -> str:
        return clean(self.raw)

    def _read(self, wait: float) -> bool:
        try:
            self.raw += self.child.read_nonblocking(65536, timeout=wait)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def expect(self, pattern: str, timeout: float = 30) -> re.Match:
        """Wait until `pattern` (a regex) appears after the last match."""
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.screen[self.pos:])
            if found:
                self.pos += found.end()
                return found
            if time.monotonic() > deadline or not self._read(0.05) and not self.child.isalive():
                found = re.search(pattern, self.screen[self.pos:])
                if found:
                    self.pos += found.end()
                    return found
                raise AssertionError(f"{pattern!r} did not appear; the screen ends with:\n{self.screen[-3000:]}")

    def prompt(self, timeout: float = 30) -> tuple[str, int]:
        """Wait for a fresh, empty prompt; returns its branch and page count."""
        deadline = time.monotonic() + timeout
        while True:
            found = PROMPT.search(self.screen[self.pos:])
            if found:
                self.pos += found.end()
                return found.group(1), int(found.group(2))
            if time.monotonic() > deadline or not self._read(0.05) and not self.child.isalive():
                raise AssertionError(f"no prompt; the screen ends with:\n{self.screen[-3000:]}")

    def send(self, line: str) -> None:
        self.child.send(line + "\r")

    def run(self, line: str, *expected: str, timeout: float = 30) -> tuple[str, int]:
        """Type a line, wait for each expected pattern in order, then for the next prompt."""
        self.send(line)
        for pattern in expected:
            self.expect(pattern, timeout)
        return self.prompt(timeout)

    def output_of(self, line: str, timeout: float = 30) -> str:
        start = len(self.screen)
        self.run(line, timeout=timeout)
        return self.screen[start:]

    def finish(self, timeout: float = 15) -> int:
        self.child.expect(pexpect.EOF, timeout=timeout)
        self.raw += self.child.before or ""
        self.child.close()
        return self.child.exitstatus


@pytest.fixture(scope="module")
def play_env(tmp_path_factory) -> dict[str, str]:
    site = tmp_path_factory.mktemp("play-fakes")
    return {**fake_plugin_env(site, CONFIG), "XDG_STATE_HOME": str(site / "state"), "PROMPT_TOOLKIT_NO_CPR": "1",
            "TERM": "xterm-256color", "LANG": "C.UTF-8"}


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# =============================================================================================
# the interactive sessions
# =============================================================================================
def test_a_story_told_turn_by_turn(tmp_path, play_env):
    """New story, directions, /image on a real photo, /ask, bad input, /undo, /branch, /switch,
    /retry, /narrate, /export, Tab completion, Ctrl-C at the prompt, /quit; then a second session
    resumes it: history recalled, Ctrl-C in the middle of a page, a killed process, resume."""
    from PIL import Image
    from skimage import data

    from storyteller.export.source import StorySource

    Image.fromarray(data.astronaut()).save(tmp_path / "astronaut.png")
    (tmp_path / "notes.png").write_text("not a picture")
    root = tmp_path / "fox"

    # -- session 1: a new story ----------------------------------------------------------------
    term = Terminal(["play", "--out", "fox", "--pages", "2"], tmp_path, play_env)
    term.expect(r"premise ›")
    term.send("A fox who finds a lantern in the snow")
    term.expect(r"style \[watercolor\] ›")
    term.send("")  # the default style
    term.expect(r"The Lantern\s+\(2 pages; Fern, Owl\)")
    term.expect(r'1\s+Scene 1 text\. Snow falls on the pines\. "We go on, 1 steps more," says Fern\. Fern walks on through the snow\.')
    assert term.prompt() == ("main", 2)
    assert "images/page-02.png" in term.screen and "audio/page-02.wav" in term.screen

    assert term.run("Owl brings a cup of cocoa", r"3\s+Scene \d+ text", r"picture\s+images/page-03\.png",
                    r"saved page 3 \(turn 4\)") == ("main", 3)
    assert term.run("/image astronaut.png An astronaut lands in the snow", r"4\s+Scene \d+ text",
                    r"photo\s+images/page-04-photo\.png: .*classical analysis", r"saved page 4") == ("main", 4)
    term.run("/ask 4 Is the picture bright?", r"[Bb]rightness")

    # bad input: one line each, and the prompt again
    term.run("/ask 9 What is this?", r"error: page 9 does not exist; the story has pages 1 to 4")
    term.run("/imgae astronaut.png", r"unknown command /imgae: did you mean /image\?")
    term.run("/image missing.png", r"error: image not found: missing\.png")
    term.run("/image notes.png", r"error: .*notes\.png is not an image storyteller can read")
    term.run("/retry two", r"error: a page is a number, got 'two'")
    term.run("/export pdf", r"error: unknown export format 'pdf'")
    term.run("", r"say what should happen next")
    assert "Traceback" not in term.screen

    sheet = term.output_of("/character fern")
    assert "species" in sheet and "fox" in sheet and str(root.resolve() / "images/character-fern.png") in sheet
    assert re.search(r"consistency\s+p1 \d\.\d\d", sheet)
    listing = term.output_of("/characters")
    assert "Fern" in listing and "Owl" in listing and "mean of" in listing
    term.child.send("/sty")  # Tab completes the command
    time.sleep(0.4)
    term.child.send("\t")
    time.sleep(0.4)
    term.run("", r"watercolor\s+soft washes of colour", r"#[0-9a-f]{6}")

    assert term.run("/undo", r"undone: turn 5 \(continue\): removed page 4") == ("main", 3)
    assert not (root / "images/page-04-photo.png").exists()
    assert term.run("/branch alt", r"on branch alt from page 3; main is kept") == ("alt", 3)
    assert term.run("Fern climbs the tallest pine", r"saved page 4") == ("alt", 4)
    assert term.run("/switch main", r"on branch main: 3 pages") == ("main", 3)
    branches = term.output_of("/branches")
    assert re.search(r"\*\s+main\s+3\s+4", branches) and re.search(r"alt\s+4\s+5\s+.*branches/alt", branches)
    term.run("/retry 2", r"page 2 has a new picture: images/page-02-turn5\.png")
    term.run("/narrate 1 b", r"page 1 narration: .*audio/page-01-turn6\.wav")
    term.run("/export html", r"exported: .*exports/the-lantern\.html")
    voices = term.output_of("/character fern voice")
    assert re.search(r"Fern: \w+ \(speed", voices) and re.search(r"4\s+d\s+speed", voices)
    term.run("/character fern voice 4 pitch 2", r"Fern: voice .* -> d \(speed ×1\.00, pitch \+2\.0\)")

    term.child.send("half a line")  # Ctrl-C at the prompt clears the line, nothing else
    time.sleep(0.2)
    term.child.sendintr()
    assert term.prompt() == ("main", 3)
    term.send("/quit")
    term.expect(r"bye: 3 pages saved in fox")
    assert term.finish() == 0

    story = load_story(root)
    assert [t.action for t in story.history][:7] == ["plan", "page", "page", "continue", "reillustrate", "renarrate", "voice"]
    assert story.character("fern").voice.voice_id == "d" and story.character("fern").voice.pitch_shift == 2.0
    assert story.pages[2].text_provenance.parameters["direction"] == "Owl brings a cup of cocoa"
    assert story.pages[1].illustration.provenance.parameters["replaces"] == "images/page-02.png"
    assert (root / "exports/the-lantern.html").is_file()
    alt = load_story(root / "branches/alt")
    assert len(alt.pages) == 4 and alt.pages[3].text_provenance.parameters["direction"] == "Fern climbs the tallest pine"
    StorySource.open(root), StorySource.open(root / "branches/alt")  # every asset of both branches checks out
    history = (Path(play_env["XDG_STATE_HOME"]) / "storyteller/play-history").read_text()
    assert "+Owl brings a cup of cocoa" in history and "+/quit" in history

    # -- session 2: resume; history; Ctrl-C in the middle of a page ---------------------------
    slow = {**play_env, "STORYTELLER_LLM__OPTIONS__WORD_DELAY": "0.25"}
    before = root.joinpath("story.json").read_bytes()
    term = Terminal(["play", "fox"], tmp_path, slow)
    term.expect(r"The Lantern\s+3 pages · branch main")
    assert term.prompt() == ("main", 3)
    term.child.send("\x1b[A")  # Up: the last line of the previous session
    term.expect(r"/quit")
    term.child.sendintr()
    assert term.prompt() == ("main", 3)

    term.send("A storm blows in")
    term.expect(r"4\s+Scene \d+ text\.")  # the page streams in...
    term.child.sendintr()  # ...and is cancelled before it is finished
    term.expect(r"cancelled: the story is as it was \(3 pages, turn \d+\)")
    assert term.prompt() == ("main", 3)
    assert root.joinpath("story.json").read_bytes() == before
    with StoryFolder.open(root):  # the session does not hold the folder between turns
        pass

    # -- a killed process, then `storyteller play DIR` finishes the interrupted page ----------
    term.send("The lantern goes out")
    term.expect(r"4\s+Scene \d+ text\.")
    term.child.kill(signal.SIGKILL)
    term.child.close()
    interrupted = load_story(root)
    # 9 turns: plan, 3 pages, a picture, a narration, the voice change and the two pages where Fern speaks narrated again
    assert len(interrupted.history) == 9 and len(interrupted.outline) == 4 and not interrupted.is_complete

    term = Terminal(["play", "fox"], tmp_path, play_env)
    term.expect(r"finishing the interrupted run \(1 page to complete\)")
    term.expect(r"done: 4 pages")
    assert term.prompt() == ("main", 4)
    term.child.sendeof()
    term.expect(r"bye: 4 pages saved")
    assert term.finish() == 0
    resumed = load_story(root)
    assert resumed.is_complete and len(resumed.pages) == 4 and len(resumed.history) == 10
    assert "The lantern goes out" in resumed.outline[3].direction  # kept with the beat: resume writes what was asked


def test_image_and_ask_describe_a_photo_as_every_path_does(registry, tmp_path, play_env):
    """/ask about a photo scene's page (the photo itself) and /image with the same photo say what
    the detector role found, as continue, ask and the photo scene do (test_describing.py)."""
    from PIL import Image
    from skimage import data

    from storyteller import Storyteller
    from storyteller.config import RoleConfig, Settings

    Image.fromarray(data.chelsea()).save(tmp_path / "cat.jpg", quality=92)
    teller = Storyteller(Settings(llm=RoleConfig(backend="scene"), narrator=RoleConfig(backend="tone"),
                                  text_embedder=RoleConfig(backend="hash"), illustrator=RoleConfig(backend="solid")),
                         registry=registry)
    teller.photo_scene(tmp_path / "cat.jpg", out=tmp_path / "cat", lines=2)

    term = Terminal(["play", "cat"], tmp_path, play_env)
    assert term.prompt() == ("main", 1)
    term.run("/ask 1 What animal is in the picture?", r"1 cat \(in the middle, close up\)",
             r"found by the ssd-mobilenet detector", r"classical \(classical\) colour and light statistics")
    term.run("/image cat.jpg The cat stretches in the sun", r"photo\s+images/page-02-photo\.jpg: .*1 cat \(in the middle",
             r"saved page 2", timeout=60)
    term.send("/quit")
    term.expect(r"bye: 2 pages saved")
    assert term.finish() == 0 and "Traceback" not in term.screen
    story = load_story(tmp_path / "cat")
    assert "1 cat (in the middle, close up)" in story.pages[1].text_provenance.parameters["photo_description"]


def test_new_story_cancelled_while_planning_and_bad_folders(tmp_path, play_env):
    """Ctrl-C during the first pages keeps what is finished; `play` on a file is one clear line."""
    slow = {**play_env, "STORYTELLER_LLM__OPTIONS__WORD_DELAY": "0.25"}
    term = Terminal(["play", "--premise", "An owl who is afraid of the dark", "--style", "ink", "--pages", "3"],
                    tmp_path, slow)
    term.expect(r"into an-owl-who-is-afraid-of/")
    term.expect(r"2\s+Scene \d+ text\.")  # page 1 is written; page 2 is streaming
    term.child.sendintr()
    term.expect(r"cancelled: the pages finished so far are kept")
    term.expect(r"An owl|The Lantern")
    assert term.prompt()[0] == "main"
    term.run("/undo", r"error: .*unfinished page")
    term.send("/quit")
    assert term.finish() == 0
    story = load_story(tmp_path / "an-owl-who-is-afraid-of")
    assert story.style.name == "ink" and 1 <= len(story.pages) < 3 and not story.is_complete

    (tmp_path / "afile").write_text("x")
    term = Terminal(["play", "afile"], tmp_path, play_env)
    term.expect(r"error: afile is not a folder")
    assert term.finish() == 1
    assert "Traceback" not in term.screen


# =============================================================================================
# the API under it: undo, branch, branches, switch
# =============================================================================================
@pytest.fixture
def three_pages(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(2)]}, image_width=96, image_height=64, gate_attempts=1)
    root = tmp_path / "fox"
    teller.new_story("A fox who finds a lantern", out=root, pages=2)
    teller.continue_story(root, "Owl brings a cup of cocoa")
    return teller, root


def test_undo_takes_back_a_redraw_then_a_page_exactly(three_pages):
    from storyteller.memory import Memory

    teller, root = three_pages
    story = load_story(root)
    redrawn = teller.reillustrate(root, 3)
    assert redrawn.pages[2].illustration != story.pages[2].illustration
    new_file = root / redrawn.pages[2].illustration.path

    undone = teller.undo(root)
    assert undone.turn.action == "reillustrate" and undone.summary == "page 3: back to images/page-03.png"
    assert load_story(root) == story  # the previous picture's record, provenance and all
    assert not new_file.exists() and undone.deleted == (redrawn.pages[2].illustration.path,)

    undone = teller.undo(root)
    after = load_story(root)
    assert undone.summary == "removed page 3" and len(after.pages) == 2 and len(after.outline) == 2
    assert [t.action for t in after.history] == ["plan", "page", "page"] and after.is_complete
    assert not (root / "images/page-03.png").exists() and not (root / "audio/page-03.wav").exists()
    memory = Memory.open(root, teller.toolbox.backend("text_embedder"), teller.toolbox.backend("image_embedder"))
    assert max(r.page for r in memory.records.values()) == 2

    story = teller.continue_story(root, "Fern sings to the moon")  # the story goes on from page 2
    assert len(story.pages) == 3 and story.history[-1].action == "continue"
    assert story.pages[2].text_provenance.parameters["direction"] == "Fern sings to the moon"


def test_undo_refuses_what_it_cannot_take_back(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(1)]}, image_width=96, image_height=64, gate_attempts=1)
    teller.new_story("A fox", out=tmp_path / "one", pages=1)
    with pytest.raises(InvalidInput, match="page 1 cannot be undone"):
        teller.undo(tmp_path / "one")
    story = teller.load(tmp_path / "one")
    story.pages[0].text = "Edited by hand."
    teller.save(tmp_path / "one", story)
    with pytest.raises(InvalidInput, match=r"\(edit: edited by the caller\) cannot be undone"):
        teller.undo(tmp_path / "one")


def test_branches_are_whole_story_folders_that_share_files(three_pages):
    from storyteller.export.source import StorySource

    teller, root = three_pages
    teller.export(root, "json")
    main = load_story(root)
    assert [(b.name, b.active) for b in teller.branches(root)] == [("main", True)]

    teller.branch(root, "alt")
    alt = teller.continue_story(root, "A bear wakes up")
    teller.reillustrate(root, 1)
    infos = {b.name: b for b in teller.branches(root)}
    assert infos["alt"].active and infos["alt"].pages == 4 and infos["main"].pages == 3 and not infos["main"].active
    parked = root / "branches/main"
    assert load_story(parked) == main and not (parked / "exports").exists()
    assert os.stat(parked / "images/page-02.png").st_nlink >= 2  # a link, not a copy
    assert sha(parked / "images/page-01.png") == main.pages[0].illustration.sha256

    assert teller.switch(root, "main") == main
    assert not (root / "images/page-04.png").exists() and (root / "branches/alt/images/page-04.png").is_file()
    StorySource.open(root), StorySource.open(root / "branches/alt")
    story = teller.continue_story(root, "The fox goes home")  # writes page 4 of main: alt's page 4 is untouched
    assert sha(root / "branches/alt/images/page-04.png") == load_story(root / "branches/alt").pages[3].illustration.sha256
    assert teller.switch(root, "alt").pages[3].text == alt.pages[3].text
    assert load_story(root / "branches/main") == story

    with pytest.raises(InvalidInput, match="already a branch 'main'"):
        teller.branch(root, "main")
    with pytest.raises(InvalidInput, match="no branch 'nope'; the branches are alt, main"):
        teller.switch(root, "nope")
    with pytest.raises(InvalidInput, match="not a branch name"):
        teller.branch(root, "../escape")


def test_a_switch_interrupted_by_a_crash_is_finished_next_time(three_pages, monkeypatch):
    teller, root = three_pages
    teller.branch(root, "alt")
    alt = teller.continue_story(root, "A bear wakes up")

    class Crash(Exception):
        pass

    real_replace = os.replace

    def crash_before_the_story(source, target):  # every other file of main is in place, story.json not yet
        if Path(target).name == "story.json" and "branches" not in Path(target).parts:
            raise Crash()
        return real_replace(source, target)

    monkeypatch.setattr(os, "replace", crash_before_the_story)
    with pytest.raises(Crash):
        teller.switch(root, "main")
    monkeypatch.undo()
    assert json.loads((root / "branches/branches.json").read_text()) == {"active": "alt", "switching": "main"}
    assert load_story(root) == alt  # the folder still reads as alt, whose own copy is parked whole
    assert load_story(root / "branches/alt") == alt

    infos = {b.name: b for b in teller.branches(root)}  # any branch call finishes the switch
    assert infos["main"].active and infos["main"].pages == 3 and infos["alt"].pages == 4
    assert json.loads((root / "branches/branches.json").read_text()) == {"active": "main"}
    assert not (root / "images/page-04.png").exists() and not (root / "branches/main").exists()
    story = teller.continue_story(root, "The fox goes home")
    assert len(story.pages) == 4 and load_story(root / "branches/alt") == alt


# =============================================================================================
# the embedded default, for real
# =============================================================================================
@pytest.mark.slow
def test_a_short_session_on_the_embedded_default(tmp_path):
    """A one-page story and one direction in plain words, which the agent turns into the next
    page, on the real embedded models (Qwen GGUF via llama.cpp, Piper, MiniLM, the storyboard
    illustrator, classical vision), offline, in a terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTELLER_")}
    env.update(HF_HUB_OFFLINE="1", XDG_STATE_HOME=str(tmp_path / "state"), PROMPT_TOOLKIT_NO_CPR="1",
               TERM="xterm-256color", LANG="C.UTF-8")
    term = Terminal(["play", "--out", "tale", "--pages", "1"], tmp_path, env)
    term.expect(r"premise ›")
    term.send("A fox who finds a lantern in the snow")
    term.expect(r"style \[watercolor\] ›")
    term.send("pencil")
    term.expect(r"picture\s+images/page-01\.png", timeout=300)
    assert term.prompt(timeout=300) == ("main", 1)

    term.send("The lantern starts to glow and the fox follows its light")
    term.expect(r"2\s+\w+", timeout=300)  # the page, as the model wrote it
    term.expect(r"narration\s+audio/page-02\.wav", timeout=300)
    term.expect(r"saved page 2 \(turn 3\)", timeout=300)
    assert term.prompt() == ("main", 2)
    term.run("/ask 2 Is the picture bright?", r"[Bb]rightness", r"classical")
    term.send("/quit")
    assert term.finish() == 0

    story = load_story(tmp_path / "tale")
    assert [t.action for t in story.history] == ["plan", "page", "continue"] and story.is_complete
    assert story.style.name == "pencil"
    page = story.pages[1]
    assert page.text.strip() and " ".join(page.text.split()[:6]) in " ".join(term.screen.split())  # shown as written
    assert page.text_provenance.backend == "llamacpp" and page.text_provenance.kind == "neural"
    assert page.illustration.provenance.backend == "storyboard" and page.narration.provenance.backend == "ensemble"
    # Plain text went to the agent (the embedded model calls tools under its grammar), which wrote the page.
    agent = story.history[-1].agent
    assert agent["message"] == "The lantern starts to glow and the fox follows its light"
    assert agent["tool"] == "continue_story" and page.text_provenance.parameters["direction"] == agent["arguments"]["direction"]
    assert "-> continue_story(direction=" in term.screen


def test_tab_completion_knows_commands_pages_characters_branches_and_paths(three_pages, tmp_path):
    from types import SimpleNamespace

    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document

    from storyteller.cli.play import PlayCompleter

    teller, root = three_pages
    (tmp_path / "cat-photo.jpg").write_bytes(b"")
    play = SimpleNamespace(story=load_story(root), branch="main", branch_names=["alt", "main", "v2"])
    completer = PlayCompleter(play)

    def complete(text: str) -> list[str]:
        return [c.text for c in completer.get_completions(Document(text, len(text)), CompleteEvent(completion_requested=True))]

    assert complete("/br") == ["/branch", "/branches"] and complete("/und") == ["/undo"]
    assert complete("/ask ") == ["1", "2", "3"] and complete("/retry 2") == ["2"]
    assert complete("/character o") == ["Owl"] and complete("/switch ") == ["alt", "v2"]
    assert complete("/export e") == ["epub"] and complete("hello /") == []
    assert complete(f"/image {tmp_path}/cat-") == ["photo.jpg"]


def test_plain_text_goes_to_the_agent_and_the_screen_shows_its_tools(tmp_path):
    """With an LLM that calls tools, plain text is the agent's: a question is answered about the
    page's picture (no page written), a direction writes the next page, "redraw" draws again, and
    each tool called is shown; /undo takes the agent's change back. (The scripted model chooses
    its tool by rule: tests/fakes.py rule_tool_call.)"""
    site = tmp_path / "site"
    site.mkdir()
    config = fakes_config("planning", "word_delay = 0.0, tools = true", image_width=160, image_height=112,
                          gate_attempts=1)
    env = {**fake_plugin_env(site, config), "XDG_STATE_HOME": str(site / "state"), "PROMPT_TOOLKIT_NO_CPR": "1",
           "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    term = Terminal(["play", "--out", "fox", "--pages", "2", "--premise", "A fox who finds a lantern", "--style",
                     "ink"], tmp_path, env)
    assert term.prompt() == ("main", 2)
    shown = term.output_of("Is page 1 bright?")
    assert "-> ask_picture(page=1, question='Is page 1 bright?')" in shown and re.search(r"[Bb]rightness", shown)
    assert term.run("A grey cat comes out of the snow", r"-> continue_story\(direction='A grey cat comes out of the snow'\)",
                    r"saved page 3 \(turn 4\)") == ("main", 3)
    assert term.run("redraw page 2", r"-> redraw_page\(page=2\)", r"saved \(turn 5; /undo takes it back\)") == ("main", 3)
    term.run("/undo", r"undone: turn 5 \(reillustrate\)")
    term.send("/quit")
    assert term.finish() == 0
    story = load_story(tmp_path / "fox")
    assert story.history[-1].agent["tool"] == "continue_story"
    assert "cat" in {c.appearance.species for c in story.characters}  # the newcomer joined the cast

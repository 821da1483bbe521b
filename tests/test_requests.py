"""Every operation is a typed request (storyteller.requests) that the runner executes, committing
each turn in one place: a check exists once, and its error reads the same through the API, the
request itself, LangChain and the CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from fakes import plan_json

from storyteller.errors import InvalidInput
from storyteller.events import PlanReady, StoryDone, TurnCommitted
from storyteller.requests import (ContinueStory, EditStory, NewStory, PhotoScene, Reillustrate, Renarrate, Resume,
                                  SetVoice, Talk)
from storyteller.session import load_story


@pytest.fixture
def two_pages(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(2)]})
    teller.run(NewStory(premise="A fox who finds a lantern", out=tmp_path / "fox", pages=2))
    return teller, tmp_path / "fox"


@pytest.mark.parametrize("request_type, values, message", [
    (NewStory, {"premise": " \x07 ", "out": "x"}, "the premise is empty"),
    (NewStory, {"premise": "a" * 2001, "out": "x"}, "at most 2000 are accepted"),
    (NewStory, {"premise": "A fox", "out": "x", "pages": 0}, "pages must be between 1 and 50, got 0"),
    (NewStory, {"premise": "A fox", "out": "x", "pages": "six"}, "pages = 'six': Input should be a valid integer"),
    (NewStory, {"premise": "A fox", "out": "x", "seed": -1}, "seed must be 0 or more, got -1"),
    (NewStory, {"premise": "A fox", "out": "x", "image": "/no/such.png"}, "image not found: /no/such.png"),
    (NewStory, {"premise": "A fox", "out": "x", "language": "tlh"}, "tlh"),
    (NewStory, {"premise": "A fox"}, "the new story request lacks out"),
    (NewStory, {"premise": "A fox", "out": ""}, "the folder is empty"),
    (NewStory, {"premise": "A fox", "out": "x", "colour": "red"}, "unknown keys in the new story request: colour; known: premise"),
    (PhotoScene, {"image": "/no/such.png", "out": "x"}, "image not found"),
    (ContinueStory, {"folder": "x", "direction": ""}, "the direction is empty"),
    (Reillustrate, {"folder": "x", "page": True}, "page = True: Input should be a valid integer"),
    (Reillustrate, {"folder": "x", "page": 1, "seed": 2**32}, "seed must be between 0 and 2**32 - 1"),
    (SetVoice, {"folder": "x", "character": "Fern", "voice": "a", "rate": 0}, "rate = 0: Input should be greater than 0"),
    (Talk, {"folder": "x", "said": "x" * 501}, "the line is 501 characters; at most 500"),
])
def test_a_request_checks_its_values_when_made(request_type, values, message):
    with pytest.raises(InvalidInput) as refused:
        request_type(**values)
    assert message in str(refused.value)


def test_the_same_check_reads_the_same_through_api_langchain_and_cli(make_teller, tmp_path):
    teller = make_teller()
    with pytest.raises(InvalidInput) as direct:
        NewStory(premise="A fox", out=tmp_path / "f", pages=0)
    with pytest.raises(InvalidInput) as through_api:
        teller.new_story("A fox", out=tmp_path / "f", pages=0)
    with pytest.raises(InvalidInput) as through_langchain:
        teller.as_runnable().invoke({"premise": "A fox", "out": str(tmp_path / "f"), "pages": 0})
    assert str(direct.value) == str(through_api.value) == str(through_langchain.value)
    cli = subprocess.run([str(Path(sys.executable).parent / "storyteller"), "new", "A fox", "--out", str(tmp_path / "f"),
                          "--pages", "0"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    assert cli.returncode != 0 and "Traceback" not in cli.stderr
    assert not (tmp_path / "f").exists()  # refused before any folder was made


def test_the_runner_executes_every_turn_request_and_commits_each_turn_once(two_pages):
    teller, root = two_pages
    events = []
    teller.run(Reillustrate(folder=root, page=2, seed=5), on_event=events.append)
    teller.run(Renarrate(folder=root, page=1, voice="b"), on_event=events.append)
    teller.run(SetVoice(folder=root, character="narrator", voice="a", renarrate=False), on_event=events.append)
    story = teller.run(ContinueStory(folder=root, direction="The lantern starts to sing"), on_event=events.append)
    actions = [turn.action for turn in story.history]
    assert actions == ["plan", "page", "page", "reillustrate", "renarrate", "voice", "continue"]
    # Each turn is announced once, by the one commit path, after the asset it adds.
    committed = [e for e in events if isinstance(e, TurnCommitted)]
    assert [e.action for e in committed] == actions[3:]
    assert [e.turn for e in committed] == [4, 5, 6, 7]
    assert sum(isinstance(e, StoryDone) for e in events) == 4
    assert story == load_story(root)

    loaded = load_story(root)
    loaded.pages[0].text = "Fern held the lantern up to the snow."
    story = teller.run(EditStory(folder=root, story=loaded, summary="a better first line"))
    assert story.history[-1].action == "edit" and story.history[-1].pages == [1]
    assert load_story(root).pages[0].text == "Fern held the lantern up to the snow."


def test_what_depends_on_the_folder_is_checked_by_the_runner(two_pages, tmp_path):
    teller, root = two_pages
    with pytest.raises(InvalidInput, match="page 3 does not exist; the story has pages 1 to 2"):
        teller.run(Reillustrate(folder=root, page=3))
    with pytest.raises(InvalidInput, match="the story has no character 'Zed'"):
        teller.run(SetVoice(folder=root, character="Zed", voice="a"))
    with pytest.raises(Exception, match="already holds a story"):
        teller.run(NewStory(premise="A fox", out=root))
    assert len(load_story(root).history) == 3  # nothing was committed by a refused request
    story = teller.run(Resume(folder=root))  # a finished story: nothing to do, nothing committed
    assert len(story.history) == 3


def test_a_new_story_through_run_plans_then_commits_its_pages(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(2)]})
    events = []
    story = teller.run(NewStory(premise="A fox", out=tmp_path / "fox", pages=2), on_event=events.append)
    kinds = [type(e) for e in events]
    assert kinds.count(PlanReady) == 1 and kinds.count(TurnCommitted) == 2 and kinds[-1] is StoryDone
    assert [t.action for t in story.history] == ["plan", "page", "page"]

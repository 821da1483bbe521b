"""Characters who join mid-story (storyteller.agent.cast): who a direction brings in, and what
joining gives them (a sheet, a sheet picture, a voice, memory entries, the gate's attention),
on the scripted fakes; undo takes them out with the page or turn that brought them."""

from __future__ import annotations

import pytest
from fakes import plan_json

from storyteller.agent.cast import arrivals
from storyteller.errors import InvalidInput
from storyteller.memory import Memory


@pytest.fixture
def story(make_teller, tmp_path):
    teller = make_teller(llm={"plans": [plan_json(2)]})
    teller.new_story("A fox who finds a lantern", out=tmp_path / "fox", pages=2)
    return teller, tmp_path / "fox"


@pytest.mark.parametrize("words, kinds", [
    ("A grey cat comes out of the snow", ["cat"]),
    ("Fern laughs and the owl finds a lantern", []),      # the cast's own kinds, and a thing
    ("Another fox runs up to Fern", ["fox"]),               # "another" makes the cast's kind new
    ("a girl called Mia waves to an old sailor and a dog", ["girl", "sailor"]),  # at most two
    ("一只小猫从雪里跑出来", ["cat"]),                         # Chinese, through the glossary
])
def test_arrivals_are_the_creatures_and_people_the_cast_does_not_have(story, words, kinds):
    teller, folder = story
    assert arrivals(teller.load(folder), words) == kinds


def test_a_direction_that_brings_someone_in_makes_them_part_of_the_cast(story):
    teller, folder = story
    story_ = teller.continue_story(folder, "A grey cat called Pip comes out of the snow")
    pip = story_.named_character("Pip")
    page = story_.pages[-1]
    assert pip.joined == 3 and pip.appearance.species == "cat"
    assert pip.slug in page.characters                                   # on the page, so drawn and gated
    assert pip.voice is not None and pip.voice.voice_id not in {c.voice.voice_id for c in story_.characters if c is not pip}
    assert pip.reference_assets and (folder / pip.reference_assets[0].path).is_file()
    assert pip.slug in page.illustration.provenance.parameters["consistency"]["attempts"][0]["characters"]
    record = page.text_provenance.parameters["newcomers"][0]
    assert record["kind"] == "cat" and any("reader's words name them" in r for r in record["repairs"])
    memory = Memory.open(folder, teller.toolbox.backend("text_embedder"), teller.toolbox.backend("image_embedder"))
    assert pip.slug in memory.sheets

    undone = teller.undo(folder)
    assert "Pip" in undone.summary and "pip" not in {c.slug for c in undone.story.characters}
    assert not (folder / pip.reference_assets[0].path).exists()
    memory = Memory.open(folder, teller.toolbox.backend("text_embedder"), teller.toolbox.backend("image_embedder"))
    assert pip.slug not in memory.sheets


def test_a_direction_about_the_cast_brings_in_no_one_and_asks_no_model(story):
    teller, folder = story
    story_ = teller.continue_story(folder, "Fern and the owl walk on through the snow")
    assert [c.name for c in story_.characters] == ["Fern", "Owl"]
    assert teller.toolbox.llm.newcomer_calls == []


def test_add_character_gives_a_sheet_voice_and_picture_and_undo_takes_them_out(story):
    teller, folder = story
    story_ = teller.add_character(folder, "Bramble", "badger", clothing="a blue coat", colors=["grey", "white"])
    bramble = story_.named_character("Bramble")
    assert story_.history[-1].action == "character" and bramble.voice is not None and bramble.reference_assets
    assert bramble.appearance.clothing == "a blue coat" and bramble.joined == 2
    with pytest.raises(InvalidInput, match="already has a character called Bramble"):
        teller.add_character(folder, "bramble", "hedgehog")
    picture = folder / bramble.reference_assets[0].path
    undone = teller.undo(folder)
    assert undone.summary == "Bramble left the cast" and not picture.exists()
    assert [c.name for c in teller.load(folder).characters] == ["Fern", "Owl"]


def test_change_character_draws_a_new_sheet_and_redraws_their_pages_when_asked(story):
    teller, folder = story
    before = teller.load(folder)
    old_sheet = before.named_character("Owl").reference_assets[0].path
    owl_pages = [p.number for p in before.pages if "owl" in p.characters]
    story_ = teller.change_character(folder, "owl", clothing="a red hat", redraw=True)
    owl = story_.named_character("Owl")
    assert owl.appearance.clothing == "a red hat" and owl.reference_assets[0].path != old_sheet
    actions = [t.action for t in story_.history]
    assert actions[-1 - len(owl_pages):] == ["character"] + ["reillustrate"] * len(owl_pages)
    memory = Memory.open(folder, teller.toolbox.backend("text_embedder"), teller.toolbox.backend("image_embedder"))
    assert "red hat" in memory.sheets["owl"].render()
    with pytest.raises(InvalidInput, match="nothing to change"):
        teller.change_character(folder, "Owl", clothing="a red hat")
    for _ in owl_pages:
        teller.undo(folder)
    undone = teller.undo(folder)
    assert undone.summary == "Owl: the sheet is as it was"
    assert undone.story.named_character("Owl") == before.named_character("Owl")
    assert (folder / old_sheet).is_file() and not (folder / owl.reference_assets[0].path).exists()


def test_the_agent_adds_and_changes_characters(story):
    from fakes import ToolCall
    from test_chat import script

    teller, folder = story
    script(teller, ToolCall("add_character", {"name": "Hoot", "kind": "owl", "clothing": "a blue cap"}))
    reply = teller.chat(folder, "add a new character: an owl called Hoot in a blue cap")
    assert reply.tools == ["add_character"] and reply.text.startswith("Hoot joins the story")
    assert reply.story.history[-1].agent["tool"] == "add_character"
    script(teller, ToolCall("change_character", {"name": "Fern", "clothing": "a red hat", "redraw_pages": True}))
    reply = teller.chat(folder, "give Fern a red hat from now on")
    step = reply.steps[-1]
    assert step.arguments["redraw_pages"] is False and "do not ask to redraw" in step.repairs[0]
    assert reply.story.named_character("Fern").appearance.clothing == "a red hat"
    assert reply.story.history[-1].action == "character"  # no page was drawn again

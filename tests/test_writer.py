"""What the writer does to a small model's raw page text, and the plan's safe repairs."""

from __future__ import annotations

import pytest
from fakes import plan_json

from storyteller.agent.plan import mentioned, story_from_bible, StoryBible
from storyteller.agent.writer import MAX_SENTENCES, clean_page_text


@pytest.mark.parametrize("raw, clean", [
    ("Page 3: Fern runs.", "Fern runs."),
    ("p4 (summary): Fern runs! It is fun.", "Fern runs! It is fun."),
    ("**Page 2** Fern hops.", "Fern hops."),
    ("Fern climbs. She climbs up. She climbs up. She climbs up.", "Fern climbs. She climbs up."),
    ("Fern sees the lantern. It glows so bri", "Fern sees the lantern."),
    ('"Fern laughs." ', "Fern laughs."),
    ("Pat the dog naps.", "Pat the dog naps."),
    ("Fern naps. Where: a den. Now write page 7 of 6.", "Fern naps."),
    ("Fern naps. Page 6 (summary): Fern woke.", "Fern naps."),
    ("Fern naps in the snow. Page 2 of 4.", "Fern naps in the snow."),
    ('"', ""),
    ('Fern naps. "', "Fern naps."),
])
def test_clean_page_text(raw, clean):
    assert clean_page_text(raw) == clean


def test_a_rambling_page_is_capped():
    raw = " ".join(f"Sentence number {i} happens." for i in range(20))
    assert clean_page_text(raw).count(".") == MAX_SENTENCES
    long = " ".join(f"Sentence {i} is a long sentence with many many words in it, far more words than one short page of a picture book wants." for i in range(5))
    assert 2 <= clean_page_text(long).count(".") < 5


def test_characters_a_beat_names_are_put_on_stage():
    from fakes import stage_answer

    bible = StoryBible.model_validate_json(stage_answer(plan_json(2), "Decide the story's bible"))
    story = story_from_bible(bible, premise="A fox", style="watercolor")
    assert mentioned(story, "The fox meets Owl by the river.") == ["fern", "owl"]  # by kind ("fox") and by name
    assert mentioned(story, "Snow falls on the hills.") == []


def test_sentences_copied_from_earlier_pages_are_dropped():
    earlier = ["Fern finds a lantern. It glows."]
    assert clean_page_text("Fern finds a lantern. The owl hoots!", earlier) == "The owl hoots!"
    assert clean_page_text("Fern finds a lantern. It glows.", earlier) == ""


def test_slots_compose_into_prose_and_a_line_that_goes_on_with_the_narration_is_joined():
    from storyteller.agent.writer import compose, page_model

    model = page_model(["Fern", "Owl"])
    slots = model.model_validate({"narration": "Fern and Owl look at the frozen pond.", "speaker": "Owl",
                                  "says": "It is so cold.", "after": "They walk home together"})
    assert compose(slots) == 'Fern and Owl look at the frozen pond. "It is so cold," says Owl. They walk home together.'
    for quoted in ("'It is so cold.'", "'It is so cold,',", '"It is so cold."', "“It is so cold.”"):
        again = model.model_validate({**slots.model_dump(), "says": quoted})
        assert compose(again) == compose(slots), quoted  # the model's own quotes go; the page adds its own
    for attributed in ("'It is so cold.' Owl says with a shiver", '"It is so cold," said Owl.'):
        again = model.model_validate({**slots.model_dump(), "says": attributed})
        assert compose(again) == compose(slots), attributed  # the page says who speaks, once
    thought = model.model_validate({**slots.model_dump(), "says": "I wonder, 'Is it ice?'"})
    assert '"I wonder, \'Is it ice?\'" says Owl.' in compose(thought)  # its own mark, inside the inner quote
    tis = model.model_validate({**slots.model_dump(), "says": "'Tis cold tonight"})
    assert "\"'Tis cold tonight,\" says Owl." in compose(tis)
    broken = model.model_validate({"narration": "Fern swims out, but the water,", "speaker": "Fern",
                                   "says": "was choppy and cold", "after": "She turned back to the shore."})
    repairs: list[str] = []
    assert compose(broken, repairs) == "Fern swims out, but the water, was choppy and cold. She turned back to the shore."
    assert repairs and "joined" in repairs[0]


def test_a_sentence_that_only_says_the_beat_again_is_dropped():
    from storyteller.agent.writer import drop_restated_beat

    beat = "One day, Timmy woke up to the sound of crashing waves."
    repairs: list[str] = []
    text = ("One day, Timmy woke up to the sound of crashing waves. He ran to the window. "
            '"A seal!" said Timmy. The seal waved a flipper.')
    assert drop_restated_beat(text, beat, repairs) == 'He ran to the window. "A seal!" said Timmy. The seal waved a flipper.'
    assert repairs == ["dropped the beat, said again word for word"]
    assert drop_restated_beat("One day, Timmy woke up to the sound of crashing waves. He ran.", beat, []) == ""
    assert drop_restated_beat("Timmy ran to the sea.", beat, []) == "Timmy ran to the sea."


def test_a_slot_cut_off_by_its_length_bound_ends_at_its_last_full_sentence():
    from storyteller.agent.writer import compose, page_model

    model = page_model(["Fox"])
    after = ("He went on. The snow was soft but it felt more and more difficult to walk as he went on and on "
             "through the woods that night, and the wind blew colder and colder")[:150]
    repairs: list[str] = []
    text = compose(model.model_validate({"narration": "Fox walks into the deep forest alone.", "speaker": "Fox",
                                         "says": "Here I go", "after": after}), repairs)
    assert text.endswith('"Here I go," said Fox. He went on.') and repairs  # told in the past: said

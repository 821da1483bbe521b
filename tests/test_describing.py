"""A photo is described the same true way on every path that describes one.

scikit-image's `chelsea()` is a close-up of a cat whose face is turned from the camera: no Haar
cascade finds it, the embedded SSD-MobileNet detector does. The classical captioner and VQA are
built on the detector role's backend (the registry's `uses`), so continuing a story with the
photo, a photo scene, `ask` and the caption tool all say "1 cat", and say where that came from.
(`/image` and `/ask` in `storyteller play` are checked in test_play.py.)
"""

from __future__ import annotations

import re

import pytest
from fakes import plan_json
from PIL import Image

from storyteller.agent.toolbox import Toolbox
from storyteller.config import RoleConfig, Settings
from storyteller.errors import ConfigError

CAT = "1 cat (in the middle, close up)"


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    for name in ("chelsea", "astronaut", "coffee"):
        Image.fromarray(getattr(data, name)()).save(folder / f"{name}.jpg", quality=92)
    return folder


def test_the_classical_captioner_and_vqa_report_what_the_detector_finds(registry, photos):
    toolbox = Toolbox(Settings(), registry)
    captioner, vqa, detector = toolbox.backend("captioner"), toolbox.backend("vqa"), toolbox.backend("detector")
    assert captioner.detector is detector and vqa.detector is detector  # one detector model, shared
    assert captioner.model_id == f"colour and light statistics + ssd-mobilenet detector ({detector.model_id})"

    cat = Image.open(photos / "chelsea.jpg")
    caption = captioner.caption(cat)
    assert re.match(r"An evenly lit landscape picture, mostly (brown and grey|grey and brown): 1 cat \(in the middle, close up\)\.",
                    caption.text)  # brown and grey cover 43 % each
    assert "colour and light by classical analysis" in caption.text and "not a neural caption" in caption.text
    assert "found by the ssd-mobilenet detector, a neural model" in caption.text
    assert caption.provenance.kind == "classical" and caption.provenance.backend == "classical"
    found = caption.provenance.parameters["detector"]
    assert found["backend"] == "ssd-mobilenet" and found["kind"] == "neural"
    assert [f["label"] for f in found["found"]] == ["cat"] and found["found"][0]["score"] > 0.5
    assert [d.label for d in caption.details["found"]] == ["cat"]

    assert vqa.answer(cat, "How many cats are there?").text.startswith(f"{CAT}, found by the ssd-mobilenet detector")
    assert vqa.answer(cat, "Is there a dog?").text.startswith(f"No: no dogs found by the ssd-mobilenet detector")
    assert vqa.answer(cat, "Where is the cat?").text.startswith("The cat is in the middle, close up")
    assert CAT in vqa.answer(cat, "What is in the picture?").text
    assert "No people" in vqa.answer(cat, "How many people are there?").text  # no person invented
    colour = vqa.answer(cat, "What colour is the cat?").text  # measured in the cat's box
    assert colour.startswith("The cat (in the middle, close up) is mostly") and "brown" in colour
    assert "brown" in vqa.answer(cat, "What colour is it?").text
    assert "medium" in vqa.answer(cat, "Is the picture bright?").text
    unanswerable = vqa.answer(cat, "What is the cat thinking?").text
    assert "cannot answer" in unanswerable and CAT in unanswerable and "qwen2-vl" in unanswerable

    astronaut = Image.open(photos / "astronaut.jpg")
    assert "1 person (on the left, close up)" in captioner.caption(astronaut).text
    assert vqa.answer(astronaut, "How many people are there?").text.startswith("1 person")
    coffee = captioner.caption(Image.open(photos / "coffee.jpg")).text
    assert ": no people or animals." in coffee and "orange" in coffee


def test_with_the_haar_detector_the_captioner_says_what_the_cascades_find(registry, photos):
    toolbox = Toolbox(Settings(detector=RoleConfig(backend="classical")), registry)
    captioner = toolbox.backend("captioner")
    assert captioner.detector is toolbox.backend("detector") and captioner.detector.kind == "classical"
    astronaut = captioner.caption(Image.open(photos / "astronaut.jpg")).text
    assert "1 person" in astronaut and "found by the classical detector, no neural model" in astronaut
    # Chelsea's face is turned away: the cascades find nothing, and the caption says so (no cat invented).
    assert ": no people or animals." in captioner.caption(Image.open(photos / "chelsea.jpg")).text


def test_the_cat_is_a_cat_on_every_describing_path(registry, make_teller, photos, tmp_path):
    from storyteller import Storyteller
    from storyteller.langchain import tools

    cat = photos / "chelsea.jpg"
    # A photo scene: the description the LLM is given, the cast, and ask about its page (the photo).
    scene_teller = Storyteller(Settings(llm=RoleConfig(backend="scene"), narrator=RoleConfig(backend="tone"),
                                        text_embedder=RoleConfig(backend="hash"), illustrator=RoleConfig(backend="solid")),
                               registry=registry)
    scene = scene_teller.photo_scene(cat, out=tmp_path / "scene", lines=2)
    described = scene.plan_provenance.parameters["photo_description"]
    assert CAT in described and scene.pages[0].scene == described
    assert [c.appearance.species for c in scene.characters] == ["cat"]
    answer = scene_teller.ask(tmp_path / "scene", 1, "What animal is in the picture?")
    assert CAT in answer.text and answer.provenance.parameters["detector"]["found"][0]["label"] == "cat"
    assert scene_teller.ask(tmp_path / "scene", 1, "How many cats are there?").text.startswith(CAT)

    # Continuing a story with the photo: the page is told what the photo shows.
    teller = make_teller(llm={"plans": [plan_json(2)]})
    teller.new_story("A fox who finds a lantern in the snow", out=tmp_path / "fox", pages=2)
    story = teller.continue_story(tmp_path / "fox", "A visitor arrives", image=cat)
    notes = story.pages[-1].text_provenance.parameters
    assert notes["photo_description"] == described  # the same words as the photo scene's
    told = [m["content"] for call in teller.toolbox.llm.calls for m in call["messages"]]
    assert any(CAT in text for text in told)  # the writer was told what the photo shows
    photo_asset = story.pages[-1].text_provenance.parameters["photo"]
    assert photo_asset.endswith("page-03-photo.jpg")

    # The tools an agent or a LangChain program calls.
    caption, ask = tools(teller, names=["caption", "ask"])
    assert caption.invoke({"image_path": str(cat)}).text == described
    assert ask.invoke({"image_path": str(cat), "question": "Is there a cat?"}).text.startswith(f"Yes: {CAT}")


def test_a_backend_gets_the_backends_of_the_roles_it_uses(registry):
    captioner_entry = registry.entry("captioner", "classical")
    assert captioner_entry.uses == ("detector",) and registry.entry("vqa", "classical").uses == ("detector",)
    with pytest.raises(ConfigError, match="built on detector, given none"):
        registry.backend("captioner", "classical")
    detector = registry.backend("detector", "classical")
    with pytest.raises(ConfigError, match="captioner.options.detector cannot be set"):
        registry.backend("captioner", "classical", {"detector": "x"}, uses={"detector": detector})
    with pytest.raises(ConfigError, match="unknown role 'painter'"):
        registry.add_backend("captioner", "odd", "x:Y", uses=("painter",))
    # One instance per (options, used backends): another detector gives another captioner.
    with_haar = registry.backend("captioner", "classical", uses={"detector": detector})
    assert with_haar is registry.backend("captioner", "classical", uses={"detector": detector})
    assert with_haar is not registry.backend("captioner", "classical", uses={"detector": registry.backend("detector", "ssd-mobilenet")})

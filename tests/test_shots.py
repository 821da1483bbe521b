"""Shots: staging a page (LLM under the grammar, then the words), drawing the shot, gating by region.

The storyboard renders small pages here (384x256) where the size does not matter.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from fakes import ScriptedLLM, shot_json

from storyteller import staging
from storyteller.agent.shots import answer_model, make_shot
from storyteller.backends.base import Completion, Figure, IllustrationRequest, LLMBackend
from storyteller.backends.classical_image_embed import ClassicalImageEmbedder
from storyteller.backends.storyboard import Pose, StoryboardIllustrator, draw_posed
from storyteller.memory.gate import ConsistencyGate, crop_region
from storyteller.story import (ACTIONS, CAMERAS, EXPRESSIONS, SCHEMA_VERSION, Appearance, Character, Shot, ShotCharacter,
                               Story)

FOX = Figure("fen", "Fen", "a small orange fox", ["orange", "white"], "fox")
BIRD = Figure("pip", "Pip", "a little blue bird", ["blue", "yellow"], "bird")
GIRL = Figure("ana", "Ana", "a girl in a yellow dress", ["yellow", "green"], "girl")
OWL = Figure("owl", "Owl", "a brown owl", ["brown", "cream"], "owl")
ROBOT = Figure("bolt", "Bolt", "a friendly robot", ["silver", "red"], "robot")
OCTOPUS = Figure("oki", "Oki", "a shy octopus", ["purple", "pink"], "octopus")
FAMILIES = [GIRL, FOX, BIRD, OWL, ROBOT, OCTOPUS]  # people, four-legged, birds (side and upright), creatures


def character(slug, name, species, colors=("orange",)):
    return Character(name=name, slug=slug, appearance=Appearance(species=species, colors=list(colors)))


FEN = character("fen", "Fen", "fox")
PIP = character("pip", "Pip", "bird", ("blue",))


class AnsweringLLM(LLMBackend):
    """Answers shot requests with a fixed JSON answer (or `text` as is), under the 'grammar'."""

    name = "answering"

    def __init__(self, answer=None, text=None):
        super().__init__()
        self.answer, self.text, self.calls = answer, text, []

    @property
    def model_id(self):
        return "answering-fake"

    @property
    def supports_json_schema(self):
        return True

    def complete(self, messages, *, json_schema=None, **kwargs):
        self.calls.append({"messages": messages, "json_schema": json_schema})
        text = self.text if self.text is not None else json.dumps(self.answer)
        result, provenance = self.timed("complete", lambda: text)
        return Completion(text=result, output_tokens=len(text.split()), provenance=provenance)


# -- staging from words ------------------------------------------------------------------------------
def test_words_with_known_answers():
    names = {"fen": ["Fen", "fox"], "pip": ["Pip", "bird"]}
    cues = staging.read_cast('Fen trudged through the snow. "Look!" called Pip, flying down. Fen smiled.', names)
    assert cues["fen"]["action"].value == "walk" and cues["fen"]["action"].word == "trudged"
    assert cues["fen"]["expression"].value == "happy"
    assert cues["pip"]["action"].value == "fly"
    assert [c.value for c in staging.read_props("She kneads the dough; the loaves go in the oven by the window.")] == \
        ["bread", "oven", "window"]
    assert staging.read_time("under the moonlit sky").value == "night"
    assert staging.read_time("at sunrise").value == "morning"
    assert staging.read_weather("it was raining hard").value == "rain"
    assert staging.read_weather("a thunderstorm rolled in").value == "storm"  # storm before rain
    assert staging.read_setting("a snowy forest at night").value == "forest"
    assert staging.read_setting("the kitchen, snow outside the window").value == "indoor"
    # a character is not its own prop: the bus that is the hero is not drawn again as scenery
    assert staging.read_props("The bus drove to the sea", exclude=["Bessie", "bus"]) == []


def test_stage_puts_two_characters_face_to_face():
    staged = staging.stage([ShotCharacter(character="fen"), ShotCharacter(character="pip")])
    assert [(m.position, m.facing) for m in staged] == [("left", "right"), ("right", "left")]
    alone = staging.stage([ShotCharacter(character="fen", action="run")])
    assert (alone[0].position, alone[0].facing) == ("centre", "right")


# -- the shot maker: LLM under the grammar, repaired from the words ----------------------------------------
def test_answer_model_fixes_one_key_per_character_and_the_vocabularies():
    schema = answer_model(["fen", "pip"]).model_json_schema()
    cast = schema["$defs"]["ShotCast"]
    assert cast["required"] == ["fen", "pip"] and cast["additionalProperties"] is False
    assert schema["properties"]["camera"]["enum"] == list(CAMERAS)
    assert schema["$defs"]["_CastAnswer"]["properties"]["action"]["enum"] == list(ACTIONS)


def test_the_model_stages_and_the_words_correct_it():
    answer = {"setting": "garden", "time_of_day": "day", "weather": "clear", "camera": "wide",
              "cast": {"fen": {"action": "sit", "expression": "sad"}, "pip": {"action": "wave", "expression": "neutral"}}}
    llm = AnsweringLLM(answer)
    shot = make_shot(llm, text="Fen ran through the snowy woods under the moon, holding a lantern. Pip waved.",
                     scene="a snowy forest", cast=[FEN, PIP], seed=3)
    assert llm.calls and llm.calls[0]["json_schema"]["title"] == "ShotAnswer"
    assert shot.provenance is not None and shot.provenance.parameters["answer"]["camera"] == "wide"
    assert (shot.setting, shot.time_of_day, shot.weather) == ("forest", "night", "snow")
    by = {m.character: m for m in shot.cast}
    assert by["fen"].action == "run" and by["pip"].action == "wave"  # the model's wave stands: the text agrees
    assert by["fen"].expression == "sad"  # the words say nothing of Fen's mood: the model's choice stays
    assert shot.camera == "wide" and shot.props == ["moon", "lantern"] and shot.light == "glowing"
    filled = "\n".join(shot.filled)
    assert "setting: forest from 'forest' (model: garden)" in filled
    assert "fen.action: run from 'ran' (model: sit)" in filled
    assert "time_of_day: night from 'moon' (model: day)" in filled


def test_an_action_the_place_rules_out_goes_back_to_standing():
    answer = {"setting": "desert", "time_of_day": "day", "weather": "clear", "camera": "medium",
              "cast": {"fen": {"action": "swim", "expression": "happy"}}}
    shot = make_shot(AnsweringLLM(answer), text="Fen was on the hot sand.", scene="the desert", cast=[FEN])
    assert shot.cast[0].action == "stand"
    assert any("no water" in line for line in shot.filled)


def test_no_valid_answer_means_the_words_stage_it_all():
    shot = make_shot(AnsweringLLM(text="not json at all"), text="Fen jumped in the rain.", scene="a meadow", cast=[FEN])
    assert shot.provenance is None and shot.filled[0].startswith("all: read from the words")
    assert (shot.setting, shot.weather, shot.cast[0].action) == ("garden", "rain", "jump")


def test_a_story_on_fakes_has_a_shot_per_page_and_draws_it(make_teller, tmp_path):
    from fakes import plan_json

    teller = make_teller(llm={"plans": [plan_json(2)]}, illustrator={}, gate_attempts=1)
    teller.settings.illustrator.backend = "storyboard"
    story = teller.new_story("A fox", out=tmp_path / "s", pages=2)
    assert teller.toolbox.llm.shot_calls and len(teller.toolbox.llm.shot_calls) == 2
    for page in story.pages:
        assert page.shot is not None and page.shot.provenance is not None
        assert {m.character for m in page.shot.cast} == set(page.characters)
        params = page.illustration.provenance.parameters
        assert params["on_stage"] == {"asked": len(page.characters), "drawn": len(page.characters), "source": "illustrator"}
        assert params["shot_source"] == "request" and params["time_of_day"] == "night"
    # the character sheet: front and side view, and the gate's references are those two views
    sheet = story.characters[0].reference_assets[0]
    assert sheet.provenance.parameters["sheet"] is True and sheet.provenance.parameters["views"] == ["front", "side"]


def test_a_version_1_story_loads_and_its_pages_still_draw(tmp_path):
    story = Story(title="Old", premise="p", style={"name": "watercolor"}, characters=[FEN],
                  pages=[{"number": 1, "text": "Fen walked to the sea.", "scene": "the beach", "characters": ["fen"]}])
    old = json.loads(story.model_dump_json())
    old["schema_version"] = 1
    for key in ("bible",):
        old.pop(key)
    for page in old["pages"]:
        page.pop("shot")
    loaded = Story.model_validate(old)
    assert loaded.schema_version == SCHEMA_VERSION and loaded.pages[0].shot is None
    # a page with no shot is staged from its words by the storyboard
    [result] = StoryboardIllustrator().illustrate([IllustrationRequest(
        prompt="the beach. Fen walked to the sea.", scene="the beach", seed=1, width=384, height=256, figures=[FOX])])
    params = result.provenance.parameters
    assert params["shot_source"] == "read from the prompt" and params["setting"] == "sea"
    assert params["figures"][0]["action"] == "walk"


# -- the storyboard draws the shot ------------------------------------------------------------------
def mask_colours(image) -> np.ndarray:
    """The opaque pixels' colours of a sprite."""
    arr = np.asarray(image, dtype=np.int16)
    return arr[arr[..., 3] == 255][:, :3]


def colour_share(image, rgb, tolerance=40) -> float:
    px = mask_colours(image)
    return float((np.abs(px - np.array(rgb)).sum(axis=1) < tolerance).mean())


@pytest.mark.parametrize("figure", FAMILIES, ids=lambda f: f.species)
def test_every_action_is_drawn_distinctly_and_the_figure_keeps_its_colours(figure):
    from storyteller.backends.storyboard import parse_color

    sprites = {a: draw_posed(figure, 120, Pose(a)).image for a in ACTIONS}
    main = parse_color(figure.colors[0])
    base_share = colour_share(sprites["stand"], main)
    assert base_share > 0.1
    for a, b in [(a, b) for i, a in enumerate(ACTIONS) for b in ACTIONS[i + 1:]]:
        sa, sb = sprites[a], sprites[b]
        same = sa.size == sb.size and np.array_equal(np.asarray(sa), np.asarray(sb))
        assert not same, f"{figure.species}: {a} and {b} are drawn alike"
    for action, sprite in sprites.items():  # the same colours in every pose, in about the same share
        assert colour_share(sprite, main) > base_share * 0.45, f"{figure.species} {action} lost its colour"


@pytest.mark.parametrize("figure", [GIRL, FOX, ROBOT], ids=lambda f: f.species)
def test_every_expression_changes_the_face(figure):
    faces = [np.asarray(draw_posed(figure, 120, Pose("stand", e)).image) for e in EXPRESSIONS]
    for i in range(len(faces)):
        for j in range(i + 1, len(faces)):
            assert faces[i].shape != faces[j].shape or not np.array_equal(faces[i], faces[j]), \
                f"{EXPRESSIONS[i]} and {EXPRESSIONS[j]} look alike"


def render(shot, figures=(FOX, BIRD), seed=1, **kw):
    return StoryboardIllustrator().illustrate([IllustrationRequest(
        prompt="x", seed=seed, width=384, height=256, figures=list(figures), shot=shot, **kw)])[0]


def two(**kw):
    return Shot(cast=staging.stage([ShotCharacter(character="fen"), ShotCharacter(character="pip")]), **kw)


def test_camera_changes_the_scale_and_the_close_up_crops():
    sizes = {}
    for camera in CAMERAS:
        result = render(two(camera=camera))
        fen = result.provenance.parameters["figures"][0]
        sizes[camera] = fen["height"]
        assert result.provenance.parameters["camera"] == camera
    assert sizes["wide"] < sizes["medium"] < sizes["close-up"]
    close = render(two(camera="close-up")).regions["fen"]
    assert close[3] >= 0.7  # cut by the bottom of the scene (the caption strip starts below it)


def test_characters_stand_where_the_shot_puts_them_and_face_that_way():
    result = render(two())
    (fen_x0, _, fen_x1, _), (pip_x0, _, pip_x1, _) = result.regions["fen"], result.regions["pip"]
    assert fen_x1 <= pip_x0  # fen on the left, pip on the right
    swapped = Shot(cast=[ShotCharacter(character="fen", position="right", facing="left"),
                         ShotCharacter(character="pip", position="left", facing="right")])
    result = render(swapped)
    assert result.regions["pip"][2] <= result.regions["fen"][0]
    placed = {f["key"]: f for f in result.provenance.parameters["figures"]}
    assert placed["fen"]["facing"] == "left"
    # facing left is the mirror image of facing right
    right = np.asarray(draw_posed(FOX, 100, Pose(facing="right")).image)
    left = np.asarray(draw_posed(FOX, 100, Pose(facing="left")).image)
    assert np.array_equal(left, right[:, ::-1])
    far = render(Shot(cast=[ShotCharacter(character="fen", depth="far")]), figures=[FOX])
    near = render(Shot(cast=[ShotCharacter(character="fen")]), figures=[FOX])
    assert far.regions["fen"][3] < near.regions["fen"][3]  # further back, higher up, smaller
    assert (far.regions["fen"][3] - far.regions["fen"][1]) < (near.regions["fen"][3] - near.regions["fen"][1])


def test_time_of_day_and_weather_change_the_sky():
    def sky(shot):
        arr = np.asarray(render(shot, figures=[]).image, dtype=np.float32)
        return arr[: arr.shape[0] // 4].mean(axis=(0, 1))

    day, night, evening, fog = (sky(Shot(time_of_day=t, weather=w))
                                for t, w in (("day", "clear"), ("night", "clear"), ("evening", "clear"), ("day", "fog")))
    assert day.mean() > night.mean() + 60
    assert evening[0] - evening[2] > day[0] - day[2]  # warmer
    assert np.abs(fog - day).sum() > 30


def test_props_are_drawn_and_an_unknown_one_is_a_labelled_placeholder():
    result = render(Shot(props=["bread", "key", "zeppelin"]), figures=[FOX])
    params = result.provenance.parameters
    assert {"bread", "key", "zeppelin"} <= set(params["props"])
    assert "placeholder" in params["props_notes"]["zeppelin"]
    held = render(Shot(props=["lantern"], cast=[ShotCharacter(character="ana", action="hold")]), figures=[GIRL])
    assert held.provenance.parameters["figures"][0]["holds"] == "lantern"
    indoors = render(Shot(setting="indoor", props=["lighthouse", "door", "window"]), figures=[])
    assert "not drawn" in indoors.provenance.parameters["props_notes"]["lighthouse"]
    assert {"door", "window"} <= set(indoors.provenance.parameters["props"])


def test_every_premise_noun_the_lexicon_knows_is_drawn():
    """The shared premises as a test set: every prop they name has a drawing (none a placeholder)."""
    from pathlib import Path

    premises = (Path(__file__).resolve().parents[2] / "shared" / "eval" / "premises.txt")
    if not premises.is_file():
        pytest.skip("the shared premises are not here")
    props = {c.value for line in premises.read_text().splitlines() for c in staging.read_props(line, limit=99)}
    assert {"lantern", "bread", "door", "tree", "kite", "clock", "leaf", "newspaper", "broom", "moon"} <= props
    result = render(Shot(props=sorted(props)[:6]), figures=[])
    assert not any("placeholder" in n for n in result.provenance.parameters["props_notes"].values())
    for prop in sorted(props):
        notes = render(Shot(props=[prop]), figures=[]).provenance.parameters["props_notes"]
        assert "placeholder" not in notes.get(prop, ""), prop


def test_the_sheet_shows_front_and_side_views_large():
    [sheet] = StoryboardIllustrator().illustrate([IllustrationRequest(
        prompt="sheet", seed=1, width=384, height=256, figures=[GIRL], sheet=True)])
    views = sheet.provenance.parameters["figures"]
    assert [v["view"] for v in views] == ["front", "side"]
    assert all(v["height"] > 256 * 0.5 for v in views)


# -- the gate compares each character's region with its sheet -----------------------------------------
@pytest.fixture(scope="module")
def sheets():
    embedder = ClassicalImageEmbedder()
    refs = {}
    for figure in (FOX, BIRD):
        [sheet] = StoryboardIllustrator().illustrate([IllustrationRequest(
            prompt="sheet", seed=1, width=768, height=512, figures=[figure], sheet=True, style="watercolor")])
        assert set(sheet.regions) == {figure.key, f"{figure.key}#side"} == set(sheet.masks)
        refs[figure.key] = embedder.embed_images([crop_region(sheet.image, box, mask=sheet.masks[view])
                                                  for view, box in sheet.regions.items()])
    return embedder, refs


def page(figures, seed=4, action="walk"):
    shot = Shot(setting="forest", time_of_day="evening", cast=staging.stage(
        [ShotCharacter(character=f.key, action=action) for f in figures]))
    return StoryboardIllustrator().illustrate([IllustrationRequest(
        prompt="x", seed=seed, width=768, height=512, figures=list(figures), shot=shot, style="watercolor",
        caption="Fen and Pip walk through the wood.")])[0]


def test_gate_passes_the_characters_as_themselves_and_fails_a_recolour_or_a_swap(sheets):
    embedder, refs = sheets
    gate = ConsistencyGate(embedder)
    same = gate.score(page([FOX, BIRD]), characters=refs)
    assert same["passed"] and same["character_measure"] == "region mask"
    recoloured = Figure("fen", "Fen", "a small orange fox", ["green", "purple"], "fox")
    scores = gate.score(page([recoloured, BIRD]), characters=refs)
    assert not scores["passed"] and scores["characters"]["fen"] < same["characters"]["fen"] - 0.2
    assert scores["characters"]["pip"] >= gate.thresholds["character"]
    # swapped: each drawn where the other should be (the fox under Pip's key, the bird under Fen's)
    fox_as_pip = Figure("pip", FOX.label, FOX.description, FOX.colors, FOX.species)
    bird_as_fen = Figure("fen", BIRD.label, BIRD.description, BIRD.colors, BIRD.species)
    swapped = gate.score(page([bird_as_fen, fox_as_pip]), characters=refs)
    assert not swapped["passed"]
    # a character the picture does not show scores 0
    missing = gate.score(page([FOX]), characters=refs)
    assert missing["characters"]["pip"] == 0.0 and not missing["passed"]


def test_fakes_answer_shot_requests_with_one_entry_per_character():
    schema = answer_model(["a", "b"]).model_json_schema()
    answer = json.loads(shot_json(schema))
    assert set(answer["cast"]) == {"a", "b"}
    assert answer_model(["a", "b"]).model_validate(answer)
    assert ScriptedLLM().supports_json_schema


def test_a_direction_gets_its_shot_the_same_way_and_eval_counts_the_figures(make_teller, tmp_path):
    from fakes import plan_json

    from storyteller.backends.classical_image_embed import ClassicalImageEmbedder
    from storyteller.memory.eval import evaluate_story

    teller = make_teller(llm={"plans": [plan_json(1)]}, gate_attempts=1)
    teller.settings.illustrator.backend = "storyboard"
    teller.new_story("A fox", out=tmp_path / "s", pages=1)
    story = teller.continue_story(tmp_path / "s", "Fern runs to the frozen pond")
    added = story.pages[-1]
    assert added.shot is not None and len(teller.toolbox.llm.shot_calls) == 2
    report = evaluate_story(tmp_path / "s", ClassicalImageEmbedder())
    assert report.onstage_count_score == 1.0
    assert [p.figures_drawn for p in report.page_scores] == [len(p.characters) for p in story.pages]


def test_an_illustrator_that_does_not_say_where_gets_the_detectors_boxes_left_to_right():
    from PIL import Image

    from storyteller.agent.graph import StoryRun
    from storyteller.backends.base import Detection, DetectionResult, ImageResult
    from storyteller.story import Provenance

    def provenance(backend):
        return Provenance(backend=backend, model="m", kind="neural", duration_s=0.0)

    class Detector:
        def detect(self, image):
            return DetectionResult([Detection("dog", (0.6, 0.2, 0.9, 0.9), 0.8), Detection("person", (0.1, 0.1, 0.4, 0.9), 0.9),
                                    Detection("cat", (0.4, 0.5, 0.5, 0.6), 0.1)], provenance("ssd"))

    class Toolbox:
        def backend(self, role):
            assert role == "detector"
            return Detector()

    run = StoryRun(Toolbox())
    result = run.locate(ImageResult(Image.new("RGB", (64, 64)), provenance("diffusers")), ["ana", "bo"])
    assert result.regions == {"ana": (0.1, 0.1, 0.4, 0.9), "bo": (0.6, 0.2, 0.9, 0.9)}  # the two surest, left to right
    assert result.provenance.parameters["regions_source"] == "detector ssd:m"
    # finding fewer than are on stage, it cannot say who is missing: the whole picture is scored
    fewer = run.locate(ImageResult(Image.new("RGB", (64, 64)), provenance("diffusers")), ["ana", "bo", "cy", "di"])
    assert fewer.regions == {} and "found 3 of 4" in fewer.provenance.parameters["regions_source"]


def test_a_page_does_not_repeat_the_framing_of_the_page_before_unasked():
    answer = {"setting": "forest", "time_of_day": "night", "weather": "clear", "camera": "close-up",
              "cast": {"fen": {"action": "walk", "expression": "scared"}}}
    first = make_shot(AnsweringLLM(answer), text="Fen walked on.", scene="a dark wood", cast=[FEN])
    second = make_shot(AnsweringLLM(answer), text="Fen walked on.", scene="a dark wood", cast=[FEN], previous=first)
    assert first.camera == "close-up" and second.camera == "medium"
    assert "camera: medium, not close-up again after the page before" in second.filled
    asked = make_shot(AnsweringLLM(answer), text="Fen wiped a tear from her eyes.", scene="a dark wood",
                      cast=[FEN], previous=first)
    assert asked.camera == "close-up"  # the words ask for it: a tear, her eyes


def test_a_chinese_page_is_staged_and_drawn_through_its_gloss(tmp_path):
    """The lexicon and the storyboard know English words; Chinese is read through
    storyteller.languages.gloss: 狐狸 is drawn as a fox, 灯笼 as a lantern, 跑 as running."""
    from storyteller.backends.storyboard.figures import resolve_look
    from storyteller.languages import gloss

    assert gloss("猫头鹰在晚上飞") == "猫头鹰在晚上飞 owl night fly"  # the longest word first: not 猫, a cat
    assert gloss("A fox") == "A fox"
    shot = staging.read_shot("小狐狸提着灯笼在雪地里跑，猫头鹰在树上睡觉。", scene="冬天的森林",
                             names={"xiao-hu-li": ["小狐狸", "狐狸"], "gu-gu": ["咕咕", "猫头鹰"]})
    cast = {c.character: c for c in shot.cast}
    assert cast["xiao-hu-li"].action == "run" and cast["gu-gu"].action == "sleep"
    assert "lantern" in shot.props and shot.weather == "snow"
    look = resolve_look(Figure(key="xiao-hu-li", label="小狐狸", description="橘红色的毛", colors=["橘红"], species="狐狸"))
    assert (look.kind, look.species) == ("quadruped", "fox")

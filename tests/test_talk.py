"""Talking with a photo's characters, by voice: conversations, distinct voices, emotion, privacy.

Fast tests run on the scripted fakes (scene LLM, tone narrator) with the real embedded detector and
OpenCV's cascades; the `slow` ones speak with the embedded voices and listen with the packaged
Whisper (voice input in English, and in Chinese in a Chinese scene).
"""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from storyteller.agent.talk import address
from storyteller.agent.voices import assign_voices
from storyteller.backends.base import VoiceSpec
from storyteller.errors import InvalidInput
from storyteller.session import load_story
from storyteller.story import Character, PageBeat, Story, StyleGuide

from fakes import fake_plugin_env, plan_json

GPS = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}


def _with_gps(image: Image.Image, path: Path) -> Path:
    """The photo as a camera would write it: EXIF with the camera, the time and where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0132] = "2024:05:01 10:00:00"
    exif[0x8825] = GPS
    image.save(path, exif=exif, quality=92, comment=b"at home")
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("photos")
    _with_gps(Image.fromarray(data.astronaut()), folder / "astronaut.jpg")
    Image.fromarray(data.coffee()).save(folder / "coffee.jpg", quality=92)
    camera = np.stack([data.camera()] * 3, axis=-1)
    group = Image.new("RGB", (1792, 512))  # a person, a cat, a person
    group.paste(Image.fromarray(data.astronaut()).resize((512, 512)), (0, 0))
    group.paste(Image.fromarray(data.chelsea()).resize((768, 512)), (512, 0))
    group.paste(Image.fromarray(camera).resize((512, 512)), (1280, 0))
    _with_gps(group, folder / "group.jpg")
    return folder


@pytest.fixture
def teller(registry):
    from storyteller import Storyteller
    from storyteller.config import RoleConfig, Settings

    return Storyteller(Settings(llm=RoleConfig(backend="scene"), narrator=RoleConfig(backend="tone"),
                                text_embedder=RoleConfig(backend="hash"), illustrator=RoleConfig(backend="solid")),
                       registry=registry)


@pytest.fixture
def scene(teller, photos, tmp_path):
    story = teller.photo_scene(photos / "group.jpg", out=tmp_path / "scene", lines=3)
    return tmp_path / "scene", story


# =============================================================================================
# a conversation
# =============================================================================================
def test_who_is_addressed():
    story = Story(title="t", premise="p", style=StyleGuide(name="s"), kind="photo",
                  characters=[Character(name="Milo", slug="milo"), Character(name="Luna Belle", slug="luna", aliases=["Lu"])])
    assert address(story, "@Luna Belle what is that?").character.slug == "luna"
    found = address(story, "Milo, do you like the sea?")
    assert (found.character.slug, found.said, found.chosen) == ("milo", "do you like the sea?", "named")
    assert address(story, "hey Lu, come here").character.slug == "luna"
    assert address(story, "Do you like the sea, Luna?").said == "Do you like the sea?"  # first name, at the end
    assert address(story, "What a day!").chosen == "first"
    assert address(story, "What a day!", to="luna").chosen == "asked"
    with pytest.raises(InvalidInput, match="no character 'Zed'"):
        address(story, "hi", to="Zed")


def test_a_conversation_answers_in_character_remembers_and_undoes(teller, scene):
    root, story = scene
    cat = next(c for c in story.characters if c.appearance.species == "cat")
    first, second, third = story.characters
    story = teller.talk(root, f"@{cat.name} what are you looking at?")
    page = story.pages[-1]
    assert story.history[-1].action == "talk" and page.number == 2
    assert page.exchange.to == cat.slug and page.exchange.chosen == "named" and page.exchange.said == "what are you looking at?"
    assert page.dialogue[0].speaker == cat.slug and "heard you say: what are you looking at?" in page.dialogue[0].text
    assert page.dialogue[1].speaker != cat.slug  # another one reacts
    lines = page.narration.lines  # the reader's words in the narrator's voice, then each in their own
    assert [line.speaker for line in lines] == [None, cat.slug, page.dialogue[1].speaker]
    assert lines[0].voice == story.narrator_voice and lines[1].voice.voice_id == cat.voice.voice_id
    assert page.illustration == story.pages[0].illustration  # the photo again

    # Without a name: the one spoken to last answers, and remembers what was said to them.
    story = teller.talk(root, "Is it a bird?")
    assert story.pages[-1].exchange.to == cat.slug and story.pages[-1].exchange.chosen == "last spoken to"
    prompt = teller.toolbox.llm.calls[-1]["messages"][-1]["content"]
    assert f"What {cat.name} and the reader said before:\nYou: what are you looking at?" in prompt
    assert f"{cat.name} remembers:" in prompt and "The reader said to" in prompt
    assert teller.toolbox.llm.calls[-1]["json_schema"]["title"] == "Reply"
    reactors = teller.toolbox.llm.calls[-1]["json_schema"]["$defs"]["Reaction"]["properties"]["who"]["enum"]
    assert set(reactors) == {first.name, third.name, "nobody"} - {cat.name} | {"nobody"}  # names as an enum

    undone = teller.undo(root)
    assert undone.turn.action == "talk" and len(undone.story.pages) == 2 and len(undone.story.outline) == 2
    assert (root / story.pages[0].illustration.path).is_file()  # the photo stays: page 1 and 2 show it
    from storyteller.memory import Memory

    memory = Memory.open(root, teller.toolbox.backend("text_embedder"), story=undone.story)
    remembered = [r.text for r in memory.records.values() if r.type == "fact" and r.key.startswith("talk-")]
    assert remembered and all("Is it a bird?" not in text for text in remembered)  # forgotten with its page
    assert any("what are you looking at?" in text for text in remembered)


def test_a_scene_and_a_conversation_in_chinese(teller, photos, tmp_path):
    """A Chinese scene: Chinese prompts, names and lines, its page written the Chinese way, the
    reader addressing a character by a Chinese name, and the exports naming the reader in Chinese."""
    root = tmp_path / "zh"
    story = teller.photo_scene(photos / "group.jpg", out=root, lines=3, language="zh")
    assert story.language == "zh" and story.title == "照片里" and "照片里的" in story.premise
    cast_prompt = teller.toolbox.llm.calls[0]["messages"][1]["content"]
    assert "照片里有谁" in cast_prompt and "猫，" in cast_prompt  # the detector's finds in Chinese words
    names = [c.name for c in story.characters]
    assert names == ["小明", "小红", "小亮"]
    assert story.pages[0].text.splitlines()[0] == f"{names[0]}：“第1句是{story.characters[0].slug.replace('-', '_')}说的。”"
    story = teller.talk(root, "小红，你在看什么？")
    page = story.pages[-1]
    assert page.exchange.to == story.characters[1].slug and page.exchange.chosen == "named"
    assert page.text.splitlines()[0] == "你对小红说：“你在看什么？”"
    assert page.dialogue[0].text == "小红听见你说：你在看什么？"
    prompt = teller.toolbox.llm.calls[-1]["messages"][1]["content"]
    assert "读者对小红说：“你在看什么？”" in prompt and "小红：猫" in prompt
    story = teller.talk(root, "@小红你喜欢鱼吗？")
    assert story.pages[-1].exchange.said == "你喜欢鱼吗？"
    assert "小红和读者之前说过的话：\n你: 你在看什么？" in teller.toolbox.llm.calls[-1]["messages"][1]["content"]
    html = teller.export(root, "html", tmp_path / "zh.html").read_text()
    assert '"name": "你"' in html or "你对小红说" in html


def test_an_answer_in_another_language_than_the_scenes_is_asked_again():
    from storyteller.agent.scene import in_language
    from storyteller.agent.talk import checker, reply_model
    from storyteller.languages import get

    assert in_language(get("zh"), "你好！", "Hello there!") == ["Hello there!"]
    assert in_language(get("en"), "你好！") == []
    reply = reply_model([], [])(answer={"tone": "happy", "text": "I like fish."})
    assert checker(set(), get("zh"))(reply) == ["answer.text: write it in Chinese"]
    assert checker(set(), get("en"))(reply) == []


def test_a_conversation_exports_with_the_photo_and_lit_tags(teller, scene, tmp_path):
    from storyteller.export.source import StorySource
    from storyteller.export.video import plan_scenes

    root, story = scene
    person = story.characters[0]
    story = teller.talk(root, f"{person.name}, hello!")
    html = teller.export(root, "html", tmp_path / "talk.html").read_text()
    page2 = html.split('id="page-2"')[1]
    assert '<li data-speaker="" class="reader"><span class="who" dir="auto">You</span>' in page2
    assert f'<g class="tag" data-speaker="{person.slug}">' in page2  # everyone's tag on the photo
    timing = json.loads(page2.split('data-lines="')[1].split('"')[0].replace("&#34;", '"'))
    assert [t["speaker"] for t in timing[:2]] == ["", person.slug]
    assert page2.count('class="spoken"') == len(timing)
    scenes = plan_scenes(StorySource.open(root))
    assert scenes[1].chunks[0].text.startswith("You: hello!") and scenes[1].tags
    assert scenes[1].chunks[1].speaker == person.slug
    assert teller.export(root, "mp4", tmp_path / "talk.mp4").stat().st_size > 1000


def test_talk_needs_a_photo_scene_and_words(teller, make_teller, scene, tmp_path):
    root, story = scene
    with pytest.raises(InvalidInput, match="say something after the name"):
        teller.talk(root, f"@{story.characters[0].name}")
    with pytest.raises(InvalidInput, match="line is empty"):
        teller.talk(root, "   ")
    plain = make_teller(llm={"plans": [plan_json(1)]})
    plain.new_story("A fox", out=tmp_path / "fox", pages=1)
    with pytest.raises(InvalidInput, match="photo scenes"):
        plain.talk(tmp_path / "fox", "hello")
    assert len(load_story(root).history) == 2  # nothing was committed by the refusals


def test_play_talks_on_a_photo_scene(teller, scene):
    from rich.console import Console

    from storyteller.cli.play import Play

    root, story = scene
    play = Play(teller, Console(file=io.StringIO(), width=120), root)
    play.handle(f"/talk @{story.characters[1].name} hi")
    play.handle("and you?")  # plain text on a photo scene is said, not a direction
    assert [t.action for t in play.story.history][-2:] == ["talk", "talk"]
    assert play.story.pages[-1].exchange.to == story.characters[1].slug


# =============================================================================================
# emotion from the photo
# =============================================================================================
def test_how_they_look_is_read_from_the_photo_and_shapes_the_scene(teller, photos, tmp_path):
    story = teller.photo_scene(photos / "astronaut.jpg", out=tmp_path / "one", lines=2)
    reading = story.characters[0].expression
    # OpenCV's cascades find her face and her smile; it is labelled classical, and says what it can tell.
    assert reading.expression == "happy" and reading.smiling is True and "(classical)" in reading.method
    region, face = story.characters[0].photo_region, reading.face
    assert region.x <= face.x and face.x + face.w <= region.x + region.w + 1e-6 and face.w < region.w
    cast_prompt = next(c for c in teller.toolbox.llm.calls if c["json_schema"].get("title") == "Cast")
    assert "smiling" in cast_prompt["messages"][-1]["content"]
    teller.talk(tmp_path / "one", "hello")
    assert "is smiling in the photo" in teller.toolbox.llm.calls[-1]["messages"][-1]["content"]
    html = teller.export(tmp_path / "one", "html", tmp_path / "one.html").read_text()
    assert "<dt>In the photo</dt><dd>happy, smiling (classical vqa (classical): OpenCV face and smile cascades)</dd>" in html


# =============================================================================================
# a photo without people or animals
# =============================================================================================
def test_a_photo_of_things_only_gives_a_guided_scene(teller, photos, tmp_path):
    story = teller.photo_scene(photos / "coffee.jpg", out=tmp_path / "tour", lines=2)
    assert [c.slug for c in story.characters] == ["guide"] and story.characters[0].role == "guide"
    page = story.pages[0]
    assert "cup" in [o.name for o in page.objects] and all(o.region.detector.startswith("ssd-mobilenet") for o in page.objects)
    assert [d.about for d in page.dialogue] == [o.key for o in page.objects][:2]
    assert story.plan_provenance.parameters["guided"] is True
    html = teller.export(tmp_path / "tour", "html", tmp_path / "tour.html").read_text()
    assert '<g class="tag thing" data-about="cup">' in html and ">cup</text>" in html
    timing = json.loads(html.split('data-lines="')[1].split('"')[0].replace("&#34;", '"'))
    assert timing[0]["about"] == page.dialogue[0].about
    story = teller.talk(tmp_path / "tour", "What is in the cup?")
    assert story.pages[-1].exchange.to == "guide" and story.pages[-1].exchange.chosen == "alone"
    assert story.pages[-1].dialogue[0].about in {o.key for o in page.objects}


# =============================================================================================
# privacy
# =============================================================================================
def _exif(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        return {**dict(exif), **{f"gps{k}": v for k, v in exif.get_ifd(0x8825).items()}}


def test_exif_and_gps_are_gone_from_the_folder_and_every_export(teller, photos, tmp_path):
    source = (photos / "group.jpg").read_bytes()
    assert _exif(source)["gps2"] == (52.0, 31.0, 12.0)
    story = teller.photo_scene(photos / "group.jpg", out=tmp_path / "s", lines=2)
    root = tmp_path / "s"
    teller.talk(root, "hello")
    photo = story.pages[0].illustration
    stored = (root / photo.path).read_bytes()
    assert _exif(stored) == {} and b"at home" not in stored and b"Canon" not in stored
    with Image.open(photos / "group.jpg") as a, Image.open(root / photo.path) as b:
        assert np.array_equal(np.asarray(a), np.asarray(b))  # the pixels are kept exactly
    assert photo.provenance.parameters["metadata"].startswith("removed: ") and "EXIF" in photo.provenance.parameters["metadata"]
    for path in (root / "images").iterdir():
        assert _exif(path.read_bytes()) == {}, path

    html = teller.export(root, "html", tmp_path / "x.html").read_text()
    uris = re.findall(r"data:image/(?:jpeg|png);base64,([A-Za-z0-9+/=]+)", html)
    assert len(uris) >= 4 and all(_exif(base64.b64decode(u)) == {} for u in uris)
    folder_export = teller.export(root, "html", tmp_path / "x-folder", self_contained=False).parent
    assert all(_exif(p.read_bytes()) == {} for p in folder_export.rglob("*") if p.suffix in (".jpg", ".png"))
    import zipfile

    with zipfile.ZipFile(teller.export(root, "epub", tmp_path / "x.epub")) as book:
        pictures = [n for n in book.namelist() if n.endswith((".jpg", ".jpeg", ".png"))]
        assert pictures and all(_exif(book.read(n)) == {} for n in pictures)
    as_json = teller.export(root, "json", tmp_path / "x.json").read_text()
    assert "Canon" not in as_json and "2024:05:01" not in as_json and "at home" not in as_json
    # The video is frames drawn afresh, and its container's metadata is the story's title and premise.
    video = teller.export(root, "mp4", tmp_path / "x.mp4").read_bytes()
    assert b"Canon" not in video and b"at home" not in video


def test_keep_metadata_keeps_the_photo_as_it_was_and_says_so(teller, photos, tmp_path):
    story = teller.photo_scene(photos / "astronaut.jpg", out=tmp_path / "k", lines=1, keep_metadata=True)
    photo = story.pages[0].illustration
    assert (tmp_path / "k" / photo.path).read_bytes() == (photos / "astronaut.jpg").read_bytes()
    assert "--keep-metadata" in photo.provenance.parameters["metadata"]


def test_blur_faces_blurs_them_in_exports_only(teller, photos, tmp_path):
    from storyteller.export.source import StorySource

    story = teller.photo_scene(photos / "astronaut.jpg", out=tmp_path / "b", lines=1)
    root, photo = tmp_path / "b", story.pages[0].illustration
    face = story.characters[0].expression.face
    plain, blurred = StorySource.open(root), StorySource.open(root, blur_faces=True)
    before = np.asarray(Image.open(io.BytesIO(plain.data(photo))).convert("L"), dtype=np.float32)
    after = np.asarray(Image.open(io.BytesIO(blurred.data(photo))).convert("L"), dtype=np.float32)
    h, w = before.shape
    box = (slice(int(face.y * h), int((face.y + face.h) * h)), slice(int(face.x * w), int((face.x + face.w) * w)))
    detail = lambda a: np.abs(np.diff(a, axis=1)).mean()  # noqa: E731 - edges left in the face
    assert detail(after[box]) < 0.3 * detail(before[box])
    assert np.abs(after[-40:, :40] - before[-40:, :40]).mean() < 3  # far from the face, the photo as it was
    reference = story.characters[0].reference_assets[0]
    assert blurred.data(reference) != plain.data(reference)  # the sheet's crop of her too
    assert (root / photo.path).read_bytes() == plain.data(photo)  # the story keeps the photo
    html = teller.export(root, "html", tmp_path / "b.html", blur_faces=True).read_text()
    assert base64.b64encode(plain.data(photo)).decode() not in html
    assert base64.b64encode(blurred.data(photo)).decode() in html


# =============================================================================================
# voices that differ in timbre, not only pitch
# =============================================================================================
def test_characters_on_a_page_get_different_speakers_not_one_voice_at_another_pitch():
    offered = [VoiceSpec("joe", speaker="piper:joe"), VoiceSpec("joe-high", 0.92, 3, speaker="piper:joe"),
               VoiceSpec("joe-low", 1.08, -3, speaker="piper:joe"), VoiceSpec("heart", speaker="hibari:heart", register=1),
               VoiceSpec("flite-awb", speaker="flite:awb", register=0), VoiceSpec("flite-rms", speaker="flite:rms", register=-1)]
    characters = [Character(name=n, slug=n.lower()) for n in ("Ann", "Bo", "Cy")]
    story = Story(title="t", premise="p", style=StyleGuide(name="s"), characters=characters,
                  outline=[PageBeat(beat="b", scene="s", characters=["ann", "bo", "cy"])])
    assign_voices(story, offered)
    speakers = {v.voice_id: v.who for v in offered}
    heard = [speakers[c.voice.voice_id] for c in story.characters]
    assert len(set(heard)) == 3 and "piper:joe" not in heard  # three people, none of them the narrator


def test_the_embedded_narrator_offers_different_people():
    from storyteller.backends.speakers import EnsembleNarrator

    narrator = EnsembleNarrator()
    voices = narrator.voices()
    engines = {v.who.split(":")[0] for v in voices}
    assert voices[0].voice_id == "joe" and {"piper", "hibari"} <= engines
    assert len({v.who for v in voices}) >= 2 + 5 * ("kokoro" in engines) + 4 * ("flite" in engines) - (0 if engines else 1)
    characters = [Character(name=n, slug=n.lower(), appearance={"species": s})
                  for n, s in (("Ann", "person"), ("Tom", "cat"), ("Bo", "person"))]
    story = Story(title="t", premise="p", style=StyleGuide(name="s"), characters=characters,
                  outline=[PageBeat(beat="b", scene="s", characters=["ann", "tom", "bo"])])
    assign_voices(story, voices)
    by_id = {v.voice_id: v.who for v in voices}
    assert len({by_id[c.voice.voice_id] for c in story.characters} | {by_id[story.narrator_voice.voice_id]}) == 4


# =============================================================================================
# voice input
# =============================================================================================
def test_no_microphone_is_said_plainly(monkeypatch, tmp_path):
    from storyteller import microphone

    pcm = tmp_path / "pcm"
    pcm.write_text("00-00: HDMI 0 : HDMI 0 : playback 1\n")
    monkeypatch.setattr(microphone, "ALSA_PCM", pcm)
    assert "no audio input device" in microphone.why_no_microphone()
    with pytest.raises(InvalidInput, match="no audio input device") as caught:
        microphone.Recording()
    assert "--say FILE" in caught.value.fix
    monkeypatch.setattr(microphone, "ALSA_PCM", tmp_path / "missing")
    assert microphone.capture_devices() == []


def _wav(path: Path, samples, rate: int) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.mark.slow
def test_voice_input_from_a_narrated_wav_is_heard_shown_and_can_be_corrected(teller, scene, tmp_path):
    from speech import word_error_rate

    from storyteller.backends.speakers import EnsembleNarrator

    root, story = scene
    said = "What are you looking at, little cat?"
    spoken = EnsembleNarrator().synthesize(said, VoiceSpec("heart"))
    recording = _wav(tmp_path / "said.wav", spoken.samples, spoken.sample_rate)
    heard = teller.listen(recording)
    assert word_error_rate(said, heard.text) < 0.3, heard.text
    assert heard.provenance.backend == "faster-whisper" and heard.provenance.parameters["language"] == "en"
    assert heard.provenance.parameters["recording"] == "said.wav"
    story = teller.talk(root, heard.text, heard=heard)  # accepted as heard
    record = story.pages[-1].exchange.heard
    assert record.parameters["corrected"] is False and record.parameters["transcript"] == heard.text
    story = teller.talk(root, "What are you looking at, little Tom?", heard=heard)  # corrected
    assert story.pages[-1].exchange.heard.parameters["corrected"] is True
    html = teller.export(root, "html", tmp_path / "heard.html").read_text()
    assert "the reader corrected it from" in html
    with pytest.raises(InvalidInput, match="does not tell stories in 'fr'"):
        teller.listen(recording, language="fr")


@pytest.mark.slow
def test_voice_input_in_chinese_is_heard_in_simplified_characters(teller, photos, tmp_path):
    """A Mandarin recording (the embedded Mandarin voice) heard back by Whisper in a Chinese scene's
    language, and talked with."""
    from speech import hanzi, syllable_error_rate

    from storyteller.backends.speakers import EnsembleNarrator

    root = tmp_path / "zh"
    story = teller.photo_scene(photos / "group.jpg", out=root, lines=2, language="zh")
    said = "小猫，你在看什么呢？"
    spoken = EnsembleNarrator().synthesize(said, VoiceSpec("espeak-cmn"))
    heard = teller.listen(_wav(tmp_path / "zh.wav", spoken.samples, spoken.sample_rate), language=story.language)
    assert heard.provenance.parameters["language"] == "zh" and heard.language == "zh"
    assert syllable_error_rate(said, heard.text) <= 0.5, heard.text
    assert not set(hanzi(heard.text)) & set("們這說貓麼見門"), heard.text  # simplified, not traditional
    story = teller.talk(root, heard.text, to=story.characters[1].name, heard=heard)
    assert story.pages[-1].exchange.heard.parameters["transcript"] == heard.text


@pytest.mark.slow
def test_talk_from_the_command_line_with_a_recording(photos, tmp_path):
    from storyteller.backends.speakers import EnsembleNarrator

    site = tmp_path / "site"
    site.mkdir()
    env = fake_plugin_env(site, """
[llm]
backend = "scene"
[narrator]
backend = "tone"
[illustrator]
backend = "solid"
[text_embedder]
backend = "hash"
""")
    cli = [sys.executable, "-c", "from storyteller.cli import main; main()"]
    made = subprocess.run([*cli, "photo", str(photos / "astronaut.jpg"), "--out", str(tmp_path / "s"), "--lines", "1"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert made.returncode == 0, made.stderr[-2000:]
    assert "metadata removed: " in made.stdout and "smiling" in made.stdout
    spoken = EnsembleNarrator().synthesize("Hello, how are you today?", VoiceSpec("joe"))
    recording = _wav(tmp_path / "hi.wav", spoken.samples, spoken.sample_rate)
    refused = subprocess.run([*cli, "talk", str(tmp_path / "s"), "--say", str(recording)], capture_output=True,
                             text=True, env=env, timeout=300, stdin=subprocess.DEVNULL)
    assert refused.returncode != 0 and "--yes" in refused.stdout + refused.stderr
    assert "heard: Hello, how are you today?" in refused.stdout
    said = subprocess.run([*cli, "talk", str(tmp_path / "s"), "--say", str(recording), "--yes"], capture_output=True,
                          text=True, env=env, timeout=300)
    assert said.returncode == 0, said.stderr[-2000:]
    assert "You: Hello, how are you today?" in said.stdout
    assert load_story(tmp_path / "s").pages[-1].exchange.heard.backend == "faster-whisper"
    no_mic = subprocess.run([*cli, "talk", str(tmp_path / "s"), "--mic"], capture_output=True, text=True, env=env,
                            timeout=120, stdin=subprocess.DEVNULL)
    if not Path("/proc/asound/pcm").is_file() or "capture" not in Path("/proc/asound/pcm").read_text():
        assert no_mic.returncode == 1 and "no audio input device" in no_mic.stderr


@pytest.mark.slow
def test_each_embedded_voice_is_intelligible(tmp_path):
    """Every speaker the embedded narrator offers, heard back by Whisper (benchmarks/voices.py prints the figures)."""
    from speech import transcribe, word_error_rate

    from storyteller.backends.speakers import EnsembleNarrator

    narrator = EnsembleNarrator()
    text = "The little boat sailed across the lake before the storm."
    results = {}
    for voice in [v for v in narrator.voices() if "en" in v.languages]:  # Mandarin: test_voices
        if voice.voice_id.startswith("joe-"):
            continue  # Piper's pitch variants of joe, heard in test_embedded
        spoken = narrator.synthesize(text, voice)
        results[voice.voice_id] = word_error_rate(text, transcribe(_wav(tmp_path / f"{voice.voice_id}.wav", spoken.samples,
                                                                       spoken.sample_rate)))
    print(results)
    assert {"joe", "heart"} <= set(results)
    assert all(wer <= 0.4 for wer in results.values()), results


def test_a_tone_changes_pace_pitch_energy_and_pauses(teller, scene):
    root, story = scene
    from storyteller.agent.voices import LINE_GAP_S, TONES, narrate_page
    from storyteller.story import DialogueLine, Page

    speaker = story.characters[0]
    page = Page(number=9, text="x", scene="s", characters=[speaker.slug], dialogue=[
        DialogueLine(speaker=speaker.slug, tone="excited", text="We won!"),
        DialogueLine(speaker=speaker.slug, tone="sad", text="It is over."),
        DialogueLine(speaker=speaker.slug, tone="whispering", text="Shh.")])
    samples, rate, lines, provenance = narrate_page(teller.toolbox.narrate, story, page)
    loud = lambda line: float(np.abs(samples[int(line.start_s * rate):int(line.end_s * rate)]).max())  # noqa: E731
    assert loud(lines[0]) > loud(lines[1]) > loud(lines[2])  # excited, sad, whispering: energy
    gaps = [b.start_s - a.end_s for a, b in zip(lines, lines[1:])]
    assert gaps == pytest.approx([LINE_GAP_S + TONES["sad"].pause_s, LINE_GAP_S + TONES["whispering"].pause_s], abs=0.01)
    assert lines[0].voice.length_scale < lines[1].voice.length_scale  # quicker, then slower
    assert lines[0].voice.pitch_shift > lines[1].voice.pitch_shift  # higher, then lower
    calls = provenance.parameters["calls"]
    assert [c["energy"] for c in calls] == [TONES[t].energy for t in ("excited", "sad", "whispering")]


class EchoingLLM:
    """The scene fake, except that its first answer to the reader only repeats the reader's words
    (as the 1.5B model did), and its reactions repeat a line of the scene."""

    def __new__(cls, *args, **kwargs):
        from fakes import SceneLLM

        class Echoing(SceneLLM):
            name = "echoing"

            def complete(self, messages, *, json_schema=None, **kw):
                done = super().complete(messages, json_schema=json_schema, **kw)
                if json_schema.get("title") == "Reply":
                    answer = json.loads(done.text)
                    said = re.search(r'The reader says to .+?: "(.*)"', messages[1]["content"]).group(1)
                    if not any(m["role"] == "assistant" for m in messages):  # the first try echoes
                        answer["answer"]["text"] = said
                    if "reaction" in answer:
                        answer["reaction"]["text"] = re.search(r"said in the photo:\n.+?: (.+)", messages[1]["content"]).group(1)
                    done.text = json.dumps(answer)
                return done

        return Echoing(*args, **kwargs)


def test_an_echo_is_asked_again_and_a_repeated_reaction_left_out(registry, photos, tmp_path):
    from storyteller import Storyteller
    from storyteller.config import RoleConfig, Settings

    registry.add_backend("llm", "echoing", "test_talk:EchoingLLM")
    teller = Storyteller(Settings(llm=RoleConfig(backend="echoing"), narrator=RoleConfig(backend="tone"),
                                  text_embedder=RoleConfig(backend="hash"), illustrator=RoleConfig(backend="solid")),
                         registry=registry)
    teller.photo_scene(photos / "group.jpg", out=tmp_path / "s", lines=2)
    story = teller.talk(tmp_path / "s", "Is it sunny where you are?")
    page = story.pages[-1]
    assert page.dialogue[0].text != "Is it sunny where you are?" and len(page.dialogue) == 1
    notes = page.text_provenance.parameters
    assert "repeats what was already said" in notes["failed_attempts"][0]["error"]
    assert "repeated a line said before" in notes["reaction_dropped"]


class AskedVQA:
    """A neural VQA backend, scripted: boxes when asked for subjects, a sad face when asked how they look."""

    def __new__(cls, *args, **kwargs):
        from storyteller.backends.base import TextResult, VQABackend

        class Asked(VQABackend):
            name = "asked-vqa"
            kind = "neural"
            model_id = "scripted-vlm"

            def answer(self, image, question):
                def run():
                    if "List every person and animal" in question:
                        return '{"subjects": [{"label": "person", "box": [300, 100, 700, 1000]}]}'
                    return "The person looks sad. Not smiling."
                text, provenance = self.timed("answer", run, prompt=question)
                return TextResult(text=text, provenance=provenance)

        return Asked(*args, **kwargs)


def test_a_neural_vqa_backend_is_asked_how_they_look(registry, photos, tmp_path):
    from storyteller import Storyteller
    from storyteller.config import RoleConfig, Settings

    registry.add_backend("vqa", "asked", "test_talk:AskedVQA")
    teller = Storyteller(Settings(llm=RoleConfig(backend="scene"), narrator=RoleConfig(backend="tone"), vqa=RoleConfig(backend="asked"),
                                  text_embedder=RoleConfig(backend="hash"), illustrator=RoleConfig(backend="solid")),
                         registry=registry)
    story = teller.photo_scene(photos / "astronaut.jpg", out=tmp_path / "v", lines=1)
    reading = story.characters[0].expression
    assert (reading.expression, reading.smiling) == ("sad", False)
    assert reading.method == "asked-vqa vqa (neural), asked" and "looks sad" in reading.detail
    assert story.characters[0].photo_region.detector == "asked-vqa (neural)"
    assert reading.face is not None  # where the face is, for --blur-faces, from the classical face cascades
    cast_prompt = next(c for c in teller.toolbox.llm.calls if c["json_schema"].get("title") == "Cast")
    assert "looking sad" in cast_prompt["messages"][-1]["content"]


def test_in_a_browser_the_tag_of_who_speaks_and_of_what_is_talked_about_lights_up(teller, photos, tmp_path):
    from test_export import CHROMIUM, CHROMIUM_ARGS

    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent (apt-get install -y chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is absent (pip install playwright)")
    story = teller.photo_scene(photos / "coffee.jpg", out=tmp_path / "tour", lines=2)
    html = teller.export(tmp_path / "tour", "html", tmp_path / "tour.html")
    lines = story.pages[0].narration.lines
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(html.as_uri() + "#page-1")
        lit = []
        for line in lines:  # seek into each line: its text and the tag of the thing it is about light up
            lit.append(page.evaluate("""async (t) => {
              const audio = document.querySelector('#page-1 audio');
              if (audio.readyState < 1) { await new Promise(done => audio.addEventListener('loadedmetadata', done, {once: true})); }
              await new Promise(done => { audio.addEventListener('seeked', () => setTimeout(done, 50), {once: true}); audio.currentTime = t; });
              return [...document.querySelectorAll('#page-1 .speaking')].map(e => e.getAttribute('data-about') || e.getAttribute('data-line'));
            }""", line.start_s + 0.05))
        browser.close()
    assert [set(x) for x in lit] == [{str(i), d.about} for i, d in enumerate(story.pages[0].dialogue)]

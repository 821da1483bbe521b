"""The embedded default for real: packaged models, loaded offline, and one story end to end."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest
from PIL import Image
from pydantic import BaseModel

from storyteller.backends import get_registry
from storyteller.backends.base import VoiceSpec
from storyteller.errors import BackendUnavailable, InvalidInput
from storyteller.memory.eval import evaluate_text
from storyteller.session import load_story
from storyteller.story import SCHEMA_VERSION

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def llm():
    return get_registry().backend("llm", "llamacpp")


@pytest.fixture(scope="module")
def narrator():
    return get_registry().backend("narrator", "piper")


def test_embedded_llm_streams_and_obeys_a_json_schema(llm):
    class Pet(BaseModel):
        name: str
        legs: int

    deltas = []
    completion = llm.complete([{"role": "user", "content": "Invent a pet. Answer in JSON."}], max_tokens=40,
                              seed=3, json_schema=Pet.model_json_schema(), on_text=deltas.append)
    pet = Pet.model_validate_json(completion.text)
    assert pet.name and isinstance(pet.legs, int)
    assert "".join(deltas) == completion.text
    assert completion.provenance.backend == "llamacpp" and completion.provenance.kind == "neural"
    assert completion.provenance.model.startswith("embedded:")


def test_embedded_llm_calls_tools_under_a_grammar(llm):
    """The embedded model, offered tools, names one of them with arguments of its schema's shape
    (the grammar allows nothing else), and a named tool_choice is that tool."""
    tools = [{"type": "function", "function": {
        "name": "ask_picture", "description": "Answer a question about what a page's picture shows.",
        "parameters": {"type": "object", "required": ["page", "question"],
                       "properties": {"page": {"type": "integer", "enum": [1, 2, 3]},
                                      "question": {"type": "string", "maxLength": 2000}}}}},
        {"type": "function", "function": {"name": "undo", "description": "Take back the last change.",
                                          "parameters": {"type": "object", "properties": {}}}}]
    out = llm.complete([{"role": "user", "content": "What colour is the fox's scarf on page 3?"}], tools=tools,
                       max_tokens=80, temperature=0, seed=1)
    assert [c.name for c in out.tool_calls] == ["ask_picture"]
    assert out.tool_calls[0].arguments["page"] == 3 and out.tool_calls[0].arguments["question"]
    forced = llm.complete([{"role": "user", "content": "hello"}], tools=tools, tool_choice="undo", max_tokens=20,
                          temperature=0)
    assert [c.name for c in forced.tool_calls] == ["undo"] and forced.tool_calls[0].arguments == {}


def test_embedded_llm_is_seed_reproducible():
    # Two fresh models: what a story run twice from the same seed does. (Within one process a
    # prompt that reuses a cached start of an earlier one is computed in other batches, and its
    # floating-point sums may tip a sampled token: same seed, same process history, same text.)
    from storyteller.backends.llamacpp import LlamaCppLLM

    messages = [{"role": "user", "content": "Say a sentence about snow."}]
    first, second = (LlamaCppLLM(n_ctx=512).complete(messages, max_tokens=16, seed=11, temperature=0.8).text
                     for _ in range(2))
    assert first == second


def test_a_system_prompts_state_is_kept_for_the_next_run(tmp_path, monkeypatch):
    """A new process does not compute a system prompt an earlier run computed: its state is read
    back from the store, with the same text as when it was computed. A damaged state is computed
    again and replaced; past the capacity the least recently used state goes."""
    from storyteller.backends import llamacpp

    folder = tmp_path / "states"
    monkeypatch.setattr(llamacpp, "_prompt_store_dir", lambda: folder)

    def run(system: str, **options):
        messages = [{"role": "system", "content": system}, {"role": "user", "content": "Say a sentence about snow."}]
        out = llamacpp.LlamaCppLLM(n_ctx=1024, **options).complete(messages, max_tokens=12, temperature=0, seed=1)
        return out.text, out.usage

    system = "You write short, warm sentences for a picture book about animals in winter. " * 12
    text, first = run(system)
    (state,) = folder.glob("*.state")
    assert first.prompt_evaluated == first.prompt_tokens
    again, second = run(system)
    assert again == text and second.prompt_tokens == first.prompt_tokens
    assert second.prompt_evaluated < 30  # the user's message and the turn markers only

    state.write_bytes(state.read_bytes()[:1000])
    mended, third = run(system)
    assert mended == text and third.prompt_evaluated == third.prompt_tokens
    assert state.stat().st_size > 1000

    size_mb = state.stat().st_size / (1 << 20)
    run("You answer questions about snow in one sentence. " * 20, prompt_store_mb=int(size_mb * 1.5) + 1)
    (kept,) = folder.glob("*.state")
    assert kept != state  # the newer one
    run(system + " Again.", prompt_store_mb=0)
    assert list(folder.glob("*.state")) == [kept]


def test_stories_sharing_the_model_each_get_what_they_get_alone(tmp_path, monkeypatch):
    """Two stories' calls interleaved on one model (batch --workers, a Ray actor) give each story
    the words, and the reuse of its own earlier prompts, that it gets alone: each caller keeps its
    own KV state and prompt cache."""
    import contextvars

    from storyteller.backends import llamacpp
    from storyteller.backends.base import caller

    monkeypatch.setattr(llamacpp, "_prompt_store_dir", lambda: tmp_path / "states")
    model = llamacpp.LlamaCppLLM(n_ctx=1024)
    system = "You write one short sentence for a picture book."

    def call(who: str, user: str):
        def run():
            caller.set(who)
            out = model.complete([{"role": "system", "content": system}, {"role": "user", "content": user}],
                                 max_tokens=16, temperature=0.8, seed=5)
            return out.text, out.usage.prompt_evaluated
        return contextvars.copy_context().run(run)

    fox = ["A fox in the snow.", "A fox in the snow finds a lantern."]
    owl = ["An owl in a tall tree.", "An owl in a tall tree hoots at the moon."]
    alone = {"fox": [call("fox alone", u) for u in fox], "owl": [call("owl alone", u) for u in owl]}
    together = {"fox": [], "owl": []}
    for fox_line, owl_line in zip(fox, owl):
        together["fox"].append(call("fox", fox_line))
        together["owl"].append(call("owl", owl_line))
    assert together == alone
    first, second = alone["fox"]
    assert second[1] < first[1]  # the second call reused its story's first prompt


def test_a_piper_line_sounds_the_same_whatever_was_said_before(narrator):
    """Piper's noise is seeded from the line: the same line in the same voice gives the same audio
    first, after other lines, and in another narrator (another process, another story's turn)."""
    import numpy as np

    from storyteller.backends.piper import PiperNarrator

    line = "The fox held the lantern high."
    first = narrator.synthesize(line).samples
    narrator.synthesize("Snow fell on the quiet wood.")
    assert np.array_equal(narrator.synthesize(line).samples, first)
    assert np.array_equal(PiperNarrator().synthesize(line).samples, first)
    voices = narrator.voices()
    assert not np.array_equal(narrator.synthesize(line, voices[0]).samples,
                              narrator.synthesize("The fox held the lantern high!", voices[0]).samples)


def test_missing_gguf_file_is_a_clear_error(tmp_path):
    from storyteller.backends.llamacpp import LlamaCppLLM

    with pytest.raises(BackendUnavailable, match="GGUF file not found") as info:
        LlamaCppLLM(model_path=str(tmp_path / "nope.gguf")).ensure_setup()
    assert "model_path" in info.value.fix
    corrupt = tmp_path / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + os.urandom(64))
    with pytest.raises(BackendUnavailable, match="could not load"):
        LlamaCppLLM(model_path=str(corrupt)).ensure_setup()


def test_piper_narration_is_intelligible(narrator, tmp_path):
    from speech import transcribe, word_error_rate

    from storyteller.agent.graph import wav_bytes

    text = "The little fox found a glowing lantern in the snow. She carried it home through the dark forest."
    result = narrator.synthesize(text)
    assert result.sample_rate == 22050 and 4 < result.seconds < 15
    wav = tmp_path / "n.wav"
    wav.write_bytes(wav_bytes(result.samples, result.sample_rate))
    heard = transcribe(wav)
    assert word_error_rate(text, heard) < 0.2, heard


def test_piper_offers_distinct_voices(narrator):
    import numpy as np

    voices = narrator.voices()
    assert len({(v.length_scale, v.pitch_shift) for v in voices}) == len(voices) >= 4

    def centroid(result):  # resampling shifts every frequency, so the spectral centroid moves with the pitch
        spectrum = np.abs(np.fft.rfft(result.samples))
        freqs = np.fft.rfftfreq(len(result.samples), 1 / result.sample_rate)
        return float((spectrum * freqs).sum() / spectrum.sum())

    low = narrator.synthesize("Hello there, my friend.", VoiceSpec(voices[0].voice_id, pitch_shift=-5, length_scale=1.1))
    high = narrator.synthesize("Hello there, my friend.", VoiceSpec(voices[0].voice_id, pitch_shift=5, length_scale=0.95))
    assert centroid(high) > 1.4 * centroid(low)
    with pytest.raises(InvalidInput, match="not offered"):
        narrator.synthesize("Hi.", VoiceSpec("nobody"))
    with pytest.raises(InvalidInput, match="empty"):
        narrator.synthesize("  ")


def _offline(command: list[str]) -> list[str]:
    """Run with the network cut off, where this machine allows a network namespace."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-rn", *command]
    pytest.skip("cannot create a network namespace here (unshare -rn)")


def test_cli_new_story_end_to_end_offline(tmp_path):
    out = tmp_path / "fox"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "120"}
    cli = [str(Path(sys.executable).with_name("storyteller"))]
    run = subprocess.run(
        _offline([*cli, "new", "A fox who finds a lantern in the snow", "--pages", "3", "--style", "watercolor",
                  "--out", str(out)]),
        capture_output=True, text=True, env=env, timeout=900,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    story = load_story(out)
    assert len(story.pages) == 3 and story.is_complete
    assert story.plan_provenance.backend == "llamacpp"
    # The story's structure, not its words: one fox (the premise's kind) leads a cast of other
    # kinds, the beats are no copies of each other, no page repeats another or talks about itself.
    text = evaluate_text(story)
    assert text.protagonist_matches_premise and story.characters[0].appearance.species == "fox"
    assert all(c.appearance.species != "fox" for c in story.characters[1:])
    assert [b.stage for b in story.outline] == ["opening", "trouble", "resolution"]
    assert text.copied_beats == [] and text.repeated_sentences == [] and text.meta_text == []
    # Every LLM call's tokens and time to first token are in its provenance.
    usage = story.pages[0].text_provenance.parameters["usage"]
    assert usage["completion_tokens"] > 5 and usage["prompt_tokens"] >= usage["prompt_evaluated"] > 0
    assert 0 < usage["first_token_s"] < story.pages[0].text_provenance.duration_s
    for page in story.pages:
        assert len(page.text.split()) >= 5 and page.text != story.outline[page.number - 1].beat
        image = Image.open(out / page.illustration.path)
        assert image.size == (768, 512)
        assert page.illustration.provenance.kind == "procedural"
        with wave.open(str(out / page.narration.path)) as wav:
            assert wav.getnframes() / wav.getframerate() > 1.0
        assert page.narration.provenance.backend == "ensemble"  # Piper, hibari, Kokoro and flite voices
    # Everything stays inside the story folder.
    assert {p.name for p in out.iterdir()} <= {"story.json", "images", "audio", "memory", ".storyteller.lock"}
    assert json.loads((out / "story.json").read_text())["schema_version"] == SCHEMA_VERSION
    assert story.title in run.stdout

    again = subprocess.run([*cli, "new", "Another", "--out", str(out)], capture_output=True, text=True, env=env)
    assert again.returncode == 1
    assert "already holds a story" in again.stderr and "Traceback" not in again.stderr


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="no Mandarin voice: espeak-ng is not installed")
def test_cli_tells_a_story_in_chinese_offline(tmp_path):
    """A Chinese premise: planned and written in Chinese, pinyin file names, the fox drawn as a
    four-legged animal, narrated by Mandarin voices only (Kokoro's, then espeak's)."""
    from storyteller.memory import prose

    out = tmp_path / "fox-zh"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "NO_COLOR": "1", "COLUMNS": "120"}
    cli = [str(Path(sys.executable).with_name("storyteller"))]
    run = subprocess.run(_offline([*cli, "new", "小狐狸在雪地里找到一盏灯笼", "--pages", "2", "--out", str(out)]),
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    story = load_story(out)
    assert story.language == "zh" and story.is_complete and len(story.pages) == 2
    assert prose.is_cjk(story.title) and all(prose.is_cjk(p.text) for p in story.pages)
    assert all(prose.is_cjk(b.beat) and " " not in b.beat for b in story.outline)
    hero = story.characters[0]
    assert "狐狸" in hero.appearance.species and all(c.slug.isascii() for c in story.characters)
    from storyteller.backends.speakers import KokoroNarrator

    voices = [story.narrator_voice] + [c.voice for c in story.characters if c.voice]
    assert all(v.voice_id.startswith(("kokoro-", "espeak-cmn")) for v in voices)  # Mandarin ones only
    if KokoroNarrator.available() is None and KokoroNarrator.speaks_mandarin():
        assert story.narrator_voice.voice_id == "kokoro-kumo"  # the neural voice narrates
    for page in story.pages:
        assert page.text != story.outline[page.number - 1].beat
        assert all(call["model"].startswith(("kokoro:", "espeak:")) for call in page.narration.provenance.parameters["calls"])
        drawn = {f["key"]: f["kind"] for f in page.illustration.provenance.parameters["figures"]}
        assert drawn.get(hero.slug, "quadruped") == "quadruped"  # a fox, not a person
    # The narration is Mandarin a listener understands: Whisper hears most of page 1's characters
    # (measured on five premises: CER 0.05-0.14 per story, benchmarks/story_quality.py --narration).
    from speech import character_error_rate, transcribe

    from storyteller.backends.whisper import to_simplified

    heard = to_simplified(transcribe(out / story.pages[0].narration.path, language="zh"))
    assert character_error_rate(story.pages[0].text, heard) <= 0.4, (story.pages[0].text, heard)

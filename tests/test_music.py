"""Background music: the embedded composer (rules + FluidSynth), a story's cues (`score`), undo,
and the MP4/HTML exports with the music ducked under the narration."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import wave
from pathlib import Path

import mido
import numpy as np
import pytest
from story_fixtures import build_story_folder
from tiny_models import one_thread  # noqa: F401 (autouse: the tiny MusicGen runs on one thread)

from storyteller.agent.score import page_moods, runs
from storyteller.backends.base import MusicRequest
from storyteller.backends.music import MOODS, ProceduralComposer
from storyteller.errors import InvalidInput
from storyteller.export import export_story
from storyteller.backends.speakers import read_wav
from storyteller.export.soundtrack import DUCKED_DB, envelope, soundtrack
from storyteller.session import StoryFolder, load_story
from storyteller.story import Page, Story, StyleGuide


@pytest.fixture(scope="module")
def composer():
    return ProceduralComposer()


def _meta(midi: bytes) -> dict:
    file = mido.MidiFile(file=io.BytesIO(midi))
    found = {m.type: m for track in file.tracks for m in track if m.is_meta}
    notes = [m for track in file.tracks for m in track if m.type == "note_on" and m.velocity]
    return {"key": found["key_signature"].key, "bpm": round(mido.tempo2bpm(found["set_tempo"].tempo)),
            "notes": notes, "programs": [m.program for t in file.tracks for m in t if m.type == "program_change"]}


@pytest.mark.parametrize("mood", ["warm", "tense", "playful", "sad"])
def test_a_piece_has_its_moods_key_and_tempo_and_the_asked_length(composer, mood):
    tonic, mode, tempo, programs, _ = MOODS[mood]
    result = composer.compose(MusicRequest(mood=mood, seconds=12, seed=4))
    assert result.seconds == pytest.approx(12, abs=0.01) and result.sample_rate == 22050
    rms = float(np.sqrt((result.samples ** 2).mean()))
    assert rms > 0.003 and np.abs(result.samples).max() < 1  # played, not clipped
    meta = _meta(result.midi)
    assert meta["key"] == tonic + ("m" if mode == "minor" else "") and meta["bpm"] == tempo
    assert meta["programs"] == list(programs) and len(meta["notes"]) > 20
    assert result.key == f"{tonic} {mode}" and result.tempo == tempo
    assert result.provenance.kind == "procedural" and result.provenance.seed == 4
    assert result.provenance.parameters["mood"] == mood and result.provenance.parameters["key"] == result.key


def test_the_same_seed_gives_the_same_piece_and_another_another(composer):
    first, again = (composer.compose(MusicRequest(mood="calm", seconds=6, seed=1)) for _ in range(2))
    assert first.midi == again.midi and np.array_equal(first.samples, again.samples)
    assert composer.compose(MusicRequest(mood="calm", seconds=6, seed=2)).midi != first.midi


def test_a_key_and_tempo_asked_for_win_and_bad_ones_are_refused(composer):
    result = composer.compose(MusicRequest(mood="warm", seconds=5, key="Eb minor", tempo=90))
    assert _meta(result.midi)["key"] == "Ebm" and result.tempo == 90
    for bad in (MusicRequest(mood="gloomy", seconds=5), MusicRequest(mood="warm", seconds=5, key="H major"),
                MusicRequest(mood="warm", seconds=0.2)):
        with pytest.raises(InvalidInput):
            composer.compose(bad)


def test_moods_are_read_off_the_pages_and_a_lone_page_joins_its_neighbours():
    texts = ["Pip set off on a long journey to explore the hills.", "She climbed and climbed.",
             "A storm came and Pip was scared.", "The thunder growled; Pip hurried on, afraid.",
             "Everyone cheered: Pip finally won the race!", "Then they all went home."]
    story = Story(title="t", premise="p", style=StyleGuide(name="w", description="d"),
                  pages=[Page(number=i, text=t, scene="s") for i, t in enumerate(texts, 1)])
    assert page_moods(story) == ["adventurous", "adventurous", "tense", "tense", "triumphant", "warm"]
    assert runs(["warm", "sad", "warm", "warm", "tense"]) == [("warm", [1, 2, 3, 4]), ("tense", [5])]
    story.pages[0].text = "The wind at the window; she won't touch the crystal."  # no whole word of a mood
    assert page_moods(story)[0] == "warm"


def _with_a_pause(folder: Path) -> None:
    """Page 2's narration: speech, 1.5 s of silence, speech (where music must be heard)."""
    from story_fixtures import wav_bytes

    with StoryFolder.open(folder) as opened:
        tone = read_wav(wav_bytes(1.0, 22050, 440.0))[0]
        samples = np.concatenate([tone, np.zeros(int(1.5 * 22050), np.float32), tone])
        from storyteller.agent.graph import wav_bytes as write_wav

        page = opened.story.pages[1]
        page.narration = opened.write_asset("audio", "page-2-pause", write_wav(samples, 22050), suffix=".wav",
                                            media_type="audio/wav", provenance=page.narration.provenance)
        opened.save()


def _decoded(path: Path) -> np.ndarray:
    from storyteller.export.video import ffmpeg_exe

    out = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "s16le", "-ac", "1", "-ar", "16000", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype="<i2").astype(np.float32) / 32768


def test_a_story_scored_plays_its_music_under_the_narration(make_teller, tmp_path):
    folder = build_story_folder(tmp_path / "fox")
    _with_a_pause(folder)
    teller = make_teller()
    silent_mp4 = export_story(folder, "mp4", tmp_path / "before.mp4")
    turns = len(load_story(folder).history)

    story = teller.score(folder)
    first_scoring = story.music
    assert [n for cue in story.music for n in cue.pages] == [1, 2, 3]
    for cue in story.music:
        assert (folder / cue.audio.path).is_file() and (folder / cue.score.path).suffix == ".mid"
        assert cue.audio.provenance.backend == "procedural" and cue.audio.provenance.kind == "procedural"
        assert mido.MidiFile(folder / cue.score.path).tracks
    assert story.history[-1].action == "music" and len(story.history) == turns + 1
    assert teller.score(folder, mood="calm").music[0].mood == "calm"  # again: a piece anew, no traceback

    # The mix, measured: under speech the music is DUCKED_DB below it, between lines it is heard.
    story = load_story(folder)
    data = lambda asset: (folder / asset.path).read_bytes()  # noqa: E731
    durations = [(p.narration, wave.open(str(folder / p.narration.path)).getnframes() / 22050) for p in story.pages]
    mixed, levels = soundtrack(story, data, durations, 44100)
    voice, _ = soundtrack(story.model_copy(update={"music": []}), data, durations, 44100)
    music = mixed - voice
    speaking = envelope(voice, 44100) > 0.1 * envelope(voice, 44100).max()
    speech_db = 20 * np.log10(np.sqrt((voice[speaking] ** 2).mean()))
    under_db = 20 * np.log10(np.sqrt((music[speaking] ** 2).mean()))
    assert speech_db - under_db >= -DUCKED_DB - 3, (speech_db, under_db)  # speech 23+ dB above the music
    assert np.sqrt((music[~speaking] ** 2).mean()) > 2 * np.sqrt((music[speaking] ** 2).mean())  # it comes back up
    assert levels["cues"] == 1
    # A page written after the scoring (continue) keeps the music of the cue before it.
    only_first = story.model_copy(update={"music": [story.music[0].model_copy(update={"pages": [1]})]})
    mixed_first, _ = soundtrack(only_first, data, durations, 44100)
    last = slice(int((durations[0][1] + durations[1][1] + 0.5) * 44100), None)
    assert np.sqrt(((mixed_first - voice)[last] ** 2).mean()) > 0.1 * np.sqrt((music[last] ** 2).mean())

    with_music = export_story(folder, "mp4", tmp_path / "music.mp4")
    heard, quiet = _decoded(with_music), _decoded(silent_mp4)
    first = durations[0][1]
    pause = slice(int((first + 1.2) * 16000), int((first + 2.2) * 16000))  # inside page 2's pause
    assert np.sqrt((quiet[pause] ** 2).mean()) < 1e-3 < np.sqrt((heard[pause] ** 2).mean())
    # Without music the export is what it was before the story had any, byte for byte.
    assert export_story(folder, "mp4", tmp_path / "off.mp4", music=False).read_bytes() == silent_mp4.read_bytes()

    page = export_story(folder, "html", tmp_path / "story.html").read_text(encoding="utf-8")
    assert page.count('<audio class="music"') == 1 and 'class="music-toggle"' in page and "Music, pages 1" in page
    assert '<audio class="music"' not in export_story(folder, "html", tmp_path / "off.html", music=False).read_text()

    undone = teller.undo(folder)
    assert undone.story.music == first_scoring and all((folder / c.audio.path).is_file() for c in first_scoring)
    teller.undo(folder)
    story = load_story(folder)
    assert story.music == [] and not list((folder / "audio").glob("music-*"))


def test_the_command_scores_and_says_what_it_made(tmp_path):
    folder = build_story_folder(tmp_path / "fox")
    command = [str(Path(sys.executable).parent / "storyteller"), "score", str(folder)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTELLER_")}
    for _ in range(2):
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "pages 1-" in done.stdout and "bpm" in done.stdout and "Traceback" not in done.stderr
    bad = subprocess.run([*command, "--mood", "gloomy"], env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode != 0 and "moods:" in (bad.stdout + bad.stderr) and "Traceback" not in bad.stderr


# -- MusicGen (transformers), on a tiny random model built here ----------------------------------
@pytest.fixture(scope="module")
def tiny_musicgen(tmp_path_factory):
    pytest.importorskip("transformers")
    from tiny_models import build_musicgen

    return build_musicgen(tmp_path_factory.mktemp("musicgen") / "model")


def test_musicgen_makes_a_seeded_piece_of_the_asked_length(tiny_musicgen):
    from storyteller.backends.hf_music import MusicGenComposer

    composer = MusicGenComposer(model=str(tiny_musicgen), max_seconds=3)
    first = composer.compose(MusicRequest(mood="playful", seconds=2, seed=7))
    assert first.sample_rate == 8000 and first.seconds == pytest.approx(2, abs=0.1)
    assert first.midi is None and first.key == "C major" and first.tempo == 116
    assert np.isfinite(first.samples).all() and np.abs(first.samples).max() <= 0.9 + 1e-6
    assert first.provenance.backend == "musicgen" and first.provenance.kind == "neural"
    assert "playful" in first.provenance.prompt and first.provenance.seed == 7
    assert np.array_equal(composer.compose(MusicRequest(mood="playful", seconds=2, seed=7)).samples, first.samples)
    long = composer.compose(MusicRequest(mood="sad", seconds=20, seed=1))  # made at max_seconds, looped by exports
    assert long.seconds == pytest.approx(3, abs=0.1) and long.provenance.parameters["asked_seconds"] == 20
    with pytest.raises(InvalidInput):
        composer.compose(MusicRequest(mood="gloomy", seconds=2))


def test_a_story_scored_by_musicgen_exports_with_its_piece_looped(tiny_musicgen, make_teller, tmp_path):
    folder = build_story_folder(tmp_path / "fox")
    teller = make_teller(composer={"backend": "musicgen", "options": {"model": str(tiny_musicgen), "max_seconds": 1}})
    story = teller.score(folder, mood="calm")
    assert story.music[0].score is None and story.music[0].audio.provenance.backend == "musicgen"
    heard = _decoded(export_story(folder, "mp4", tmp_path / "story.mp4"))
    assert len(heard) / 16000 == pytest.approx(sum(p[3] for p in __import__("story_fixtures").PAGES), abs=0.5)


def test_musicgen_refuses_a_folder_of_another_model(tmp_path):
    from storyteller.backends.hf_music import MusicGenComposer
    from storyteller.errors import BackendUnavailable

    (tmp_path / "vits").mkdir()
    (tmp_path / "vits" / "config.json").write_text('{"model_type": "vits"}')
    with pytest.raises(BackendUnavailable, match="model_type musicgen"):
        MusicGenComposer(model=str(tmp_path / "vits")).ensure_setup()
    with pytest.raises(BackendUnavailable, match="does not exist"):
        MusicGenComposer(model=str(tmp_path / "nothing")).ensure_setup()

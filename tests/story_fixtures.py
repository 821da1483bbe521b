"""Builds small, valid story folders for tests: real PNGs (Pillow), real WAVs (numpy + wave), both
encoded by the agent's own writers (storyteller.agent.graph).

The folder is written through the session (StoryFolder), exactly as the agent writes one, so the
fixture cannot drift from the real on-disk format. Text deliberately includes markup, template
syntax, right-to-left script and emoji, which every export must show as plain text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from storyteller.agent import graph
from storyteller.session import StoryFolder
from storyteller.story import Appearance, Character, Page, PageBeat, Provenance, Story, StyleGuide, Turn, Voice

HOSTILE_TEXT = '<script>alert(1)</script> "quotes" {{ x }} שלום 🦊'
HOSTILE_NAME = '<b>Owl</b> & "Hoot" <img src=x onerror=alert(3)>'
# (text, scene, characters, narration seconds, sample rate)
PAGES = [
    ("Fox woke before the sun.\nThe forest was quiet.", "A fox curled in a den at dawn", ["fox"], 1.2, 22050),
    (HOSTILE_TEXT, "The fox meets an owl on a branch", ["fox", "owl"], 0.9, 16000),
    ("They watched the sunrise together. The end.", "Fox and owl on a hill at sunrise", ["fox", "owl"], 1.6, 22050),
]
COLOURS = [(226, 120, 40), (60, 110, 170), (240, 190, 70)]


def png_bytes(size: tuple[int, int], colour: tuple[int, int, int], label: str) -> bytes:
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.3, w * 0.7, h * 0.85), fill=(255, 255, 255))
    draw.polygon([(w * 0.35, h * 0.35), (w * 0.42, h * 0.1), (w * 0.5, h * 0.33)], fill=(90, 50, 20))
    draw.text((10, 10), label, fill=(0, 0, 0))
    return graph.png_bytes(image)


def wav_bytes(seconds: float, rate: int, frequency: float) -> bytes:
    """A 16-bit PCM mono tone, faded in and out so it does not click."""
    t = np.arange(int(round(seconds * rate))) / rate
    envelope = np.minimum(1.0, np.minimum(t, seconds - t) / 0.05)
    return graph.wav_bytes(0.3 * np.sin(2 * np.pi * frequency * t) * envelope, rate)


def _prov(backend: str, model: str, kind: str, **extra) -> Provenance:
    return Provenance(backend=backend, model=model, kind=kind, duration_s=0.25, **extra)


def build_story_folder(root: Path) -> Path:
    """Write a 3-page story folder at `root` (which must not hold a story) and return it."""
    story = Story(
        title="The Fox & the <Owl>",
        premise="A shy fox makes a friend at dawn.",
        style=StyleGuide(name="watercolor", description="soft washes", palette=["#E27828", "#3c6eaa", "#f0be46"]),
        characters=[
            Character(
                name="Fox",
                slug="fox",
                appearance=Appearance(species="fox", colors=["orange", "white"], props=["blue scarf"]),
                personality="shy, curious",
                voice=Voice(voice_id="en_US-joe-medium", length_scale=1.1, pitch_shift=2.0),
            ),
            Character(name=HOSTILE_NAME, slug="owl", appearance=Appearance(species="owl", colors=["brown"])),
        ],
        outline=[
            PageBeat(beat=f"beat {i}", scene=scene, characters=chars)
            for i, (_, scene, chars, _, _) in enumerate(PAGES, 1)
        ],
        plan_provenance=_prov("llamacpp", "SmolLM2-135M-Instruct-Q4_1.gguf", "neural", seed=7, prompt="Plan a story"),
    )
    with StoryFolder.create(root, story) as folder:
        reference = folder.write_asset(
            "reference_image",
            "fox-reference",
            png_bytes((256, 256), (226, 120, 40), "fox ref"),
            suffix=".png",
            media_type="image/png",
            provenance=_prov("storyboard", "procedural storyboard", "procedural", seed=1),
        )
        folder.story.characters[0].reference_assets.append(reference)
        for number, (text, scene, chars, seconds, rate) in enumerate(PAGES, 1):
            image = folder.write_asset(
                "image",
                f"page-{number}",
                png_bytes((480, 360), COLOURS[number - 1], f"page {number}"),
                suffix=".png",
                media_type="image/png",
                provenance=_prov(
                    "storyboard",
                    "procedural storyboard",
                    "procedural",
                    seed=100 + number,
                    prompt=f"{scene}, watercolor",
                    parameters={"width": 480, "height": 360, "consistency": {  # as the consistency gate records it
                        "embedder": "classical:test", "chosen_attempt": 0, "passed": True,
                        "attempts": [{"attempt": 0, "characters": {"fox": 0.8 + number / 100},
                                      "character": 0.8 + number / 100, "style": 0.7, "text": None, "passed": True}]}},
                ),
            )
            audio = folder.write_asset(
                "audio",
                f"page-{number}",
                wav_bytes(seconds, rate, 330.0 + 110 * number),
                suffix=".wav",
                media_type="audio/wav",
                provenance=_prov("piper", "en_US-joe-medium.onnx", "neural", prompt=text),
            )
            folder.story.pages.append(
                Page(
                    number=number,
                    text=text,
                    scene=scene,
                    characters=chars,
                    text_provenance=_prov("llamacpp", "SmolLM2-135M-Instruct-Q4_1.gguf", "neural", seed=number),
                    illustration=image,
                    narration=audio,
                )
            )
            folder.story.history.append(Turn(number=number, action="page", summary=f"page {number}", pages=[number]))
        folder.save()
    return root


def total_narration_seconds() -> float:
    return sum(round(seconds * rate) / rate for _, _, _, seconds, rate in PAGES)

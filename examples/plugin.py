"""A backend of your own. A package registers it through the `storyteller.plugins` entry point;
here the same `register` function is called by hand on a private registry.

    python examples/plugin.py

Run again, it writes into the next free folder (chimes-2/, ...).
"""

import numpy as np

from storyteller import Storyteller, free_folder
from storyteller.backends import Registry
from storyteller.backends.base import AudioResult, NarratorBackend, VoiceSpec
from storyteller.config import load_settings


class ChimeNarrator(NarratorBackend):
    """One chime per sentence: procedural, and labelled so in every provenance record."""

    name = "chime"
    kind = "procedural"

    @property
    def model_id(self) -> str:
        return "a chime per sentence"

    def voices(self):
        return [VoiceSpec("chime")]

    def synthesize(self, text, voice=None):
        def run():
            sentences = max(1, sum(text.count(mark) for mark in ".!?"))
            t = np.arange(int(0.25 * 16000)) / 16000
            chime = 0.3 * np.sin(2 * np.pi * 880 * t) * np.exp(-6 * t)
            return np.tile(chime, sentences).astype(np.float32)

        samples, provenance = self.timed("synthesize", run, prompt=text)  # the one instrumented path
        return AudioResult(samples=samples, sample_rate=16000, provenance=provenance)


def register(registry):
    """What `[project.entry-points."storyteller.plugins"] chime = "my_package:register"` points at."""
    registry.add_backend("narrator", "chime", f"{__name__}:ChimeNarrator", summary="a chime per sentence")


def main():
    registry = Registry()
    registry.load_plugins()  # the built-ins and every installed plugin
    register(registry)
    teller = Storyteller(load_settings(narrator={"backend": "chime"}), registry=registry)
    chimes = free_folder("chimes")
    print(f"writing into {chimes}/")
    story = teller.new_story("A bell who lost its ring", out=chimes, pages=2)
    narration = story.pages[0].narration
    print("narrated by:", narration.provenance.backend, f"({narration.provenance.kind})", narration.path)


if __name__ == "__main__":
    main()

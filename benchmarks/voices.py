"""Every voice the embedded narrator offers: how well Whisper understands it, and how fast it speaks.

    flock /tmp/storyteller-heavy.lock python benchmarks/voices.py --json benchmarks/results/voices.json
    flock /tmp/storyteller-heavy.lock python benchmarks/voices.py --language zh --json benchmarks/results/voices-zh.json

Each voice that speaks the language reads the same sentences (plain ones and dialogue-like ones);
the packaged Whisper base transcribes each clip in that language, and the error against the text is
reported per voice (mean over the sentences): the word error rate in English; in Chinese the
character error rate (CER) and the syllable error rate (toneless pinyin, so a homophone written
with another character counts as heard). With it come the real-time factor (synthesis seconds per
second of audio; below 1 is faster than real time) and the time to load the engine. Prints a
table; --json keeps the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

SENTENCES = [
    "The little boat sailed across the lake before the storm.",
    "Would you like to come with me to the river tomorrow morning?",
    "I found a shiny red key under the old oak tree!",
    "Grandmother smiled and poured three cups of warm tea.",
    "Look out, the puppy is running straight into the garden!",
]
SENTENCES_ZH = [
    "小狐狸在雪地里找到了一盏灯笼。",
    "你明天早上想和我一起去河边吗？",
    "我在老橡树下面找到了一把红色的钥匙！",
    "奶奶笑了笑，倒了三杯热茶。",
    "小心，小狗正往花园里跑呢！",
]


def main() -> None:
    from speech import character_error_rate, syllable_error_rate, whisper_model, word_error_rate

    from storyteller.agent.graph import wav_bytes
    from storyteller.backends.speakers import EnsembleNarrator
    from storyteller.backends.whisper import to_simplified

    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    parser.add_argument("--variants", action="store_true", help="also Piper's pitch variants of joe (joe-high, ...)")
    parser.add_argument("--language", choices=("en", "zh"), default="en")
    args = parser.parse_args()
    chinese = args.language == "zh"
    sentences = SENTENCES_ZH if chinese else SENTENCES
    narrator = EnsembleNarrator()
    voices = [v for v in narrator.voices() if args.language in v.languages
              and (args.variants or not v.voice_id.startswith("joe-"))]
    whisper = whisper_model()
    rows = []
    for voice in voices:
        member = narrator.engine(voice.voice_id)
        started = time.perf_counter()
        member.ensure_setup()
        load_s = time.perf_counter() - started
        errors, syllable_errors, synth_s, audio_s = [], [], 0.0, 0.0
        heard = []
        for text in sentences:
            started = time.perf_counter()
            spoken = narrator.synthesize(text, voice)
            synth_s += time.perf_counter() - started
            audio_s += spoken.seconds
            segments, _ = whisper.transcribe(io.BytesIO(wav_bytes(spoken.samples, spoken.sample_rate)), language=args.language,
                                             beam_size=1)
            hypothesis = " ".join(s.text for s in segments).strip()
            if chinese:  # as the transcriber role does: Whisper often writes Mandarin in traditional characters
                hypothesis = to_simplified(hypothesis)
            heard.append(hypothesis)
            if chinese:
                errors.append(character_error_rate(text, hypothesis))
                syllable_errors.append(syllable_error_rate(text, hypothesis))
            else:
                errors.append(word_error_rate(text, hypothesis))
        measure = "cer" if chinese else "wer"
        row = {"voice": voice.voice_id, "speaker": voice.who, "engine": member.name, "kind": member.kind,
               measure: round(statistics.mean(errors), 3), f"worst_{measure}": round(max(errors), 3)}
        if chinese:
            row["syllable_error"] = round(statistics.mean(syllable_errors), 3)
        rows.append({**row, "rtf": round(synth_s / audio_s, 3), "load_s": round(load_s, 2), "heard": heard})
    measure = "cer" if chinese else "wer"
    extra = f"{'syll.':>7}" if chinese else ""
    print(f"{'voice':<20}{'speaker':<22}{'kind':<11}{measure.upper():>6}{'worst':>7}{extra}{'RTF':>7}{'load s':>8}")
    for row in rows:
        syllables = f"{row['syllable_error']:>7.3f}" if chinese else ""
        print(f"{row['voice']:<20}{row['speaker']:<22}{row['kind']:<11}{row[measure]:>6.3f}{row['worst_' + measure]:>7.3f}"
              f"{syllables}{row['rtf']:>7.3f}{row['load_s']:>8.2f}")
    if rows:
        print(f"mean {measure.upper()} over {len(rows)} voices: {statistics.mean(r[measure] for r in rows):.3f}")
    if narrator.missing:
        print("not offered here:", "; ".join(f"{k}: {v}" for k, v in narrator.missing.items()))
    if args.json:
        args.json.write_text(json.dumps({"language": args.language, "sentences": sentences, "voices": rows,
                                         "missing": narrator.missing}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()

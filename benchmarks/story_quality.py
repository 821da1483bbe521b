"""How good the embedded default's stories are, in numbers, over the shared premises.

    python benchmarks/story_quality.py [--premises FILE] [--pages 6] [--limit N] [--json out.json]
    python benchmarks/story_quality.py --cli /path/to/other/venv/bin/storyteller   # another version, for before/after
    python benchmarks/story_quality.py --model qwen2.5-coder-0.5b-instruct        # another embedded LLM
    python benchmarks/story_quality.py --premises benchmarks/premises-zh.txt --pages 4 --narration \
        --json benchmarks/results/story_quality_zh.json                            # stories in Chinese

Each premise becomes a story (in this process, models loaded once: the first story is cold, the
others warm; with --cli, one `storyteller new` process per story). Every story is then measured
with `storyteller eval`'s text section (storyteller.memory.eval.evaluate_text, the embedded text
embedder) and with the LLM calls' own token counts:

- beats copying an earlier beat, sentences repeated across pages, distinct-2, premise coverage,
  protagonist of the premise's kind, share of pages with dialogue, reading grade, meta text;
- plan validity and re-asks (planner re-asks, beats re-asked for being copies);
- wall time, time from the premise to the first words of page 1 on screen and to page 1 saved
  (its text done and staged for its picture);
- tokens: prompt tokens computed (after llama.cpp's reused prefix) and completion tokens, the
  in-story completion tokens/s, and the model's raw speed measured in the same run (prefill and
  decode, free text), from which "LLM time at raw speed" = sum over calls of prompt/prefill +
  completion/decode; `wall / raw` says how much the story costs beyond its LLM work;
- with --narration: every page's narration transcribed by the packaged Whisper in the story's
  language, against the page's text: character error rate (Chinese; Whisper's traditional
  characters converted to simplified, as voice input does) or word error rate (English).

Prints a table and writes JSON to benchmarks/results/story_quality.json (or --json).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PREMISES = ROOT.parent / "shared" / "eval" / "premises.txt"
TARGETS = {"distinct_2": 0.85, "dialogue_share": 1 / 3, "wall_over_raw": 1.15, "first_page_s": 30.0}


def raw_speed(llm) -> dict:
    """The model's own speed on free text: prefill tokens/s from a long fresh prompt with one
    token out, decode tokens/s from a short prompt with many tokens out (time after the first)."""
    filler = " ".join(f"word{i}" for i in range(300))
    stamp = str(time.time_ns())  # a prompt no cache has seen
    prefill = llm.complete([{"role": "user", "content": f"{stamp} {filler}\nSay OK."}], max_tokens=1, temperature=0)
    decode = llm.complete([{"role": "user", "content": f"{stamp} Count from one to two hundred in words."}],
                          max_tokens=128, temperature=0)
    p, d = prefill.usage, decode.usage
    prefill_rate = (p.prompt_evaluated or p.prompt_tokens or 0) / max(1e-6, prefill.provenance.duration_s)
    decode_s = decode.provenance.duration_s - (d.first_token_s or 0)
    return {"prefill_tokens_per_s": round(prefill_rate, 1),
            "decode_tokens_per_s": round(max(1, d.completion_tokens - 1) / max(1e-6, decode_s), 1)}


def story_in_process(teller, premise: str, out: Path, pages: int, seed: int) -> dict:
    from storyteller.events import ModelCall, PageTextDelta, PageWritten, PlanRetry

    calls, marks = [], {}

    def on_event(event) -> None:
        if isinstance(event, ModelCall) and event.role == "llm" and event.operation == "complete":
            calls.append(event)
        elif isinstance(event, PageTextDelta) and "first_words_s" not in marks:
            marks["first_words_s"] = time.perf_counter() - started  # the reader starts to read
        elif isinstance(event, PageWritten) and "first_page_s" not in marks:
            marks["first_page_s"] = time.perf_counter() - started  # page 1 saved, staged for its picture
        elif isinstance(event, PlanRetry):
            marks["plan_reasks"] = marks.get("plan_reasks", 0) + 1

    started = time.perf_counter()
    teller.new_story(premise, out=out, pages=pages, style="watercolor", seed=seed, on_event=on_event)
    wall = time.perf_counter() - started
    return {"wall_s": round(wall, 2), "first_page_s": round(marks.get("first_page_s", wall), 2),
            "first_words_s": round(marks.get("first_words_s", wall), 2),
            "plan_reasks": marks.get("plan_reasks", 0), "llm_calls": calls}


def story_by_cli(cli: str, premise: str, out: Path, pages: int, seed: int) -> dict:
    started = time.perf_counter()
    # Run outside this checkout: from its root, `import storyteller` would find this version.
    out.parent.mkdir(parents=True, exist_ok=True)
    done = subprocess.run([cli, "new", premise, "--pages", str(pages), "--seed", str(seed), "--out", str(out)],
                          capture_output=True, text=True, timeout=3600, cwd=out.parent)
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    return {"wall_s": round(time.perf_counter() - started, 2), "first_page_s": None, "first_words_s": None,
            "plan_reasks": None, "llm_calls": None}


def cjk_share(text: str) -> float | None:
    """Of the letters in a text (punctuation and digits aside), the share that are Chinese characters."""
    import re

    letters = [ch for ch in text if ch.isalpha()]
    return round(sum(bool(re.match(r"[\u3400-\u9fff\uf900-\ufaff]", ch)) for ch in letters) / len(letters), 3) if letters else None


def narration_error(story, folder: Path) -> float | None:
    """Mean error of the pages' narration as the packaged Whisper hears it: CER in Chinese, WER otherwise."""
    sys.path.insert(0, str(ROOT / "tests"))
    from speech import character_error_rate, word_error_rate, whisper_model

    from storyteller.backends.whisper import to_simplified

    errors = []
    for page in story.pages:
        if page.narration is None:
            continue
        segments, _ = whisper_model().transcribe(str(folder / page.narration.path), language=story.language, beam_size=1)
        heard = " ".join(s.text for s in segments).strip()
        if story.language == "zh":
            errors.append(character_error_rate(page.text, to_simplified(heard)))
        else:
            errors.append(word_error_rate(page.text, heard))
    return round(sum(errors) / len(errors), 3) if errors else None


def measure(folder: Path, run: dict, text_embedder, speed: dict | None, narration: bool = False) -> dict:
    from storyteller.memory.eval import evaluate_text
    from storyteller.session import load_story

    story = load_story(folder)
    text = evaluate_text(story, text_embedder)
    row = {"title": story.title, "language": story.language, "pages_written": len(story.pages), "wall_s": run["wall_s"],
           "first_page_s": run["first_page_s"], "first_words_s": run["first_words_s"], "plan_reasks": run["plan_reasks"],
           "plan_failed_attempts": len((story.plan_provenance.parameters if story.plan_provenance else {}).get("failed_attempts", [])),
           "beats_reasked": sum(1 for b in (story.plan_provenance.parameters if story.plan_provenance else {}).get("beats", [])
                                if b.get("reasked")),
           "text": text.model_dump(),
           "beats": [b.beat for b in story.outline], "page_texts": [p.text for p in story.pages],
           "characters": [f"{c.name} ({c.appearance.species}, {c.role or '?'})" for c in story.characters]}
    if story.language == "zh":
        row["cjk_share"] = cjk_share(" ".join(p.text for p in story.pages))
    if narration:
        row["narration_error"] = narration_error(story, folder)
        row["voices"] = sorted({story.narrator_voice.voice_id} | {c.voice.voice_id for c in story.characters if c.voice})
    calls = run["llm_calls"]
    if calls is not None and calls:
        prompt = sum(c.prompt_evaluated or 0 for c in calls)
        completion = sum(c.output_tokens or 0 for c in calls)
        llm_s = sum(c.duration_s for c in calls)
        row.update(llm_calls=len(calls), prompt_tokens_computed=prompt, completion_tokens=completion,
                   llm_seconds=round(llm_s, 2), in_story_decode_tokens_per_s=round(completion / llm_s, 1) if llm_s else None)
        if speed:
            raw = prompt / speed["prefill_tokens_per_s"] + completion / speed["decode_tokens_per_s"]
            row.update(llm_seconds_at_raw_speed=round(raw, 2), wall_over_raw=round(run["wall_s"] / raw, 3))
    return row


def summary(rows: list[dict]) -> dict:
    ok = [r for r in rows if "error" not in r]
    texts = [r["text"] for r in ok]

    def mean(values):
        values = [v for v in values if v is not None]
        return round(sum(values) / len(values), 3) if values else None

    return {
        "stories": len(rows), "valid_plans": len(ok),
        "copied_beats": sum(len(t["copied_beats"]) for t in texts),
        "repeated_sentences": sum(len(t["repeated_sentences"]) for t in texts),
        "distinct_2_min": min((t["distinct_2"] for t in texts if t["distinct_2"] is not None), default=None),
        "distinct_2_mean": mean(t["distinct_2"] for t in texts),
        "stories_distinct_2_ok": sum((t["distinct_2"] or 0) >= TARGETS["distinct_2"] for t in texts),
        "protagonist_matches": sum(bool(t["protagonist_matches_premise"]) for t in texts),
        "meta_text": sum(len(t["meta_text"]) for t in texts),
        "dialogue_share_mean": mean(t["dialogue_share"] for t in texts),
        "stories_dialogue_ok": sum((t["dialogue_share"] or 0) >= TARGETS["dialogue_share"] for t in texts),
        "premise_coverage_mean": mean(t["premise_coverage"] for t in texts),
        "reading_grade_mean": mean(t["reading_grade"] for t in texts),
        "words_per_page_mean": mean(t["words_per_page"] for t in texts),
        "beats_reasked": sum(r["beats_reasked"] for r in ok),
        "wall_s_mean": mean(r["wall_s"] for r in ok),
        "first_page_s_cold": ok[0]["first_page_s"] if ok else None,
        "first_page_s_warm_mean": mean(r["first_page_s"] for r in ok[1:]),
        "first_words_s_cold": ok[0]["first_words_s"] if ok else None,
        "first_words_s_warm_mean": mean(r["first_words_s"] for r in ok[1:]),
        "wall_over_raw_mean": mean(r.get("wall_over_raw") for r in ok),
        "in_story_decode_tokens_per_s_mean": mean(r.get("in_story_decode_tokens_per_s") for r in ok),
        "narration_error_mean": mean(r.get("narration_error") for r in ok),
        "cjk_share_mean": mean(r.get("cjk_share") for r in ok),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--premises", type=Path, default=DEFAULT_PREMISES)
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--limit", type=int, default=0, help="only the first N premises")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cli", help="make each story with this `storyteller` executable (another version)")
    parser.add_argument("--model", help="another embedded LLM (llm.options.model), e.g. qwen2.5-coder-0.5b-instruct")
    parser.add_argument("--keep", type=Path, help="keep the story folders here")
    parser.add_argument("--narration", action="store_true",
                        help="also transcribe every page's narration (Whisper) and report its error rate")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "story_quality.json")
    args = parser.parse_args()

    from storyteller import Storyteller
    from storyteller.config import load_settings

    premises = [line.strip() for line in args.premises.read_text(encoding="utf-8").splitlines() if line.strip()]
    premises = premises[: args.limit] if args.limit else premises
    teller = Storyteller(load_settings(llm={"backend": "llamacpp", "options": {"model": args.model}}) if args.model else None)
    text_embedder = teller.toolbox.backend("text_embedder")
    speed = None if args.cli else raw_speed(teller.toolbox.llm)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        for i, premise in enumerate(premises, start=1):
            out = base / f"story-{i:02d}"
            try:
                run = (story_by_cli(args.cli, premise, out, args.pages, args.seed) if args.cli
                       else story_in_process(teller, premise, out, args.pages, args.seed))
                row = {"premise": premise, **measure(out, run, text_embedder, speed, args.narration)}
            except Exception as exc:  # one failing story is a result, not the end of the benchmark
                row = {"premise": premise, "error": f"{type(exc).__name__}: {exc}"[:500]}
            rows.append(row)
            t = row.get("text", {})
            print(f"{i:2} {premise[:44]:44} " + ("ERROR " + row["error"][:60] if "error" in row else
                  f"copies {len(t['copied_beats'])} rep {len(t['repeated_sentences'])} d2 {t['distinct_2']} "
                  f"hero {'ok' if t['protagonist_matches_premise'] else 'NO'} dlg {t['dialogue_share']} "
                  f"meta {len(t['meta_text'])} wall {row['wall_s']}s first {row['first_page_s']}s "
                  f"raw-ratio {row.get('wall_over_raw')}"
                  + (f" narration-error {row.get('narration_error')}" if args.narration else "")), flush=True)
    result = {"pages": args.pages, "seed": args.seed, "version": "cli " + args.cli if args.cli else "this checkout",
              "llm": None if args.cli else f"{teller.toolbox.llm.name}:{teller.toolbox.llm.model_id}",
              "raw_speed": speed, "targets": TARGETS, "summary": summary(rows), "stories": rows}
    print(json.dumps(result["summary"], indent=2))
    if speed:
        print(f"raw speed: prefill {speed['prefill_tokens_per_s']} tok/s, decode {speed['decode_tokens_per_s']} tok/s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Compare the embedded GGUF chat models on plan validity, speed and page text.

    python benchmarks/compare_llms.py --premises 5 --pages 6 --json out.json

For each model and premise (from ../shared/eval/premises.txt, or the built-in list), asks for a
plan through the same planner the program uses and records whether it was valid on the first
attempt and within the re-ask bound, then writes the first two pages so a person can judge the
prose. Prints a table; the page texts go to the JSON for reading.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from storyteller.agent.plan import make_plan, story_from_plan
from storyteller.agent.writer import write_page
from storyteller.backends.llamacpp import EMBEDDED_MODELS, LlamaCppLLM
from storyteller.errors import StructuredOutputError

FALLBACK_PREMISES = ["A fox who finds a lantern in the snow", "A lighthouse keeper who befriends a seal"]


def load_premises(count: int) -> list[str]:
    shared = Path(__file__).resolve().parents[2] / "shared" / "eval" / "premises.txt"
    lines = shared.read_text().splitlines() if shared.exists() else FALLBACK_PREMISES
    return [line.strip() for line in lines if line.strip()][:count]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--premises", type=int, default=5)
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--models", nargs="*", default=list(EMBEDDED_MODELS))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    results = []
    for name in args.models:
        llm = LlamaCppLLM(model=name)
        t0 = time.perf_counter()
        llm.ensure_setup()
        load = time.perf_counter() - t0
        for premise in load_premises(args.premises):
            row = {"model": name, "premise": premise, "load_s": round(load, 2)}
            t0 = time.perf_counter()
            try:
                plan, completion, failed = make_plan(llm, premise, pages=args.pages, style="watercolor", seed=1)
                row.update(valid=True, first_try=not failed, attempts=len(failed) + 1,
                           plan_s=round(time.perf_counter() - t0, 2),
                           tok_s=round(completion.output_tokens / completion.provenance.duration_s, 1))
                story = story_from_plan(plan, premise=premise, style="watercolor")
                row["title"] = story.title
                row["characters"] = [f"{c.name} ({c.appearance.species})" for c in story.characters]
                pages = []
                for number in (1, 2):
                    text, _ = write_page(llm, story, number, context="\n".join(pages), seed=number)
                    pages.append(text)
                row["pages"] = pages
            except StructuredOutputError as exc:
                row.update(valid=False, first_try=False, attempts=len(exc.attempts), plan_s=round(time.perf_counter() - t0, 2),
                           errors=[a["error"] for a in exc.attempts])
            results.append(row)
            print(json.dumps(row, ensure_ascii=False)[:600], flush=True)
    print(f"\n{'model':32} {'valid':>6} {'1st try':>8} {'plan s':>7} {'tok/s':>6}")
    for name in args.models:
        rows = [r for r in results if r["model"] == name]
        valid = sum(r["valid"] for r in rows)
        first = sum(r["first_try"] for r in rows)
        plan_s = statistics.median(r["plan_s"] for r in rows)
        tok = statistics.median([r["tok_s"] for r in rows if "tok_s" in r] or [0])
        print(f"{name:32} {valid:>3}/{len(rows):<2} {first:>5}/{len(rows):<2} {plan_s:>7.1f} {tok:>6.1f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Where the time of one story goes, from the ModelCall events every backend call emits.

    python benchmarks/story_run.py --pages 6 [--warm] [--json out.json]

Prints wall time, a breakdown by role and operation (loading, LLM with tokens/s, illustration,
narration, memory embeddings), orchestration overhead (wall minus time inside model calls, where
overlapping calls are counted once), the critical path of dependent model calls, and peak RSS.
With --warm a second story runs in the same process (models already loaded).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from storyteller import Storyteller
from storyteller.events import ModelCall, PageWritten, PlanReady


def union_seconds(spans: list[tuple[float, float]]) -> float:
    total, end = 0.0, float("-inf")
    for start, stop in sorted(spans):
        if stop > end:
            total += stop - max(start, end)
            end = stop
    return total


def run_once(teller: Storyteller, premise: str, pages: int, out: Path) -> dict:
    calls: list[ModelCall] = []
    marks: dict[str, float] = {}

    def on_event(event) -> None:
        if isinstance(event, ModelCall):
            calls.append(event)
        elif isinstance(event, PlanReady):
            marks["plan_ready"] = time.perf_counter()
        elif isinstance(event, PageWritten):
            marks[f"page_{event.page}"] = time.perf_counter()

    started = time.perf_counter()
    teller.new_story(premise, out=out, pages=pages, style="watercolor", on_event=on_event)
    wall = time.perf_counter() - started

    by_stage: dict[str, dict] = defaultdict(lambda: {"calls": 0, "seconds": 0.0, "tokens": 0})
    for call in calls:
        key = f"{call.role}:{call.operation}"
        by_stage[key]["calls"] += 1
        by_stage[key]["seconds"] += call.duration_s
        by_stage[key]["tokens"] += call.output_tokens or 0
    inside = union_seconds([(c.started_at, c.started_at + c.duration_s) for c in calls])
    # Critical path: loads and the LLM calls are sequential (each page needs the previous one),
    # then the last page's media; everything else can overlap with it.
    llm = [c for c in calls if c.role == "llm" and c.operation != "load"]
    loads = [c for c in calls if c.operation == "load"]
    last_llm_end = max(c.started_at + c.duration_s for c in llm)
    last_media = [c for c in calls if c.role in ("illustrator", "narrator") and c.started_at >= last_llm_end - 1e-6]
    critical = sum(c.duration_s for c in llm) + sum(c.duration_s for c in loads if c.role == "llm") + max(
        [sum(c.duration_s for c in last_media if c.role == r) for r in ("illustrator", "narrator")] + [0.0])
    return {
        "wall_s": round(wall, 2),
        "inside_model_calls_s": round(inside, 2),
        "orchestration_overhead_s": round(wall - inside, 2),
        "orchestration_overhead_pct": round(100 * (wall - inside) / wall, 2),
        "critical_path_s": round(critical, 2),
        "wall_over_critical_path": round(wall / critical, 3) if critical else None,
        "stages": {k: {**v, "seconds": round(v["seconds"], 2),
                       **({"tokens_per_s": round(v["tokens"] / v["seconds"], 1)} if v["tokens"] else {})}
                   for k, v in sorted(by_stage.items())},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pages", type=int, default=6)
    parser.add_argument("--premise", default="A fox who finds a lantern in the snow")
    parser.add_argument("--warm", action="store_true", help="run a second story in the same process")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    teller = Storyteller()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["cold"] = run_once(teller, args.premise, args.pages, Path(tmp) / "cold")
        if args.warm:
            results["warm"] = run_once(teller, args.premise, args.pages, Path(tmp) / "warm")
    results["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    for name in ("cold", "warm"):
        if name not in results:
            continue
        r = results[name]
        print(f"\n{name}: wall {r['wall_s']} s, in model calls {r['inside_model_calls_s']} s, "
              f"overhead {r['orchestration_overhead_s']} s ({r['orchestration_overhead_pct']}%), "
              f"critical path {r['critical_path_s']} s (wall/critical {r['wall_over_critical_path']})")
        print(f"  {'stage':32} {'calls':>5} {'seconds':>8} {'tok/s':>6}")
        for stage, v in r["stages"].items():
            print(f"  {stage:32} {v['calls']:>5} {v['seconds']:>8} {v.get('tokens_per_s', ''):>6}")
    print(f"\npeak RSS {results['peak_rss_mb']} MB")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

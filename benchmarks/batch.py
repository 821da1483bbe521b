"""Stories per hour, and model loading amortised over a batch: 1 vs 2 workers, in-process vs Ray.

    python benchmarks/batch.py [--stories 3] [--pages 2] [--configs in-process-1,in-process-2,ray-1,ray-2]
                               [--json benchmarks/results/batch.json]

Each configuration runs `Storyteller.batch` on the embedded default in a fresh process (so every
model is loaded in it, from a warm disk cache: the split LLM is joined once before the first run),
on the same premises with the same seeds, into a folder of its own. Ray configurations start a
local Ray instance in that process first (`ray.init`, timed apart: a cluster is started once for
many batches). Reported per configuration: the batch's wall time and stories per hour, the time
spent loading models (the sum of the load calls, once per process in-process, once per actor on
Ray) and that time per story, the model time, and whether each story's text and pictures are those
of the first configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREMISES = [
    "A fox who finds a lantern in the snow",
    "A little robot who wants to learn to dance",
    "A shy hedgehog who is afraid of the dark",
    "Two friends who build a raft to cross the river",
]


def run_one(config: str, stories: int, pages: int, out: Path) -> dict:
    """One configuration in this process: 'in-process-N' or 'ray-N' (N workers)."""
    scheduler, workers = config.rsplit("-", 1)
    if scheduler == "ray":
        # Ray (2.60) turns token authentication on for a new local cluster and, unless it is given
        # a token, writes one to ~/.ray/auth_token, which every later `ray start` on this machine
        # then picks up. A token of this run's own keeps the machine as it was (said before Ray is
        # imported: it reads the mode then).
        os.environ.setdefault("RAY_AUTH_MODE", "token")
        os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(16))
    from storyteller import Storyteller
    from storyteller.session import load_story

    ray_init_s = None
    if scheduler == "ray":
        import ray

        started = time.perf_counter()
        ray.init(address="local", include_dashboard=False, log_to_driver=False)
        ray_init_s = time.perf_counter() - started
    report = Storyteller().batch(PREMISES[:stories], out=out, pages=pages, workers=int(workers),
                                 ray="auto" if scheduler == "ray" else None)
    done = [s for s in report.stories if s.status in ("done", "resumed")]
    return {
        "config": config, "scheduler": report.scheduler, "stories": len(done),
        "failed": [s.error.message for s in report.stories if s.error],
        "batch_wall_s": report.wall_s, "stories_per_hour": report.totals["stories_per_hour"],
        "load_s": report.totals["load_s"], "load_s_per_story": round(report.totals["load_s"] / max(len(done), 1), 2),
        "model_s": report.totals["model_s"], "ray_init_s": None if ray_init_s is None else round(ray_init_s, 2),
        "actors": report.actors,
        "per_story": [{"folder": Path(s.folder).name, "wall_s": s.wall_s, "model_s": s.model_s, "load_s": s.load_s}
                      for s in report.stories],
        "driver_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "signatures": {Path(s.folder).name: [[p.text, p.illustration.sha256, p.narration.sha256]
                                             for p in load_story(Path(s.folder)).pages] for s in done},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stories", type=int, default=3)
    parser.add_argument("--pages", type=int, default=2)
    parser.add_argument("--configs", default="in-process-1,in-process-2,ray-1,ray-2")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a configuration, in the child process
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.stories, args.pages, args.out)))
        return

    from storyteller import Storyteller

    Storyteller().toolbox.llm.ensure_setup()  # joins the split model once, outside every measurement
    results = []
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        for config in args.configs.split(","):
            started = time.perf_counter()
            child = subprocess.run([sys.executable, __file__, "--one", config, "--stories", str(args.stories),
                                    "--pages", str(args.pages), "--out", str(Path(tmp) / config)],
                                   capture_output=True, text=True)
            if child.returncode != 0:
                sys.exit(f"{config} failed:\n{child.stderr[-3000:]}")
            result = json.loads(child.stdout.strip().splitlines()[-1])
            result["process_wall_s"] = round(time.perf_counter() - started, 1)
            results.append(result)
            print(f"{config:>13}: {result['stories']} stories in {result['batch_wall_s']:.0f}s "
                  f"({result['stories_per_hour']} /h), loading {result['load_s']:.1f}s "
                  f"({result['load_s_per_story']:.1f}s a story), model {result['model_s']:.0f}s, "
                  f"process {result['process_wall_s']:.0f}s" + (f", ray.init {result['ray_init_s']}s" if result['ray_init_s'] else ""),
                  flush=True)
    first = results[0]["signatures"]
    for result in results:
        signatures = result.pop("signatures")
        result["same_texts_as_first"] = all([p[0] for p in signatures.get(k, [])] == [p[0] for p in v] for k, v in first.items())
        result["same_assets_as_first"] = signatures == first
    summary = {"stories": args.stories, "pages": args.pages, "premises": PREMISES[:args.stories], "results": results,
               "machine": f"{os.cpu_count()} CPUs"}
    for result in results:
        print(f"{result['config']:>13}: same texts as {results[0]['config']}: {result['same_texts_as_first']}, "
              f"same pictures and sound: {result['same_assets_as_first']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()

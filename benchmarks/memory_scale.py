"""How the story memory scales: add throughput, query latency, size on disk, load time.

    python benchmarks/memory_scale.py                      # 1k, 100k, 1M records
    python benchmarks/memory_scale.py --sizes 1000,100000  # quicker
    python benchmarks/memory_scale.py --json out.json

Vectors are random unit vectors (384-d, the size of all-MiniLM-L6-v2), not model outputs: this
measures the index and the record store, not the embedder. Queries are stored vectors plus noise
(cosine ~0.9 to their source, like a paraphrase), so `recall@1` says how often the approximate
index still returns the source record. Random vectors are the hard case for an approximate index
(no cluster structure); real sentence embeddings are kinder.
Everything goes through the public `Memory` API the agent uses (add_records, save, open,
search_vector), including writing a real story folder's `memory/`.

Targets (issue 4, 2-core machine): query p50 < 2 ms at 100k records; load of a 100k-record
memory < 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


class RandomVectors:
    """Stands in for the text embedder: the benchmark supplies its own vectors."""

    name = "benchmark"
    model_id = "random-unit-vectors"

    def embed(self, texts):
        raise RuntimeError("the benchmark adds precomputed vectors only")


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def unit(matrix: np.ndarray) -> np.ndarray:
    return (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)).astype(np.float32)


def run_size(n: int, *, dim: int, queries: int, batch: int, seed: int, workdir: Path) -> dict:
    from storyteller.memory import Memory

    rng = np.random.default_rng(seed)
    root = workdir / f"story-{n}"
    memory = Memory(root, RandomVectors())
    all_vectors = np.empty((n, dim), np.float32)

    # -- add ---------------------------------------------------------------------------------
    add_seconds = 0.0
    for start in range(0, n, batch):
        count = min(batch, n - start)
        vectors = unit(rng.standard_normal((count, dim), dtype=np.float32))
        all_vectors[start:start + count] = vectors
        records = [{"space": "text", "type": "fact", "key": f"fact-{i}", "page": 1 + i // 100,
                    "text": f"Fact number {i} of the benchmark story."} for i in range(start, start + count)]
        began = time.perf_counter()
        memory.add_records(records, vectors)
        add_seconds += time.perf_counter() - began

    began = time.perf_counter()
    memory.save()
    save_seconds = time.perf_counter() - began
    size = folder_size(root / "memory")
    index_kind = memory.spaces["text"].kind
    del memory

    # -- load (resume) -------------------------------------------------------------------------
    began = time.perf_counter()
    memory = Memory.open(root, RandomVectors())
    load_seconds = time.perf_counter() - began
    assert len(memory.records) == n and len(memory.spaces["text"]) == n

    # -- query ---------------------------------------------------------------------------------
    sources = rng.choice(n, size=min(queries, n), replace=False)
    noise = unit(rng.standard_normal((len(sources), dim), dtype=np.float32))
    probes = unit(all_vectors[sources] + 0.48 * noise)  # cosine ~0.9 to the source
    for probe in probes[:10]:  # warm-up
        memory.search_vector(probe, k=5)
    latencies, top1 = [], 0
    for i, probe in enumerate(probes):
        began = time.perf_counter()
        hits = memory.search_vector(probe, k=5)
        latencies.append((time.perf_counter() - began) * 1000)
        ids = [h.record.id for h in hits]
        top1 += bool(ids) and ids[0] == int(sources[i])
    latencies = np.array(latencies)
    return {
        "records": n,
        "index": index_kind,
        "add_records_per_s": round(n / add_seconds, 1),
        "add_seconds": round(add_seconds, 2),
        "save_seconds": round(save_seconds, 2),
        "disk_mb": round(size / 2**20, 1),
        "load_seconds": round(load_seconds, 3),
        "query_p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "query_p99_ms": round(float(np.percentile(latencies, 99)), 3),
        "recall_at_1": round(float(top1) / len(probes), 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,100000,1000000", help="comma-separated record counts")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--batch", type=int, default=10_000, help="records per add call")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/memory_scale.json"))
    parser.add_argument("--workdir", type=Path, default=None, help="where the story folders go (default: a temp dir)")
    args = parser.parse_args(argv)
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]

    import faiss

    from rich.console import Console
    from rich.table import Table

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="storyteller-memory-bench-"))
    results = []
    console = Console(width=max(Console().width, 130))
    try:
        for n in sizes:
            console.print(f"[bold]{n:,}[/bold] records ...")
            result = run_size(n, dim=args.dim, queries=args.queries, batch=args.batch, seed=args.seed, workdir=workdir)
            console.print(result)
            results.append(result)
            shutil.rmtree(workdir / f"story-{n}", ignore_errors=True)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)

    table = Table(title=f"story memory at scale ({args.dim}-d, {os.cpu_count()} CPU cores, faiss {faiss.__version__})")
    columns = [("records", "records"), ("index", "index"), ("add/s", "add_records_per_s"), ("save s", "save_seconds"),
               ("disk MB", "disk_mb"), ("load s", "load_seconds"), ("p50 ms", "query_p50_ms"),
               ("p99 ms", "query_p99_ms"), ("recall@1", "recall_at_1")]
    for title, _ in columns:
        table.add_column(title, justify="right")
    for result in results:
        table.add_row(*(f"{result[key]:,}" if isinstance(result[key], int) else str(result[key]) for _, key in columns))
    console.print(table)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0],
                    "faiss": faiss.__version__, "omp_threads": faiss.omp_get_max_threads()},
        "dim": args.dim, "queries": args.queries, "results": results,
    }
    args.json.write_text(json.dumps(payload, indent=2) + "\n")
    console.print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

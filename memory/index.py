"""One vector space: a FAISS index of L2-normalised vectors keyed by the records' stable int ids.

Vectors are normalised, so inner product is cosine similarity. The index type follows the size:

* up to `IVF_THRESHOLD` (20,000) vectors: exact search, `IndexIDMap2(IndexFlatIP)`. No training,
  exact results, removal in place. A story's memory (hundreds to a few thousand records) always
  lives here. Brute force costs ~0.08 ms per 1k vectors per query on this 2-core machine, so
  20k is about where it would pass the 2 ms budget.
* above it: `IndexIVFFlat` (inverted lists over k-means cells, nlist ~ 4*sqrt(n) up to 2048, nprobe 32),
  trained on the vectors it holds and retrained when it has grown `RETRAIN_GROWTH` times past its
  training size. It keeps the raw vectors (no quantisation loss), scans ~2-5 % of them per query
  (recall@1 0.994 at nprobe 32 on 100k random vectors, the hard case; 0.976 at 16),
  adds fast, loads fast, and removes in place, which undo needs. HNSW was measured first and set
  aside here: 130 s to build 100k vectors on this busy 2-core machine, a slower load, and no removal.

Both keep our ids (IVF natively, with a hash-table direct map so a vector can be read back by id;
the flat index through IndexIDMap2), so the gate reads character reference vectors without
re-embedding them.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import numpy as np

IVF_THRESHOLD = 20_000
IVF_NPROBE = 32
RETRAIN_GROWTH = 4
MAX_NLIST = 2048  # bounds k-means time on 2 cores; at 1M vectors a probe still scans ~1.6 %
_TRAIN_POINTS_PER_CELL = 40


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # faiss is an extra, imported only when memory is used
        from storyteller.errors import BackendUnavailable
        from storyteller.install import install_hint

        raise BackendUnavailable("faiss is not installed", fix=install_hint("memory")) from exc
    return faiss


@contextlib.contextmanager
def _single_threaded():
    """Run a small search on one OpenMP thread.

    For one query FAISS's threads have little to share, and on a busy 2-core machine their
    busy-waiting costs more than the search itself (measured: 57 ms p50 with 2 threads vs 1.1 ms
    with 1 thread for 20k vectors while another process kept the cores busy). Builds keep all
    threads.
    """
    faiss = _faiss()
    previous = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(previous)


def as_matrix(vectors, dim: int | None = None) -> np.ndarray:
    """A C-contiguous float32 (n, d) matrix with unit rows (zero rows stay zero)."""
    matrix = np.asarray(vectors, dtype=np.float32)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2:
        raise ValueError(f"expected a (n, d) matrix of vectors, got shape {matrix.shape}")
    if dim is not None and matrix.shape[1] != dim:
        raise ValueError(f"vectors have dimension {matrix.shape[1]}, this space holds dimension {dim}")
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.ascontiguousarray(matrix / np.where(norms > 0, norms, 1.0), dtype=np.float32)


class VectorSpace:
    """A growable, shrinkable, serialisable id -> vector index."""

    def __init__(self, dim: int, *, ivf_threshold: int = IVF_THRESHOLD):
        self.dim = dim
        self.ivf_threshold = ivf_threshold
        self.kind = "flat"
        self.trained_on = 0  # vectors the IVF cells were trained on
        self.index = _faiss().IndexIDMap2(_faiss().IndexFlatIP(dim))

    # -- files ---------------------------------------------------------------------------------
    @classmethod
    def read(cls, path: Path, *, ivf_threshold: int = IVF_THRESHOLD, trained_on: int = 0) -> VectorSpace:
        faiss = _faiss()
        index = faiss.read_index(str(path))
        space = cls.__new__(cls)
        space.dim = index.d
        space.ivf_threshold = ivf_threshold
        space.index = index
        space.kind = "ivf" if isinstance(index, faiss.IndexIVF) else "flat"
        space.trained_on = trained_on or index.ntotal
        if space.kind == "ivf":
            index.nprobe = IVF_NPROBE
        return space

    def to_bytes(self) -> bytes:
        return _faiss().serialize_index(self.index).tobytes()

    # -- contents ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return self.index.ntotal

    def ids(self) -> np.ndarray:
        return self.vectors(with_vectors=False)[0]

    def vectors(self, *, with_vectors: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """All (ids, vectors), sorted by id (= insertion order)."""
        faiss = _faiss()
        if self.kind == "flat":
            ids = faiss.vector_to_array(self.index.id_map).astype(np.int64)
            inner = faiss.downcast_index(self.index.index)
            vectors = inner.reconstruct_n(0, inner.ntotal) if (with_vectors and inner.ntotal) else None
        else:
            lists = self.index.invlists
            id_parts, vector_parts = [], []
            for cell in range(lists.nlist):
                size = lists.list_size(cell)
                if size:
                    id_parts.append(faiss.rev_swig_ptr(lists.get_ids(cell), size).copy())
                    if with_vectors:
                        codes = faiss.rev_swig_ptr(lists.get_codes(cell), size * lists.code_size).copy()
                        vector_parts.append(codes.view(np.float32).reshape(size, self.dim))
            ids = np.concatenate(id_parts).astype(np.int64) if id_parts else np.zeros(0, np.int64)
            vectors = np.concatenate(vector_parts) if vector_parts else None
        order = np.argsort(ids, kind="stable")
        if vectors is None:
            vectors = np.zeros((len(ids), self.dim), np.float32) if with_vectors else None
        return ids[order], (vectors[order] if vectors is not None else None)

    def get(self, ids) -> np.ndarray:
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros((0, self.dim), np.float32)
        return np.stack([self.index.reconstruct(i) for i in ids])

    # -- changes -------------------------------------------------------------------------------
    def add(self, ids, vectors) -> None:
        matrix = as_matrix(vectors, self.dim)
        ids = np.ascontiguousarray(np.asarray(ids, dtype=np.int64))
        if len(ids) != len(matrix):
            raise ValueError(f"{len(ids)} ids for {len(matrix)} vectors")
        total = len(self) + len(ids)
        if (self.kind == "flat" and total > self.ivf_threshold) or (
            self.kind == "ivf" and total > RETRAIN_GROWTH * self.trained_on
        ):
            old_ids, old_vectors = self.vectors()
            self._rebuild(np.concatenate([old_ids, ids]), np.concatenate([old_vectors, matrix]))
            return
        self.index.add_with_ids(matrix, ids)

    def remove(self, ids) -> int:
        ids = np.asarray(sorted({int(i) for i in ids}), dtype=np.int64)
        if not len(ids):
            return 0
        removed = int(self.index.remove_ids(ids))
        if self.kind == "ivf" and len(self) <= self.ivf_threshold // 2:
            self._rebuild(*self.vectors())  # shrunk back to story size: exact search again
        return removed

    def _rebuild(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """A fresh index of the right kind for len(ids) vectors, holding exactly these."""
        faiss = _faiss()
        n = len(ids)
        if n <= self.ivf_threshold:
            self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
            self.kind, self.trained_on = "flat", 0
        else:
            nlist = int(min(max(4 * math.sqrt(n), 64), MAX_NLIST, n // _TRAIN_POINTS_PER_CELL))
            quantizer = faiss.IndexFlatIP(self.dim)
            index = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
            quantizer.this.disown()  # the IVF index owns and frees its quantizer
            index.own_fields = True
            index.cp.niter = 10
            index.cp.max_points_per_centroid = _TRAIN_POINTS_PER_CELL
            index.cp.seed = 1234
            rng = np.random.default_rng(n)
            sample = vectors[rng.choice(n, size=min(n, nlist * _TRAIN_POINTS_PER_CELL), replace=False)]
            index.train(np.ascontiguousarray(sample, dtype=np.float32))
            index.set_direct_map_type(faiss.DirectMap.Hashtable)
            index.nprobe = IVF_NPROBE
            self.index, self.kind, self.trained_on = index, "ivf", n
        if n:
            self.index.add_with_ids(np.ascontiguousarray(vectors, dtype=np.float32), np.ascontiguousarray(ids, dtype=np.int64))

    # -- queries -------------------------------------------------------------------------------
    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(scores, ids), each (n_queries, k'); k' = min(k, size). Missing slots have id -1."""
        matrix = as_matrix(queries, self.dim)
        k = min(k, len(self))
        if k <= 0:
            return np.zeros((len(matrix), 0), np.float32), np.zeros((len(matrix), 0), np.int64)
        if len(matrix) <= 8:
            with _single_threaded():
                return self.index.search(matrix, k)
        return self.index.search(matrix, k)

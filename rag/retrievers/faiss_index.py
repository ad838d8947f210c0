"""FAISS index construction and search for normalised vectors (inner product = cosine).

Four kinds, chosen by `FaissIndexParams.kind`, trading exactness for speed and memory:

- `flat`: `IndexFlatIP`, exact brute force; cost O(n·d) per query, no training.
- `hnsw`: `IndexHNSWFlat` (Malkov & Yashunin 2016, arXiv:1603.09320): a layered
  proximity graph with `M` links per node, built with beam `ef_construction`, searched
  with beam `ef_search` (the recall/speed knob). No training.
- `ivf_flat`: `IndexIVFFlat` (Jégou et al. 2011): k-means into `nlist` cells, a query
  scans only the `nprobe` nearest cells, exactly.
- `ivf_pq`: `IndexIVFPQ` (Jégou, Douze & Schmid 2011, "Product quantization for nearest
  neighbor search"): as IVF, but each vector's residual is stored as `pq_m` codes of
  `nbits` bits (384-d float32 = 1,536 B -> 48 B at m=48, nbits=8). Scores are
  approximate; `rescore` > 0 re-ranks that many candidates exactly against the float
  vectors (kept in `vectors.npy` anyway).

Training rule (FAISS `Clustering.cpp`): k-means into k centroids fails outright with
fewer than k points and warns below `min_points_per_centroid` (39) x k points; it
subsamples above 256 x k. IVF trains k = nlist centroids; PQ trains k = 2^nbits
centroids per sub-vector. We raise below the 39 x k rule, since an index trained on
fewer points is worse than `flat` at that size anyway.

Single-query search is memory-bound: FAISS's OpenMP threads cost more than they give for
one query (MODELS.md measured 3x slower with 2 threads at 100k), so a one-query search
runs with one thread and restores the previous setting afterwards.
Left out on purpose: GPU indexes, id maps (ids are row numbers), deletion.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import FaissIndexParams
from rag.errors import ComponentError


def min_training_points(k: int) -> int:
    """Points FAISS's k-means wants for k centroids: min_points_per_centroid (39) x k."""
    import faiss

    return int(faiss.ClusteringParameters().min_points_per_centroid) * k


def check_trainable(n: int, params: FaissIndexParams) -> None:
    """Raise a ComponentError when `n` vectors are too few to train `params.kind`."""
    if params.kind in ("flat", "hnsw"):
        return
    needs = {"IVF coarse quantiser (nlist)": min_training_points(params.nlist)}
    if params.kind == "ivf_pq":
        needs["PQ codebooks (2^nbits)"] = min_training_points(2**params.nbits)
    for what, need in needs.items():
        if n < need:
            raise ComponentError(
                f"faiss index kind {params.kind!r} needs at least {need} vectors to train its "
                f"{what} (FAISS k-means wants 39 points per centroid), but there are {n}; "
                f"use `kind: flat` (exact, and fast at this size) or a smaller "
                f"nlist (at most {n // 39}) / nbits"
            )


def build_index(vectors: np.ndarray, params: FaissIndexParams) -> Any:
    """A trained, filled FAISS index over `vectors` (n, d) float32, unit-norm rows."""
    import faiss

    n, d = vectors.shape
    check_trainable(n, params)
    index: Any
    if params.kind == "flat":
        index = faiss.IndexFlatIP(d)
    elif params.kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, params.M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = params.ef_construction
    elif params.kind == "ivf_flat":
        index = faiss.IndexIVFFlat(
            faiss.IndexFlatIP(d), d, params.nlist, faiss.METRIC_INNER_PRODUCT
        )
    else:
        if d % params.pq_m:
            raise ComponentError(
                f"pq_m={params.pq_m} must divide the vector dimension {d}; "
                f"choose a divisor such as {', '.join(str(m) for m in _divisors(d))}"
            )
        index = faiss.IndexIVFPQ(
            faiss.IndexFlatIP(d),
            d,
            params.nlist,
            params.pq_m,
            params.nbits,
            faiss.METRIC_INNER_PRODUCT,
        )
    if not index.is_trained:
        index.train(vectors)
    index.add(vectors)
    configure(index, params)
    return index


def _divisors(d: int) -> list[int]:
    return [m for m in (8, 12, 16, 24, 32, 48, 64, 96) if d % m == 0]


def configure(index: Any, params: FaissIndexParams) -> None:
    """Apply the search-time knobs, which may change without rebuilding the index."""
    import faiss

    if params.kind == "hnsw":
        index.hnsw.efSearch = params.ef_search
    elif params.kind in ("ivf_flat", "ivf_pq"):
        faiss.extract_index_ivf(index).nprobe = params.nprobe


@contextmanager
def omp_threads(n: int) -> Iterator[None]:
    """Run FAISS with `n` OpenMP threads inside the block, then restore the old count."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def search(
    index: Any,
    queries: np.ndarray,
    k: int,
    params: FaissIndexParams,
    vectors: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-`k` (scores, ids), each (n_queries, k), best first; missing hits have id -1.

    For `ivf_pq` with `rescore` > 0 and the float `vectors` given, the top
    max(k, rescore) PQ candidates are re-scored exactly and the best k kept."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    rescoring = params.kind == "ivf_pq" and params.rescore > 0
    if rescoring and vectors is None:
        raise ComponentError("ivf_pq rescore needs the float vectors; pass `vectors`")
    fetch = min(max(k, params.rescore) if rescoring else k, index.ntotal)
    threads = 1 if len(queries) == 1 else _current_threads()
    with omp_threads(threads):
        scores, ids = index.search(queries, fetch)  # (n_queries, fetch)
    if rescoring and vectors is not None:
        scores, ids = rescore_exact(queries, ids, vectors)
    return scores[:, :k], ids[:, :k]


def _current_threads() -> int:
    import faiss

    return int(faiss.omp_get_max_threads())


def rescore_exact(
    queries: np.ndarray, ids: np.ndarray, vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosines q·v for each query's candidate ids, re-sorted best first.

    queries (n_q, d), ids (n_q, c) with -1 for empty slots, vectors (n, d) -> (n_q, c)."""
    safe = np.where(ids < 0, 0, ids)
    exact = np.einsum("qd,qcd->qc", queries, vectors[safe])  # (n_q, c)
    exact = np.where(ids < 0, -np.inf, exact).astype(np.float32)
    order = np.argsort(-exact, axis=1, kind="stable")
    return np.take_along_axis(exact, order, 1), np.take_along_axis(ids, order, 1)


def write(index: Any, path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def read(path: Path, params: FaissIndexParams) -> Any:
    """Read an index written by `write` and apply the current search-time knobs."""
    import faiss

    index = faiss.read_index(str(path))
    configure(index, params)
    return index

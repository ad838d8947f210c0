"""Fill the embedding cache with the BEIR sets' documents and queries, once, for everyone.

Embedding SciFact's 5,183 abstracts with MiniLM takes ~400 s on 2 cores; the dense
benchmarks and the BEIR runner all need the same vectors. This script embeds them into the
shared content-addressed cache (`rag.embedders.cache`, under $RAG_CACHE_DIR or
~/.cache/handbook-rag), so every later run reads them back in a second:

- SciFact: every document as `title + " " + text` (kind="passage"), every query in
  queries.jsonl (kind="query"; train and test, 1,109);
- NFCorpus: every document the same way, and the test queries (those in qrels/test.tsv).

It works in slices, writing each to the cache before the next, so an interrupted run keeps
what it did; a re-run skips everything already cached. Usage:

    .venv/bin/python benchmarks/warm_cache.py [--model minilm] [--root ../shared/benchmarks]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path

from rag.config import EmbedderParams
from rag.embedders.base import TextKind
from rag.embedders.cache import CachedEmbedder
from rag.embedders.sentence_transformers import SentenceTransformerEmbedder

DEFAULT_ROOT = Path("/work/shared/benchmarks")
SLICE = 256


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def doc_text(row: dict) -> str:
    """The text a BEIR document is embedded as: title + " " + text (the BEIR convention)."""
    return f"{row.get('title', '')} {row['text']}"


def corpus_texts(dataset: Path) -> dict[str, str]:
    """doc id -> embedded text, in corpus order."""
    return {str(row["_id"]): doc_text(row) for row in read_jsonl(dataset / "corpus.jsonl")}


def split_query_ids(dataset: Path, split: str) -> set[str]:
    """Ids of the queries judged in qrels/<split>.tsv (header line skipped)."""
    lines = (dataset / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
    return {line.split("\t")[0] for line in lines[1:] if line.strip()}


def query_texts(dataset: Path, split: str | None = None) -> dict[str, str]:
    """query id -> text; only the queries of qrels/<split>.tsv when `split` is given."""
    keep = split_query_ids(dataset, split) if split else None
    rows = read_jsonl(dataset / "queries.jsonl")
    return {str(r["_id"]): r["text"] for r in rows if keep is None or str(r["_id"]) in keep}


def warm(embedder: CachedEmbedder, label: str, texts: Sequence[str], kind: TextKind) -> None:
    """Encode `texts` slice by slice (each slice is written to the cache as it finishes)."""
    started = time.perf_counter()
    before = embedder.stats()
    for i in range(0, len(texts), SLICE):
        embedder.encode(texts[i : i + SLICE], kind=kind)
        done = min(i + SLICE, len(texts))
        elapsed = time.perf_counter() - started
        print(f"{label}: {done}/{len(texts)} ({elapsed:.0f} s)", flush=True)
    after = embedder.stats()
    hits, misses = after["hits"] - before["hits"], after["misses"] - before["misses"]
    print(
        f"{label}: done in {time.perf_counter() - started:.1f} s; "
        f"cache hits {hits:.0f}, misses (embedded) {misses:.0f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["minilm", "mpnet"], default="minilm")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    args = parser.parse_args()

    embedder = CachedEmbedder(SentenceTransformerEmbedder(EmbedderParams(model=args.model)))
    print(f"model {embedder.model_id}; cache {embedder.store.path}", flush=True)
    scifact, nfcorpus = args.root / "scifact", args.root / "nfcorpus"
    warm(embedder, "scifact queries", list(query_texts(scifact).values()), "query")
    warm(embedder, "scifact corpus", list(corpus_texts(scifact).values()), "passage")
    warm(embedder, "nfcorpus test queries", list(query_texts(nfcorpus, "test").values()), "query")
    warm(embedder, "nfcorpus corpus", list(corpus_texts(nfcorpus).values()), "passage")
    print(f"total: {embedder.stats()}; cache holds {len(embedder.store)} vectors", flush=True)


if __name__ == "__main__":
    main()

"""A hybrid config through the API: fusion shares in the trace, and one member alone.

`overrides.retriever: bm25` on a bm25+dense hybrid queries the hybrid's own fitted BM25
child: the same index, no rebuild, and its ranking equals a BM25-only config's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.indexer import build_index
from rag.config import load_config
from service.app import create_app
from service.settings import Settings
from tests.service.conftest import LiveServer, wait_ready, write_config

QUESTION = "How does reciprocal rank fusion combine BM25 and dense rankings?"


@pytest.fixture(scope="module")
def hybrid_client(
    bm25_configs: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[httpx.Client]:
    root = tmp_path_factory.mktemp("hybrid")
    build_index(load_config(write_config(root / "configs", "hybrid", "hybrid", root / "idx")))
    bm25_index = bm25_configs.parent / "indexes" / "bm25"
    write_config(root / "configs", "bm25", "bm25", root / "idx", index_dir=str(bm25_index))
    settings = Settings(configs_dir=root / "configs", default_config="hybrid", rate_per_s=0)
    live = LiveServer(create_app(settings)).start()
    with live.client() as client:
        wait_ready(client)
        yield client
    live.stop()


@pytest.mark.slow
def test_hybrid_trace_and_member_override(hybrid_client: httpx.Client) -> None:
    fused = hybrid_client.post("/retrieve", json={"question": QUESTION}).json()
    top = fused["trace"]["stages"][0]["candidates"][0]
    members = {r["name"] for r in top["explain"]["retrievers"]}
    assert members == {"bm25", "dense"}, top["explain"]
    assert hybrid_client.get("/configs/hybrid").json()["retrievers"] == ["hybrid", "bm25", "dense"]

    alone = hybrid_client.post(
        "/retrieve", json={"question": QUESTION, "overrides": {"retriever": "bm25"}}
    ).json()
    assert "terms" in alone["trace"]["stages"][0]["candidates"][0]["explain"]
    plain = hybrid_client.post("/retrieve", json={"question": QUESTION, "config": "bm25"}).json()
    assert [c["chunk_id"] for c in alone["contexts"]] == [c["chunk_id"] for c in plain["contexts"]]

    dense = hybrid_client.post(
        "/retrieve", json={"question": QUESTION, "overrides": {"retriever": "dense"}}
    ).json()
    assert "terms" not in dense["trace"]["stages"][0]["candidates"][0]["explain"]
    assert dense["trace"]["stages"][0]["details"]["retriever"] == "dense"

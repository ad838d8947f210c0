"""Every endpoint's happy path against a real server over a real BM25 index."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from urllib.parse import quote

import httpx
import pytest

from service.models import (
    ChunkOut,
    ConfigDetail,
    ConfigList,
    QueryResponse,
    Ready,
    RetrieveResponse,
)
from tests.service.conftest import LiveServer

RRF = "What is reciprocal rank fusion?"


def test_query_answers_with_citations_and_a_full_trace(client: httpx.Client) -> None:
    response = client.post("/query", json={"question": RRF})
    assert response.status_code == 200, response.text
    body = response.json()
    QueryResponse.model_validate(body)  # the documented schema is the real one
    assert body["config"] == "bm25" and not body["abstained"] and not body["fallback_used"]
    assert body["citations"], "an answer cites its contexts"
    first = body["citations"][0]
    assert {"chunk_id", "source", "heading_path", "start", "end", "text"} <= first.keys()
    assert first["source"].endswith(".md") and first["end"] > first["start"]
    assert f"[{first['n']}]" in body["answer"]
    assert "reciprocal rank fusion" in " ".join(c["text"].lower() for c in body["citations"])
    stages = body["trace"]["stages"]
    names = [s["name"] for s in stages]  # a `guard` stage appears when it flags something
    assert names[0] == "retrieve" and names[-1] == "generate" and "rerank" not in names
    top = stages[0]["candidates"][0]
    assert top["rank"] == 1 and top["score"] > 0
    terms = top["explain"]["terms"]
    assert sum(t["contribution"] for t in terms) == pytest.approx(top["score"], rel=1e-6)


def test_server_timing_and_request_id_headers(client: httpx.Client) -> None:
    response = client.post("/query", json={"question": RRF}, headers={"x-request-id": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    timing = dict(part.split(";dur=") for part in response.headers["server-timing"].split(", "))
    assert {"queue", "retrieve", "generate", "app"} <= timing.keys(), timing
    assert all(float(ms) >= 0 for ms in timing.values())
    assert float(timing["app"]) >= float(timing["retrieve"]) + float(timing["generate"])
    fresh = client.get("/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    bad = client.get("/health", headers={"x-request-id": "no spaces allowed"})
    assert bad.headers["x-request-id"] != "no spaces allowed"


def test_retrieve_returns_contexts_without_generating(client: httpx.Client) -> None:
    response = client.post("/retrieve", json={"question": RRF})
    assert response.status_code == 200, response.text
    body = response.json()
    RetrieveResponse.model_validate(body)
    assert len(body["contexts"]) == 5 and body["contexts"][0]["text"]
    names = [s["name"] for s in body["trace"]["stages"]]
    assert names[0] == "retrieve" and "generate" not in names


def test_overrides_and_filters(client: httpx.Client) -> None:
    body = {"question": RRF, "overrides": {"top_k": 2, "candidates": 7, "retriever": "bm25"}}
    response = client.post("/retrieve", json=body).json()
    assert len(response["contexts"]) == 2
    assert len(response["trace"]["stages"][0]["candidates"]) == 7
    filtered = client.post(
        "/retrieve", json={"question": RRF, "filters": {"source": "llm-fundamentals.md"}}
    ).json()
    assert filtered["contexts"] and {c["source"] for c in filtered["contexts"]} == {
        "llm-fundamentals.md"
    }
    wrong = client.post("/query", json={"question": RRF, "overrides": {"retriever": "dense"}})
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "overrides.retriever" and "bm25" in wrong.json()["fix"]
    no_reranker = client.post("/query", json={"question": RRF, "overrides": {"reranker": True}})
    assert no_reranker.status_code == 422 and "reranker" in no_reranker.json()["error"]
    off = client.post("/query", json={"question": RRF, "overrides": {"reranker": False}})
    assert off.status_code == 200


def test_configs_list_and_detail(client: httpx.Client) -> None:
    listing = client.get("/configs").json()
    ConfigList.model_validate(listing)
    names = {c["name"]: c for c in listing["configs"]}
    assert listing["default"] == "bm25" and names["bm25"]["loaded"]
    assert names["bm25"]["retriever"] == "bm25" and names["bm25"]["generator"] == "extractive"
    detail = client.get("/configs/bm25").json()
    ConfigDetail.model_validate(detail)
    assert detail["config"]["retriever"]["k1"] == 1.5
    assert detail["index"]["chunks"] > 100 and detail["retrievers"] == ["bm25"]


def test_chunk_by_id_round_trips_a_citation(client: httpx.Client) -> None:
    cited = client.post("/query", json={"question": RRF}).json()["citations"][0]
    response = client.get(f"/chunks/{quote(cited['chunk_id'], safe='')}")
    assert response.status_code == 200, response.text
    chunk = ChunkOut.model_validate(response.json())
    assert chunk.text == cited["text"] and chunk.start == cited["start"]


def test_health_ready_and_openapi(client: httpx.Client) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = Ready.model_validate(client.get("/ready").json())
    assert ready.ready and ready.index is not None and ready.llm.used is False
    schema = client.get("/openapi.json").json()
    assert {"/query", "/retrieve", "/configs", "/admin/reindex"} <= schema["paths"].keys()
    query_body = schema["components"]["schemas"]["QueryRequest"]
    assert query_body["examples"], "/docs shows example requests"
    assert client.get("/docs").status_code == 200


def test_metrics_count_requests_stages_and_answers(client: httpx.Client) -> None:
    client.post("/query", json={"question": RRF})
    text = client.get("/metrics").text
    assert re.search(r'rag_requests_total\{endpoint="/query",method="POST",status="200"\} \d', text)
    assert 'rag_request_seconds_bucket{endpoint="/query"' in text
    assert 'rag_stage_seconds_count{config="bm25",stage="retrieve"}' in text
    assert 'rag_answers_total{config="bm25",outcome="answered"}' in text
    assert "# TYPE rag_embedding_cache_hits_total counter" in text


def test_the_readme_curl_command_works(server: LiveServer) -> None:
    """`curl -d` labels its body form-encoded; the README's command must still answer."""
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed")
    body = '{"question": "What is reciprocal rank fusion?"}'
    done = subprocess.run(
        [curl, "-s", f"{server.url}/query", "-d", body], capture_output=True, timeout=60
    )
    answer = json.loads(done.stdout)
    assert answer["citations"] and answer["trace"]["stages"], answer

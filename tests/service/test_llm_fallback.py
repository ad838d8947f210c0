"""Stop the LLM server mid-traffic: answers keep coming, marked `fallback_used: true`.

The real local generator (SmolLM2-135M in llama.cpp, started in the service process on
the first question) answers a stream of questions; then its server is stopped while
the traffic goes on. Every request still gets a 200: the extractive generator answers,
the trace says why, /ready turns 503 and the fallback counter moves.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.settings import Settings
from tests.service.conftest import LiveServer, wait_ready, write_config
from tests.service.test_streaming import read_events

QUESTIONS = [
    "What is reciprocal rank fusion?",
    "What does BM25's b parameter control?",
    "Why rerank with a cross-encoder?",
    "How does the KV cache grow with context length?",
]


@pytest.fixture(scope="module")
def llm_app(bm25_configs: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    configs = tmp_path_factory.mktemp("llm-configs")
    generator = {
        "type": "local", "max_tokens": 48, "context_tokens": 600, "n_ctx": 2048,
        "threads": 2, "timeout_s": 120, "max_retries": 1,
    }  # fmt: skip
    index_dir = (bm25_configs.parent / "indexes" / "bm25").as_posix()  # same BM25 index
    write_config(configs, "llm", "bm25-llm", configs, generator=generator, index_dir=index_dir)
    app = create_app(Settings(configs_dir=configs, default_config="llm", rate_per_s=0))
    live = LiveServer(app).start()
    app.state.rag.pipeline("llm").generator.load()  # start llama.cpp before the traffic
    yield app, live
    live.stop()


class Traffic(threading.Thread):
    """Ask questions one after another until stopped; record when each started."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url, self.results = url, []  # (started, status, body)
        self.halt = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=300) as client:
            i = 0
            while not self.halt.is_set():
                started = time.monotonic()
                response = client.post("/query", json={"question": QUESTIONS[i % 4]})
                self.results.append((started, response.status_code, response.json()))
                i += 1

    def wait_for(self, test: Any, count: int, timeout_s: float = 400) -> None:
        deadline = time.monotonic() + timeout_s
        while sum(1 for r in self.results if test(r)) < count:
            assert self.is_alive(), "traffic thread died"
            fallbacks = [_generate_details(body) for _, _, body in self.results[:3]]
            assert len(fallbacks) < 3 or not all("fallback_reason" in d for d in fallbacks), (
                f"the LLM never answered: {fallbacks[0].get('fallback_reason')}"
            )
            assert time.monotonic() < deadline, self.results[-3:]
            time.sleep(0.1)


def _generate_details(body: dict[str, Any]) -> dict[str, Any]:
    stages = body.get("trace", {}).get("stages") or [{}]
    return dict(stages[-1].get("details", {}))


@pytest.mark.slow
def test_stopping_the_llm_server_mid_traffic_falls_back(llm_app: Any) -> None:
    app, live = llm_app
    traffic = Traffic(live.url)
    traffic.start()
    traffic.wait_for(lambda r: r[1] == 200 and not r[2]["fallback_used"], 1)
    with live.client() as client:
        ready = wait_ready(client)
        assert ready["llm"] == {"used": True, "reachable": True, "detail": ready["llm"]["detail"]}

        generator = app.state.rag.loaded()["llm"].generator
        stopped_at = time.monotonic()
        generator.server.stop()  # the LLM server goes away while questions keep coming
        traffic.wait_for(lambda r: r[0] > stopped_at, 2)
        traffic.halt.set()
        traffic.join(timeout=300)

        assert all(status == 200 for _, status, _ in traffic.results), traffic.results
        before = [body for started, _, body in traffic.results if started < stopped_at]
        after = [body for started, _, body in traffic.results if started > stopped_at]
        llm_answers = [b for b in before if not b["fallback_used"]]
        assert llm_answers, "the LLM answered before it was stopped"
        generate = llm_answers[0]["trace"]["stages"][-1]["details"]
        assert generate["method"] == "llm" and generate["completion_tokens"] > 0
        assert after and all(b["fallback_used"] for b in after), after
        for body in after:
            details = body["trace"]["stages"][-1]["details"]
            assert details["fallback_reason"] and "language model was unavailable" in body["answer"]
            assert body["citations"], "the extractive fallback still cites its sources"

        not_ready = client.get("/ready")
        assert not_ready.status_code == 503 and "LLM unreachable" in not_ready.json()["reason"]
        metrics = client.get("/metrics").text
        assert 'rag_fallbacks_total{config="llm"' in metrics
        assert 'rag_llm_tokens_total{config="llm",kind="completion"}' in metrics

        question = {"question": QUESTIONS[0], "stream": True}
        with client.stream("POST", "/query", json=question) as response:
            events = read_events(response)
        assert events[0][0] == "retrieval" and events[-1][0] == "answer"
        assert events[-1][1]["fallback_used"] is True

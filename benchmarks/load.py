"""Load test of the HTTP service: N concurrent clients for T seconds per config, on loopback.

For each config (default: bm25, then hybrid-rerank) it builds the index into a temp
folder, starts `rag serve` in its own process (rate limit off: every client shares one
address), warms it up, then runs two phases against each endpoint (POST /query: the
whole pipeline with the extractive generator; POST /retrieve: retrieval and reranking
only):

- `sequential`: one client, `--sequential` requests: server time without queueing;
- `concurrent`: `--clients` httpx async clients asking back-to-back for `--duration` s.

Per request it records the client latency (send -> full body) and the server's own
timing from the `Server-Timing` header: `app` (first byte in -> response start, i.e.
parsing, the wait for a worker, the pipeline, serialisation), `queue` (the wait for a
free worker of the config's pool, service/workers.py) and the pipeline's stages
(retrieve, guard, rerank, generate), whose sum is reported as `pipeline`. Questions
cycle through the gold set's questions. Errors (non-200, transport errors) are counted,
never dropped. The server starts with an empty embedding cache (its own RAG_CACHE_DIR;
the index build fills it with the chunks), so each phase's query-embedding cache hits
and misses (from /metrics) say what was measured: the sequential phase embeds each new
question once (a MiniLM forward), the concurrent phase repeats them (an SQLite read).

The load generator shares the machine's cores with the server (2 here, and other
processes), so client latency under load includes the client's own scheduling; the
server's numbers are the ones the targets are about. Writes
benchmarks/results/service_load.json and regenerates benchmarks/results/service.md.

    .venv/bin/python benchmarks/load.py [--configs bm25 hybrid-rerank] [--clients 50]
        [--duration 60] [--sequential 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_bench import (
    ENV,
    RESULTS,
    ROOT,
    TARGETS_MS,
    prepare,
    serve,
    wait_ready,
    write_report,
)


def questions(limit: int = 200) -> list[str]:
    rows = (ROOT / "corpus" / "eval" / "handbook_qa.jsonl").read_text().splitlines()
    return [json.loads(row)["question"] for row in rows[:limit] if row.strip()]


def server_timing(header: str) -> dict[str, float]:
    """'retrieve;dur=0.8, generate;dur=1.2, app;dur=2.4' -> {'retrieve': 0.8, ...} (ms)."""
    timings = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            timings[name] = float(dur)
    return timings


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "mean": None}
    arr = np.asarray(values)
    p50, p95, p99 = np.percentile(arr, [50, 95, 99])
    return {"p50": round(p50, 3), "p95": round(p95, 3), "p99": round(p99, 3),
            "mean": round(float(arr.mean()), 3)}  # fmt: skip


class Recorder:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.client_ms: list[float] = []
        self.app_ms: list[float] = []
        self.pipeline_ms: list[float] = []
        self.queue_ms: list[float] = []
        self.errors: dict[str, int] = {}

    async def ask(self, client: httpx.AsyncClient, question: str) -> None:
        started = time.perf_counter()
        try:
            response = await client.post(self.endpoint, json={"question": question})
        except httpx.HTTPError as exc:
            self._error(type(exc).__name__)
            return
        elapsed = (time.perf_counter() - started) * 1e3
        if response.status_code != 200:
            self._error(f"HTTP {response.status_code}")
            return
        timing = server_timing(response.headers.get("server-timing", ""))
        self.client_ms.append(elapsed)
        self.app_ms.append(timing.get("app", float("nan")))
        self.pipeline_ms.append(sum(v for k, v in timing.items() if k not in ("app", "queue")))
        self.queue_ms.append(timing.get("queue", 0.0))

    def _error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def summary(self, seconds: float) -> dict[str, Any]:
        return {
            "requests": len(self.client_ms),
            "errors": self.errors,
            "seconds": round(seconds, 2),
            "throughput_rps": round(len(self.client_ms) / seconds, 1),
            "client_ms": percentiles(self.client_ms),
            "server_app_ms": percentiles(self.app_ms),
            "server_pipeline_ms": percentiles(self.pipeline_ms),
            "server_queue_ms": percentiles(self.queue_ms),
        }


async def sequential(url: str, endpoint: str, qs: list[str], n: int) -> dict[str, Any]:
    recorder = Recorder(endpoint)
    async with httpx.AsyncClient(base_url=url, timeout=120) as client:
        started = time.perf_counter()
        for i in range(n):
            await recorder.ask(client, qs[i % len(qs)])
        return recorder.summary(time.perf_counter() - started)


async def concurrent(
    url: str, endpoint: str, qs: list[str], clients: int, duration: float
) -> dict[str, Any]:
    recorder = Recorder(endpoint)
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        started = time.perf_counter()
        deadline = started + duration

        async def worker(offset: int) -> None:
            i = offset
            while time.perf_counter() < deadline:
                await recorder.ask(client, qs[i % len(qs)])
                i += clients

        await asyncio.gather(*(worker(k) for k in range(clients)))
        return recorder.summary(time.perf_counter() - started)


def cache_counts(url: str, config: str) -> dict[str, float]:
    """The server's query-embedding cache hits and misses so far (from /metrics)."""
    counts = {"hits": 0.0, "misses": 0.0}
    for line in httpx.get(f"{url}/metrics", timeout=30).text.splitlines():
        for kind in counts:
            if line.startswith(f'rag_embedding_cache_{kind}_total{{config="{config}"}}'):
                counts[kind] = float(line.rsplit(" ", 1)[1])
    return counts


def _delta(before: dict[str, float], after: dict[str, float]) -> dict[str, int]:
    return {k: int(after[k] - before[k]) for k in before}


def run_config(name: str, args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    config = prepare(name, workdir)
    url = f"http://127.0.0.1:{args.port}"
    process = serve(config, args.port, workdir / f"{name}.log")
    runs = []
    try:
        wait_ready(url, process)
        qs = questions()
        for endpoint in args.endpoints:
            asyncio.run(sequential(url, endpoint, qs, 20))  # warm-up: caches, lazy imports
            load_before = os.getloadavg()
            cache = [cache_counts(url, name)]
            one = asyncio.run(sequential(url, endpoint, qs, args.sequential))
            cache.append(cache_counts(url, name))
            many = asyncio.run(concurrent(url, endpoint, qs, args.clients, args.duration))
            cache.append(cache_counts(url, name))
            load_after = os.getloadavg()
            one["embedding_cache"] = _delta(cache[0], cache[1])
            many["embedding_cache"] = _delta(cache[1], cache[2])
            runs.append({
                "config": name,
                "endpoint": endpoint,
                "target_p50_server_ms": TARGETS_MS.get(name),
                "sequential": one,
                "concurrent": {"clients": args.clients, **many},
                "loadavg_1m": [round(load_before[0], 2), round(load_after[0], 2)],
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            })  # fmt: skip
            print(json.dumps(runs[-1], indent=2), flush=True)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return runs


def kept_runs(configs: list[str]) -> list[dict[str, Any]]:
    """Earlier results for configs not re-run now (e.g. bm25 kept while hybrid-rerank runs)."""
    path = RESULTS / "service_load.json"
    if not path.is_file():
        return []
    return [r for r in json.loads(path.read_text())["runs"] if r["config"] not in configs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["bm25", "hybrid-rerank"])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--endpoints", nargs="+", default=["/query", "/retrieve"])
    parser.add_argument("--port", type=int, default=8790)
    args = parser.parse_args()
    runs = kept_runs(args.configs)
    with tempfile.TemporaryDirectory(prefix="rag-load-") as tmp:
        ENV["RAG_CACHE_DIR"] = f"{tmp}/cache"  # a cold embedding cache: questions are new
        for name in args.configs:
            runs.extend(run_config(name, args, Path(tmp)))
    report = {
        "benchmark": "service load (benchmarks/load.py)",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": runs,  # each with its own date and load average (kept_runs may be older)
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "service_load.json").write_text(json.dumps(report, indent=2) + "\n")
    write_report()


if __name__ == "__main__":
    main()

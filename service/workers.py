"""Where pipeline work runs: worker threads, at most `workers` at a time per config.

FastAPI's default for a `def` endpoint is a shared pool of 40 threads. The pipeline is
mostly Python holding the GIL (BM25 scoring, the extractive generator, building the
JSON), so 40 requests taking turns on 2 cores each take ~40 times their CPU time, and a
slow config (an LLM answer takes seconds) can occupy the threads a fast one needs.
Here each config gets its own small pool (`RAG_WORKERS`, default 4): a request's work
runs close to its CPU time, and the wait for a free worker is measured on its own and
sent as `queue` in the Server-Timing header, next to the stages. Torch (dense retrieval,
the cross-encoder) and llama.cpp release the GIL, so several workers still overlap.

Left out on purpose: a bound on the queue itself (load shedding with 503 when it grows);
the per-client rate limit (service.limits) is the admission control here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import anyio
from starlette.requests import Request

from service.logs import add_server_timing

T = TypeVar("T")


class Workers:
    def __init__(self, per_config: int) -> None:
        self.per_config = per_config
        self._limiters: dict[str, anyio.CapacityLimiter] = {}  # touched on the event loop only

    def limiter(self, config: str) -> anyio.CapacityLimiter:
        if config not in self._limiters:
            self._limiters[config] = anyio.CapacityLimiter(self.per_config)
        return self._limiters[config]

    async def run(self, request: Request, config: str, work: Callable[[], T]) -> T:
        """`work()` in a worker thread of `config`'s pool; its wait is `queue` timing."""
        entered = time.perf_counter()
        began: list[float] = []

        def timed() -> T:
            began.append(time.perf_counter())
            return work()

        try:
            return await anyio.to_thread.run_sync(timed, limiter=self.limiter(config))
        finally:
            if began:
                add_server_timing(request.scope, [("queue", (began[0] - entered) * 1e3)])

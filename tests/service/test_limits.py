"""The token bucket's arithmetic, and 429 + Retry-After from a real rate-limited server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.app import create_app
from service.limits import TokenBucket, refill, retry_after_s
from service.settings import Settings
from tests.service.conftest import LiveServer, wait_ready


class Clock:
    """A settable clock, so the bucket's time is the test's to choose."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_refill_is_capped_at_burst() -> None:
    assert refill(0.0, 2.0, rate=1.5, burst=10) == 3.0
    assert refill(9.0, 100.0, rate=1.5, burst=10) == 10
    assert retry_after_s(0.0, rate=0.5) == 2  # one token at 0.5/s takes 2 s
    assert retry_after_s(0.9, rate=2.0) == 1  # never 0: a client must wait a little


def test_bucket_admits_a_burst_then_the_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.take("a") for _ in range(3)] == [0, 0, 0]
    assert bucket.take("a") == 1, "empty: retry after ceil((1 - 0) / 2) = 1 s"
    assert bucket.take("b") == 0, "buckets are per client"
    clock.now += 0.5  # half a second at 2/s refills one token
    assert bucket.take("a") == 0 and bucket.take("a") == 1


def test_zero_rate_is_refused_with_a_fix() -> None:
    with pytest.raises(ValueError, match="disable"):
        TokenBucket(rate=0, burst=1)


@pytest.fixture(scope="module")
def limited(bm25_configs: Path) -> Iterator[LiveServer]:
    settings = Settings(
        configs_dir=bm25_configs, default_config="bm25", rate_per_s=0.2, rate_burst=3
    )
    live = LiveServer(create_app(settings)).start()
    with live.client() as client:
        wait_ready(client)
    yield live
    live.stop()


def test_429_with_retry_after_once_the_burst_is_spent(limited: LiveServer) -> None:
    with limited.client() as client:
        codes = [client.get("/configs").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        refused = client.post("/query", json={"question": "What is RRF?"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["retry-after"]) <= 5  # ceil(1 / 0.2) = 5 at most
        body = refused.json()
        assert body["error"] == "rate limit exceeded" and "retry after" in body["fix"]
        assert body["request_id"] == refused.headers["x-request-id"]
        # probes are never limited: an orchestrator must see the truth
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 200
        assert client.get("/metrics").status_code == 200

"""Request limits: question length, body size (413) and a per-client rate limit (429).

Rate limiting is a token bucket per client address (Turner 1986; the algorithm of
RFC 2697's single-rate meter without its colours). Each client has a bucket of
capacity `burst` that refills continuously at `rate` tokens per second:

    tokens(t) = min(burst, tokens(t0) + (t - t0) * rate)

A request is admitted when tokens(t) >= 1 and takes one token; otherwise it is refused
with 429 and `Retry-After = ceil((1 - tokens(t)) / rate)`, the seconds until one whole
token has dripped back in. A client may burst `burst` requests, then sustain `rate`/s.

Both checks run as one ASGI middleware before routing, so an oversize or over-limit
request costs a dictionary lookup and never reaches JSON parsing. Left out on purpose:
trusting X-Forwarded-For (a client could pick its own bucket; put the limit at the proxy
instead), limits shared between processes (a bucket lives in one process's memory) and
eviction of idle buckets (one small tuple per address).
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from service.errors import ApiError
from service.logs import current_request_id

MAX_QUESTION_CHARS = 2000  # longer questions get 422 (the request model enforces it)
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})  # probes are never limited

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


def refill(tokens: float, elapsed_s: float, rate: float, burst: float) -> float:
    """tokens(t) = min(burst, tokens(t0) + elapsed * rate)."""
    return min(burst, tokens + elapsed_s * rate)


def retry_after_s(tokens: float, rate: float) -> int:
    """Whole seconds until the bucket holds one token again: ceil((1 - tokens) / rate)."""
    return max(1, math.ceil((1.0 - tokens) / rate))


class TokenBucket:
    """One bucket per key; `take(key)` returns 0 when admitted, else the Retry-After."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        if rate <= 0:
            raise ValueError(f"rate must be > 0 requests/s, got {rate}; use 0 only to disable")
        self.rate, self.burst, self.clock = rate, float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, key: str) -> int:
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, now))
            tokens = refill(tokens, now - last, self.rate, self.burst)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0
            self._buckets[key] = (tokens, now)
            return retry_after_s(tokens, self.rate)


class LimitsMiddleware:
    """413 for bodies over `max_body_bytes` (declared or streamed), 429 over the rate."""

    def __init__(self, app: Any, max_body_bytes: int, bucket: TokenBucket | None) -> None:
        self.app, self.max_body_bytes, self.bucket = app, max_body_bytes, bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.bucket is not None and scope["path"] not in EXEMPT_PATHS:
            client = scope.get("client") or ("unknown", 0)
            wait = self.bucket.take(str(client[0]))
            if wait:
                fix = f"slow down: retry after {wait} s (limit {self.bucket.rate:g} requests/s)"
                await _reject(send, 429, "rate limit exceeded", fix, {"retry-after": str(wait)})
                return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await _reject(send, 413, *self._too_large(declared))
            return
        await self._call_counting(scope, receive, send)

    async def _call_counting(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Forward the request, refusing a streamed (chunked) body once it grows too large.

        The error is raised from `receive`, inside the app, where FastAPI re-raises an
        HTTPException unchanged and the app's handler turns it into the 413 body."""
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise ApiError(413, *self._too_large(received))
            return message

        await self.app(scope, counting_receive, send)

    def _too_large(self, size: int) -> tuple[str, str]:
        return (
            f"request body too large: {size} bytes > {self.max_body_bytes}",
            f"send at most {self.max_body_bytes} bytes; questions are limited to "
            f"{MAX_QUESTION_CHARS} characters",
        )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def _reject(
    send: Send, status: int, error: str, fix: str, headers: dict[str, str] | None = None
) -> None:
    payload = {"error": error, "field": None, "fix": fix, "request_id": current_request_id()}
    body = json.dumps(payload).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})

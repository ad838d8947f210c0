"""Structured JSON logs, one object per line, each carrying the request id.

`RequestContextMiddleware` (the outermost layer) gives every request an id, either the
caller's `X-Request-ID` (when it is a short token) or a fresh uuid4, and:
- echoes it in the response's `X-Request-ID` header and puts it in `scope["request_id"]`
  (error bodies quote it) and in a context variable (every log line quotes it);
- times the request and sends a `Server-Timing` header: `app;dur=<ms>` from the first
  byte received to the response start, plus one entry per pipeline stage when the
  endpoint recorded them in `scope["server_timing"]`;
- writes one access-log line and reports the request to `service.metrics`.

Left out on purpose: log shipping and sampling (stdout is the interface; a collector
picks it up), and logging request bodies (questions may hold personal data).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

from service.metrics import Metrics

_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "color_message"}


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object: time, level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        row: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        row.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD})
        if record.exc_info:
            row["exc"] = self.formatException(record.exc_info)
        return json.dumps(row, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Send the service's and uvicorn's logs to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name in ("", "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = name == ""
    logging.getLogger().setLevel(level)


class RequestContextMiddleware:
    """Request id, timing, Server-Timing, access log and request metrics."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics
        self.log = logging.getLogger("service.access")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = _incoming_id(scope) or uuid.uuid4().hex
        scope["request_id"] = rid
        token = _REQUEST_ID.set(rid)
        status = 500

        async def send_with_headers(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                app_ms = (time.perf_counter() - started) * 1e3
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                headers.append((b"server-timing", _server_timing(scope, app_ms).encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            seconds = time.perf_counter() - started
            endpoint = _endpoint(scope)
            self.metrics.observe_request(endpoint, scope["method"], status, seconds)
            self.log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "endpoint": endpoint,
                    "status": status,
                    "duration_ms": round(seconds * 1e3, 3),
                    "client": (scope.get("client") or ("-",))[0],
                },
            )
            _REQUEST_ID.reset(token)


def _incoming_id(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _VALID_ID.match(text) else None
    return None


def add_server_timing(scope: MutableMapping[str, Any], entries: list[tuple[str, float]]) -> None:
    """Let an endpoint report durations (ms) for this request's Server-Timing header."""
    scope.setdefault("server_timing", []).extend(entries)


def _server_timing(scope: dict[str, Any], app_ms: float) -> str:
    """`retrieve;dur=0.812, generate;dur=1.204, app;dur=2.391` (durations in ms)."""
    stages = scope.get("server_timing", ())
    parts = [f"{name};dur={ms:.3f}" for name, ms in stages]
    parts.append(f"app;dur={app_ms:.3f}")
    return ", ".join(parts)


def _endpoint(scope: dict[str, Any]) -> str:
    """The route's template (`/chunks/{chunk_id}`), so metrics have bounded labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"

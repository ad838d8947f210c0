"""The FastAPI application: `create_app(settings)` wires the service's parts together.

Request path, outermost first:

    RequestContextMiddleware  request id, Server-Timing, access log, request metrics
    CORSMiddleware            only when RAG_CORS_ORIGINS lists origins
    LimitsMiddleware          429 over the per-client rate, 413 over the body size
    FormAsJsonMiddleware      `curl -d '{...}'` bodies are read as the JSON they are
    FastAPI router            routes.py (query, retrieve: in per-config worker pools,
                              workers.py; configs, chunks), ops.py
                              (health, ready, metrics, admin), the page in service/static/

Errors from any layer leave as {"error", "field", "fix", "request_id"} (service.errors);
no traceback ever reaches a response. Start-up loads the default config's index in a
background thread, so /health answers at once and /ready turns 200 when it is loaded.
Run it with `rag serve` (uvicorn). Left out on purpose: TLS and auth for the read
endpoints (put a reverse proxy in front), multiple worker processes (see metrics.py).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from service import ops, routes
from service.errors import ApiError, install_handlers
from service.limits import LimitsMiddleware, TokenBucket
from service.logs import RequestContextMiddleware
from service.metrics import Metrics
from service.reindex import Reindexer
from service.settings import Settings
from service.state import ServiceState
from service.workers import Workers

STATIC = Path(__file__).resolve().parent / "static"
log = logging.getLogger("service.app")

DESCRIPTION = """
Ask the LLM Systems Interview Handbook a question and see how the answer was made:
every stage's candidates with scores (BM25 term contributions, hybrid fusion shares,
reranker rank changes), the prompt, token counts and latencies.

Start with **POST /query** `{"question": "What is reciprocal rank fusion?"}`. Pick a
pipeline with `config` (names from **GET /configs**) or tweak one per request with
`overrides`. Errors always read `{"error", "field", "fix", "request_id"}`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    state = ServiceState(settings)
    metrics = Metrics()
    metrics.watch_caches(state.cache_stats)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.preload:
            threading.Thread(target=_preload, args=(state,), name="preload", daemon=True).start()
        yield

    app = FastAPI(
        title="handbook-rag",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.rag, app.state.metrics = state, metrics
    app.state.reindexer = Reindexer(state, metrics)
    app.state.workers = Workers(settings.workers)
    install_handlers(app)
    app.include_router(routes.router)
    app.include_router(ops.router)
    app.include_router(ops.admin)
    _mount_page(app)

    # added innermost first: the last one added wraps all the others
    bucket = TokenBucket(settings.rate_per_s, settings.rate_burst) if settings.rate_per_s else None
    app.add_middleware(FormAsJsonMiddleware)
    app.add_middleware(LimitsMiddleware, max_body_bytes=settings.max_body_bytes, bucket=bucket)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["content-type", "authorization", "x-api-key", "x-request-id"],
            expose_headers=["x-request-id", "server-timing", "retry-after"],
        )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app


class FormAsJsonMiddleware:
    """Read a form-encoded POST body as JSON, so `curl localhost:8000/query -d '{...}'`
    works as the README shows (curl -d labels its body x-www-form-urlencoded).

    Every POST endpoint here takes JSON only, so no form is misread. It opens no CSRF hole:
    /query and /retrieve change nothing, and /admin/* needs a key header, which a
    cross-site form cannot send."""

    FORM = b"application/x-www-form-urlencoded"

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            scope["headers"] = [
                (k, b"application/json") if k == b"content-type" and v == self.FORM else (k, v)
                for k, v in scope["headers"]
            ]
        await self.app(scope, receive, send)


def _preload(state: ServiceState) -> None:
    """Load the default config now, so the first query does not pay for it."""
    name = state.settings.default_config
    try:
        state.pipeline(name)
    except ApiError as exc:  # /ready reports it; the first query retries the load
        log.warning("default config not loaded", extra={"config": name, "error": exc.error})


def _mount_page(app: FastAPI) -> None:
    """The dissection page (service/static/, maintained separately), when it is there."""
    if not STATIC.is_dir():
        return
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    index = STATIC / "index.html"
    if index.is_file():

        @app.get("/", include_in_schema=False)
        def page() -> FileResponse:
            return FileResponse(index)


def run_server(host: str, port: int, config: Path) -> None:
    """`rag serve`: serve `config` (its folder is the configs folder) with uvicorn.

    One OpenMP thread per request unless OMP_NUM_THREADS says otherwise: requests run in
    parallel already (service.workers), and torch's or FAISS's thread teams on cores that
    are busy wait on each other: one MiniLM query forward took ~730 ms with 2 threads and
    ~60 ms with 1 on this project's loaded 2-core machine. Set before torch is imported."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import uvicorn

    from rag.config import load_config
    from service.logs import configure_logging

    load_config(config)  # a bad config fails here, as one line, before the port opens
    settings = Settings.from_env(configs_dir=config.parent, default_config=config.stem)
    configure_logging()
    log.info("serving", extra={"host": host, "port": port, "config": str(config)})
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # longer than clients' idle expiry (httpx: 5 s), so a pooled connection is never
        # closed by the server just as the client reuses it (uvicorn's default is 5 s too)
        timeout_keep_alive=75,
    )

"""Operations endpoints: /health, /ready, /metrics and the admin reindex.

    /health   liveness: the process answers (never touches the index)
    /ready    readiness: the default config's index is loaded and, when it uses an LLM
              server, that server answers; 503 with the reason otherwise
    /metrics  Prometheus text format (see service.metrics)
    /admin/reindex            start a background rebuild + atomic swap (admin key)
    /admin/reindex/{job_id}   its progress

Left out on purpose: /ready loading the index itself (it reports; start-up loads).
"""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from rag.pipeline import Pipeline
from service.auth import require_admin
from service.models import ErrorBody, Health, Ready, ReindexJob, ReindexRequest
from service.state import index_info

router = APIRouter()
admin = APIRouter(prefix="/admin", dependencies=[Depends(require_admin)], tags=["admin"])
_ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    c: {"model": ErrorBody, "description": d}
    for c, d in {
        401: "admin key missing",
        403: "admin key rejected",
        404: "unknown config or job",
        409: "a reindex of this config is running",
        422: "invalid request",
        429: "rate limited",
        503: "admin endpoints disabled (RAG_ADMIN_KEY unset)",
    }.items()
}


@router.get("/health", response_model=Health, summary="Liveness: the process is up")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Ready,
    responses={503: {"model": Ready, "description": "not ready, with the reason"}},
    summary="Readiness: the default index is loaded and its LLM (if any) reachable",
)
def ready(request: Request) -> JSONResponse:
    state = request.app.state.rag
    name = state.settings.default_config
    pipeline = state.loaded().get(name)
    if pipeline is None:
        reason = state.load_error(name) or f"config {name!r} is still loading"
        body = {"ready": False, "config": name, "llm": {"used": False}, "reason": reason}
        return JSONResponse(body, status_code=503)
    llm = llm_status(pipeline, state.settings.llm_check_s)
    ok = llm["reachable"] is not False
    body = {
        "ready": ok,
        "config": name,
        "index": index_info(pipeline.index),
        "llm": llm,
        "reason": "" if ok else f"LLM unreachable: {llm['detail']}",
    }
    return JSONResponse(body, status_code=200 if ok else 503)


def llm_status(pipeline: Pipeline, timeout_s: float) -> dict[str, Any]:
    """Is the generator's LLM server answering? The local generator's llama.cpp server is
    asked for `/health` (None until the first question starts it); an OpenAI-compatible
    server for `<base_url>/models`, which every one of them serves."""
    params = pipeline.config.generator
    if params.type == "extractive":
        return {"used": False, "reachable": None, "detail": "extractive generator: no LLM"}
    if params.type == "local":
        server = getattr(pipeline.generator, "server", None)
        if server is None:
            return {"used": True, "reachable": None, "detail": "starts on the first question"}
        url = f"{server.url}/health"
    else:
        url = f"{str(getattr(params, 'base_url', '')).rstrip('/')}/models"
    try:
        status = httpx.get(url, timeout=timeout_s).status_code
    except httpx.HTTPError as exc:
        return {"used": True, "reachable": False, "detail": f"{url}: {type(exc).__name__}"}
    return {"used": True, "reachable": status < 500, "detail": f"{url}: HTTP {status}"}


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "metrics"}},
)
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


@admin.post(
    "/reindex",
    response_model=ReindexJob,
    status_code=202,
    responses=_ADMIN_ERRORS,
    summary="Rebuild a config's index in the background; swap it in when complete",
)
def reindex(request: Request, body: ReindexRequest | None = None) -> dict[str, Any]:
    state = request.app.state.rag
    name = (body.config if body else None) or state.settings.default_config
    return request.app.state.reindexer.start(name).to_dict()


@admin.get(
    "/reindex/{job_id}",
    response_model=ReindexJob,
    responses=_ADMIN_ERRORS,
    summary="A reindex job's progress",
)
def reindex_status(job_id: str, request: Request) -> dict[str, Any]:
    return request.app.state.reindexer.get(job_id).to_dict()

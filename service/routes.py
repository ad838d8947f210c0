"""The question-answering endpoints: /query, /retrieve, /configs, /chunks.

Each endpoint is a few lines over `ServiceState` and `Pipeline`: resolve the config
(plus overrides) to a loaded pipeline, run it, return `to_dict()` as JSON. /query and
/retrieve do that work in the config's worker pool (service.workers), JSON encoding
included (orjson: ~1/50 of the stdlib's time on a trace), so the event loop only moves
bytes. Every stage's latency, and the wait for a worker, go out in `Server-Timing`.
Left out on purpose: answer caching (each answer's trace is the point of the demo).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from starlette.responses import Response

from rag.types import Trace
from service.errors import ApiError
from service.logs import add_server_timing
from service.models import (
    NAME_PATTERN,
    ChunkOut,
    ConfigDetail,
    ConfigList,
    ErrorBody,
    QueryRequest,
    QueryResponse,
    RetrieveRequest,
    RetrieveResponse,
)
from service.state import ServiceState, index_info, retriever_choices
from service.streaming import answer_events
from service.workers import Workers

router = APIRouter()


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    reasons = {
        404: "unknown config or chunk",
        413: "request body too large",
        422: "invalid request: the field, the reason and the fix",
        429: "rate limited; see the Retry-After header",
        503: "the config's index is not built or not loaded",
    }
    return {c: {"model": ErrorBody, "description": reasons[c]} for c in codes}


_ASK_ERRORS = _errors(404, 413, 422, 429, 503)
_SSE = {  # OpenAPI 3.2's itemSchema: the shape of each event in the stream
    "text/event-stream": {
        "itemSchema": {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"enum": ["retrieval", "token", "answer", "error"]},
                "data": {"type": "string", "contentMediaType": "application/json"},
            },
        },
    }
}


def state_of(request: Request) -> ServiceState:
    return request.app.state.rag


def workers_of(request: Request) -> Workers:
    return request.app.state.workers


@router.post(
    "/query",
    response_model=QueryResponse,
    responses={
        200: {"content": _SSE, "description": "the answer (or events if stream)"},
        **_ASK_ERRORS,
    },
    summary="Answer a question with citations and the trace of every stage",
)
async def query(body: QueryRequest, request: Request) -> Response:
    state, metrics = state_of(request), request.app.state.metrics
    config = state.pool(body.config)
    if body.stream:
        name, pipeline = await workers_of(request).run(
            request, config, lambda: state.resolve(body.config, body.overrides)
        )
        events = answer_events(pipeline, name, body.question, body.filter_map(), metrics)
        headers = {"cache-control": "no-cache", "x-accel-buffering": "no"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)

    def answer() -> tuple[Trace, bytes]:
        name, pipeline = state.resolve(body.config, body.overrides)
        result = pipeline.run(body.question, body.filter_map())
        metrics.observe_answer(name, result)
        return result.trace, orjson.dumps({"config": name, **result.to_dict()})

    trace, payload = await workers_of(request).run(request, config, answer)
    return _json(request, trace, payload)


@router.post(
    "/retrieve",
    response_model=RetrieveResponse,
    responses=_ASK_ERRORS,
    summary="Retrieve (and rerank) without generating: the contexts an answer would use",
)
async def retrieve(body: RetrieveRequest, request: Request) -> Response:
    state, metrics = state_of(request), request.app.state.metrics

    def contexts() -> tuple[Trace, bytes]:
        name, pipeline = state.resolve(body.config, body.overrides)
        retrieval = pipeline.retrieve(body.question, body.filter_map())
        trace = Trace(retrieval.stages)
        metrics.observe_trace(name, trace)
        found = [c.to_dict(with_text=True) for c in retrieval.contexts]
        return trace, orjson.dumps({"config": name, "contexts": found, "trace": trace.to_dict()})

    trace, payload = await workers_of(request).run(request, state.pool(body.config), contexts)
    return _json(request, trace, payload)


@router.get("/configs", response_model=ConfigList, summary="The configs this server can use")
def configs(request: Request) -> dict[str, Any]:
    state = state_of(request)
    loaded = state.loaded()
    rows = []
    for name in state.names():
        row: dict[str, Any] = {"name": name, "loaded": name in loaded}
        try:
            cfg = state.config(name)
        except ApiError as exc:
            row["error"] = exc.error
        else:
            row.update(
                description=cfg.description,
                retriever=cfg.retriever.type,
                reranker=cfg.reranker.type if cfg.reranker else None,
                generator=cfg.generator.type,
            )
        rows.append(row)
    return {"default": state.settings.default_config, "configs": rows}


NameParam = Annotated[str, Path(pattern=NAME_PATTERN, max_length=64, examples=["bm25"])]


@router.get(
    "/configs/{name}",
    response_model=ConfigDetail,
    responses=_errors(404, 503),
    summary="One config with every default filled in, and its index if loaded",
)
def config_detail(name: NameParam, request: Request) -> dict[str, Any]:
    state = state_of(request)
    cfg = state.config(name)
    pipeline = state.loaded().get(name)
    return {
        "name": name,
        "config": cfg.model_dump(mode="json"),
        "index": index_info(pipeline.index) if pipeline else None,
        "retrievers": retriever_choices(cfg),
    }


@router.get(
    "/chunks/{chunk_id:path}",
    response_model=ChunkOut,
    responses=_errors(404, 422, 503),
    summary="One chunk of a config's index, by the id a citation or candidate gave",
)
def chunk(
    chunk_id: str,
    request: Request,
    config: Annotated[str | None, Query(pattern=NAME_PATTERN, max_length=64)] = None,
) -> dict[str, Any]:
    state = state_of(request)
    name, pipeline = state.resolve(config, None)
    found = pipeline.index.by_id.get(chunk_id)
    if found is None:
        raise ApiError(
            404,
            f"no chunk {chunk_id!r} in the index of config {name!r}",
            "use a chunk_id from /retrieve or /query of the same config (ids differ between "
            "chunkers); URL-encode '#' as %23",
            field="chunk_id",
        )
    return {"config": name, **found.to_dict()}


def _json(request: Request, trace: Trace, payload: bytes) -> Response:
    add_server_timing(request.scope, [(s.name, s.latency_ms) for s in trace.stages])
    return Response(payload, media_type="application/json")

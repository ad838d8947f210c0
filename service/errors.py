"""Every error the service returns has one shape: {"error", "field", "fix", "request_id"}.

`ApiError` is raised by endpoints with a status, what went wrong, the offending field
and how to fix it. The handlers installed by `install_handlers` turn everything else into
that shape too: FastAPI's validation errors (422, with the field and pydantic's reason),
Starlette's own 404/405, the project's `RagError`s (a missing index is 503 with the
`rag index` command that builds it), and, last, any other exception: logged server-side
with its traceback and the request id, answered with a 500 that holds neither.
Left out on purpose: RFC 7807 problem+json (one flat shape is easier to read in a demo).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from rag.errors import ComponentError, ConfigError, IndexStateError, RagError

log = logging.getLogger("service.errors")


class ApiError(HTTPException):
    """An HTTP error with a reason and a fix, raised anywhere a request can fail."""

    def __init__(
        self,
        status: int,
        error: str,
        fix: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, detail=error, headers=headers)
        self.error, self.fix, self.field = error, fix, field


def error_body(request: Request, error: str, fix: str, field: str | None = None) -> dict:
    return {"error": error, "field": field, "fix": fix, "request_id": request_id(request)}


def request_id(request: Request) -> str | None:
    return request.scope.get("request_id")


def install_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(RagError, _rag)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected)


async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [_problem(err) for err in exc.errors()]
    first = problems[0] if problems else {"field": "body", "reason": "invalid", "fix": "see /docs"}
    error = f"{first['field']}: {first['reason']}"
    body = error_body(request, error, str(first["fix"]), str(first["field"]))
    body["errors"] = problems
    return JSONResponse(body, status_code=422)


def _problem(err: dict[str, Any]) -> dict[str, Any]:
    """One validation error as {field, reason, fix}; the input itself is never echoed."""
    skip = ("body", "query", "path", "[key]")  # [key]: pydantic's marker for a bad dict key
    loc = [str(p) for p in err.get("loc", ()) if p not in skip]
    field = "body" if err.get("type") == "json_invalid" else ".".join(loc) or "body"
    return {"field": field, "reason": err.get("msg", "invalid"), "fix": _fix(field, err)}


def _fix(field: str, err: dict[str, Any]) -> str:
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    fixes = {
        "missing": f"add the required field {field!r}; see /docs for the request schema",
        "string_too_long": f"shorten {field} to at most {ctx.get('max_length')} characters",
        "string_too_short": f"give {field} at least {ctx.get('min_length')} character(s)",
        "literal_error": f"choose one of: {ctx.get('expected')}",
        "enum": f"choose one of: {ctx.get('expected')}",
        "extra_forbidden": f"remove {field!r}; see /docs for the allowed fields",
        "json_invalid": 'send a JSON object, e.g. {"question": "What is RRF?"}',
        "model_attributes_type": 'send a JSON object, e.g. {"question": "What is RRF?"}',
        "dict_type": "send a JSON object",
        "string_pattern_mismatch": (
            f"give {field} at least one non-blank character"
            if ctx.get("pattern") == r"\S"
            else "use letters, digits, '_', '.' and '-' (see GET /configs)"
        ),
        "greater_than_equal": f"use a value >= {ctx.get('ge')}",
        "less_than_equal": f"use a value <= {ctx.get('le')}",
        "greater_than": f"use a value > {ctx.get('gt')}",
        "int_parsing": f"give {field} as an integer",
        "int_type": f"give {field} as an integer",
        "bool_type": f"give {field} as true or false",
        "bool_parsing": f"give {field} as true or false",
        "string_type": f"give {field} as a string",
    }
    return fixes.get(kind, "see /docs for the request schema")


async def _http(request: Request, exc: HTTPException) -> JSONResponse:
    if isinstance(exc, ApiError):
        body = error_body(request, exc.error, exc.fix, exc.field)
    elif exc.status_code == 404:
        body = error_body(request, f"no such endpoint: {request.url.path}", "see /docs")
    elif exc.status_code == 400 and exc.detail == "There was an error parsing the body":
        # FastAPI's answer to a body that is not even text (e.g. invalid UTF-8)
        fix = 'send a UTF-8 JSON object, e.g. {"question": "What is RRF?"}'
        body = error_body(request, "body: not valid JSON text", fix, "body")
        return JSONResponse(body, status_code=422)
    elif exc.status_code == 405:
        body = error_body(
            request, f"method {request.method} not allowed on {request.url.path}", "see /docs"
        )
    else:
        body = error_body(request, str(exc.detail), "see /docs")
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _rag(request: Request, exc: RagError) -> JSONResponse:
    """A user-fixable error that no endpoint turned into an ApiError itself."""
    status = 422 if isinstance(exc, ConfigError) else 400
    if isinstance(exc, IndexStateError | ComponentError):
        status = 503
    return JSONResponse(error_body(request, str(exc), _rag_fix(exc)), status_code=status)


def _rag_fix(exc: RagError) -> str:
    if isinstance(exc, IndexStateError):
        return "build the index with `rag index --config <config>.yaml`, then retry"
    return "see the error message; /docs describes every field"


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    rid = request_id(request)
    log.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"request_id": rid},
    )
    body = error_body(request, "internal server error", f"a bug: report it with request id {rid}")
    return JSONResponse(body, status_code=500, headers={"x-request-id": rid or ""})

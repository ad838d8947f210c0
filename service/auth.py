"""Admin authentication: one API key from the environment, compared in constant time.

The key is read from `RAG_ADMIN_KEY` at each request (rotating it needs no restart)
and sent by the client as `X-API-Key: <key>` or `Authorization: Bearer <key>`.

    no key sent      -> 401 (with WWW-Authenticate)
    wrong key        -> 403
    RAG_ADMIN_KEY    unset or empty -> 503: admin endpoints are off until it is set

`hmac.compare_digest` takes time that depends on the length of its inputs, not on
where they first differ, so response timing does not reveal a correct prefix of the
key. Left out on purpose: users, roles, OAuth; one operator key is what a demo needs.
"""

from __future__ import annotations

import hmac
import os

from fastapi import Request

from service.errors import ApiError

ENV_VAR = "RAG_ADMIN_KEY"


def key_matches(given: str, expected: str) -> bool:
    """Constant-time equality of two keys (compared as UTF-8 bytes)."""
    return hmac.compare_digest(given.encode(), expected.encode())


def require_admin(request: Request) -> None:
    """FastAPI dependency guarding /admin/*: raises 401, 403 or 503 as described above."""
    expected = os.environ.get(ENV_VAR, "")
    if not expected:
        raise ApiError(
            503,
            "admin endpoints are disabled",
            f"set {ENV_VAR} in the server's environment and restart it",
        )
    given = _presented_key(request)
    if given is None:
        raise ApiError(
            401,
            "admin API key missing",
            "send the key as `X-API-Key: <key>` or `Authorization: Bearer <key>`",
            headers={"www-authenticate": "Bearer"},
        )
    if not key_matches(given, expected):
        raise ApiError(403, "admin API key rejected", f"use the key in the server's {ENV_VAR}")


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("x-api-key")
    if header:
        return header
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None

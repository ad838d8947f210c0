"""The admin key: required, checked with hmac.compare_digest, never accepted when unset."""

from __future__ import annotations

import hmac

import httpx
import pytest

from service import auth
from tests.service.test_errors import assert_error

KEY = "s3cret-admin-key"


def test_admin_is_off_without_a_key(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(auth.ENV_VAR, raising=False)
    body = assert_error(client.post("/admin/reindex", headers={"x-api-key": "anything"}), 503)
    assert auth.ENV_VAR in body["fix"]


def test_missing_and_wrong_keys(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.ENV_VAR, KEY)
    missing = client.post("/admin/reindex")
    assert_error(missing, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    for wrong in ("s3cret", KEY + "x", KEY.upper(), "clé".encode().decode("latin-1")):
        headers = {"authorization": f"Bearer {wrong}".encode("latin-1")}
        assert client.post("/admin/reindex", headers=headers).status_code == 403, wrong
    assert client.post("/admin/reindex", headers={"authorization": "Basic xyz"}).status_code == 401
    assert_error(client.post("/admin/reindex", headers={"x-api-key": "wrong"}), 403)
    assert_error(client.get("/admin/reindex/nojob", headers={"x-api-key": "wrong"}), 403)


def test_right_key_in_either_header(client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(auth.ENV_VAR, KEY)
    missing_job = client.get("/admin/reindex/nojob", headers={"x-api-key": KEY})
    assert_error(missing_job, 404, "job_id")  # authenticated: the job is what is missing
    bearer = client.get("/admin/reindex/nojob", headers={"authorization": f"Bearer {KEY}"})
    assert bearer.status_code == 404


def test_the_comparison_is_hmac_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """A spy around the real function: every check goes through the constant-time compare."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert auth.key_matches(KEY, KEY) and not auth.key_matches("short", KEY)
    assert calls == [(KEY.encode(), KEY.encode()), (b"short", KEY.encode())]
    assert not auth.key_matches("é", "e"), "non-ASCII keys compare as UTF-8, without errors"

"""`rag llm serve`: the local server standalone, reachable by any OpenAI-compatible client."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.slow
def test_llm_serve_answers_openai_requests_until_interrupted() -> None:
    rag = Path(sys.executable).parent / "rag"
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen(
        [str(rag), "llm", "serve", "--port", "0", "--threads", "1"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed once /health says ok
        match = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        assert match, f"no base URL in {line!r}"
        base = match.group(1)
        assert httpx.get(base.removesuffix("/v1") + "/health", timeout=10).status_code == 200
        reply = httpx.post(
            f"{base}/chat/completions",
            json={"model": "local", "messages": [{"role": "user", "content": "Say hi."}],
                  "max_tokens": 8, "temperature": 0},
            timeout=120,
        )  # fmt: skip
        assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["content"]
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, output
    assert "stopping" in output

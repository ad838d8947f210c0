"""`rag llm ...`: the local LLM server on its own, for other tools to use.

`rag llm serve` starts llama.cpp's server (xllamacpp, in this process) with the packaged
SmolLM2 GGUF or `--model`, prints its OpenAI-compatible base URL, and serves until
Ctrl-C. Point any OpenAI client at it, or a pipeline with `generator.type: openai` and
`base_url: http://127.0.0.1:<port>/v1`. Imports stay inside the command so `rag --help`
does not load llama.cpp.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(help="The local LLM (llama.cpp + SmolLM2-135M) as an OpenAI-compatible server.")
console = Console()
STOP_TIMEOUT_S = 15.0  # after Ctrl-C, how long llama.cpp may take to shut down


@app.command()
def serve(
    port: Annotated[int, typer.Option("--port", help="port on 127.0.0.1; 0 = any free")] = 8089,
    model: Annotated[
        Path | None, typer.Option("--model", help="a GGUF file; default: packaged SmolLM2")
    ] = None,
    n_ctx: Annotated[int, typer.Option("--n-ctx", help="context window in tokens")] = 4096,
    threads: Annotated[int, typer.Option("--threads", help="CPU threads for decoding")] = 2,
    verbose: Annotated[bool, typer.Option("--verbose", help="show llama.cpp's log")] = False,
) -> None:
    """Serve /v1/chat/completions, /v1/completions, /tokenize and /health until Ctrl-C."""
    from rag.generators.llm_server import LLMServer, resolve_model_path

    path = resolve_model_path(str(model) if model else None)
    server = LLMServer(path, n_ctx=n_ctx, threads=threads, port=port, verbose=verbose)
    started = time.perf_counter()
    server.start()
    console.print(
        f"serving {path.name} at [bold]{server.base_url}[/] "
        f"(model name 'local', {time.perf_counter() - started:.1f} s to start); Ctrl-C stops"
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        _stop_within(server, STOP_TIMEOUT_S)


def _stop_within(server: Any, seconds: float) -> None:
    """Stop the server, but never hang the terminal: llama.cpp's shutdown (a destructor
    joining its main loop) has been seen to stall on a saturated machine, so after
    `seconds` the process exits anyway (the OS frees the port and the weights)."""
    stopper = threading.Thread(target=server.stop, daemon=True)
    stopper.start()
    stopper.join(seconds)
    if stopper.is_alive():
        console.print(f"llama.cpp did not stop within {seconds:.0f} s; exiting anyway")
        sys.stdout.flush()
        os._exit(0)

